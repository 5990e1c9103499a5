"""The frame algorithm: carry, dream, calm, colour, over every lane at once. No disk, clock,
signal or print: the run layer drives ``frames()`` and persists ``state_dict()``.

Every lane (one per variant) is a row of one batch (B, 3, H, W) on the device. A dreamed
frame is: move the last dreamed frame into this one along the motion field, dream on it, pull
its colours to the reference, check it is finite. The frames between dreamed ones
(``dream_every``) are carried along the field like any frame and each gets its share of the
dream's change. The motion field is the camera unless another producer (optical flow) is given.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

from .. import sources
from ..config import COLOR_REFERENCES, Config
from ..dream import color, models, objectives
from ..dream.ascent import dream
from ..dream.objectives import Objective
from ..motion import field
from ..motion.field import MotionField
from ..motion.sampler import known, warp
from .device import RenderError, autocast_dtype, pick_device, prepare
from .plan import FramePlan, Planner, camera_path, sound_features
from .seamless import Seamless

__all__ = ["Renderer", "RenderError", "start_frame", "with_objective"]


def with_objective(config: Config) -> Config:
    """Fill in the model's own classic layer when the recipe names none."""
    if config.dream.objective:
        return config
    terms = [objectives.Activation(layer=layer) for layer in models.default_layers(config.model.name)]
    return config.model_copy(update={"dream": config.dream.model_copy(update={"objective": terms})})


def footage_source(config: Config, planners: list[Planner], device: torch.device) -> Any:
    """The recipe's clip as the frames' source (``sources.video``, imported only for a clip)."""
    from ..sources.video import footage

    return footage(config, planners, camera_path(planners, config.size), ahead=device.type != "cpu")


def start_frame(config: Config) -> torch.Tensor:
    """A lane's first frame; noise comes from the lane's own seed so variants can differ."""
    if config.start.image:
        return sources.load_image(config.start.image, config.frame_size, config.start.fit)
    noise = config.start.noise
    assert noise is not None
    return sources.noise(noise.kind, noise.scale, config.frame_size, torch.Generator().manual_seed(config.seed))


# Std of the noise laid over revealed ground: enough texture for a few ascent steps to grow on.
FILL_NOISE = 0.12
NOISE_SEED = 7919  # lanes' noise generators start apart from the jitter's


def lane_values(values: list[float]) -> torch.Tensor:
    """Per-lane numbers as float64 on the CPU: camera matrices are composed there (MPS has no
    float64) and the ops that use them move them to the frame's device and dtype."""
    return torch.tensor(values, dtype=torch.float64)


class Renderer:
    """Holds what lives for a whole render: device, network, lanes, generator, colour reference.

    ``frames()`` is the loop: the CLI, the benchmark and the tests all drive it.
    """

    def __init__(self, config: Config, motion: MotionField | None = None, source: Any = None):
        self.device = pick_device(config.device)
        self.config = config
        self.lanes = [with_objective(lane) for _, lane in config.lanes()]
        features = sound_features(config)
        self.planners = [Planner(lane, features) for lane in self.lanes]
        # A clip (``video``) gives every frame's fresh picture and its optical flow is the motion field.
        self.source = source if source is not None or config.video is None else footage_source(config, self.planners, self.device)
        self.motion = motion or (self.source.motion if self.source else camera_path(self.planners, config.size))
        self.dtype = autocast_dtype(config.precision, self.device, config.model.name in models.CPU_BF16_GAINS)
        self.generator = torch.Generator().manual_seed(config.seed)
        # Noise of each lane comes from its own generator, so a lane renders the same alone or beside others.
        self.lane_generators = [torch.Generator().manual_seed(lane.seed + NOISE_SEED) for lane in self.lanes]
        layers = list(dict.fromkeys(layer for lane in self.lanes for t in lane.dream.objective or [] for layer in t.layers()))
        dreams = self.planners[0].dreams_at_all(config.frame_count)
        self.net, self.terms = self._network(layers) if dreams else (None, [])
        self.colors = color.ColorCoherence([self._color_settings(lane) for lane in self.lanes], config.motion.dream_every)
        # Read now: a bad file stops us early.
        self.start = self.source.start() if self.source else torch.cat([start_frame(lane) for lane in self.lanes])
        self.x: torch.Tensor | None = None  # the last dreamed frame
        self.velocity: torch.Tensor | None = None  # the dream's change at that frame (see _calm)
        self.known: torch.Tensor | None = None  # (B, 1, H, W): where the velocity was carried from seen ground
        # A loop renders a warm-up before its frame 0 (not written) and draws its tail toward it.
        self.seamless = Seamless(config) if config.loop else None
        self.first = self.seamless.first if self.seamless else 0  # the first frame rendered
        self.next_frame = self.first

    def _network(self, layers: list[str]) -> tuple[Any, list[list[Objective]]]:
        """The cut network, laid out for the device, and each lane's objective terms built for it."""
        net = models.load_feature_net(self.config.model.name, layers, self.config.model.weights, self.device)
        widths = models.layer_widths(net, self.device)
        net = prepare(net, self.device, self.config.compile)
        context = objectives.Context(net, widths, self.device, self.config.frame_size, self.config.model.name, len(self.lanes))
        return net, [objectives.build(lane.dream.objective or [], context) for lane in self.lanes]

    @staticmethod
    def _color_settings(lane: Config) -> color.ColorSettings:
        c = lane.color
        path = c.reference not in COLOR_REFERENCES
        image = sources.load_image(c.reference, lane.frame_size, "cover") if path and c.mode != "none" else None
        return color.ColorSettings(c.mode, c.space, "image" if path else c.reference, image, c.memory * lane.fps)

    def frames(self) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(t, frames)`` until the render's last frame: output frames t, t+1, ... as (n, B, 3, H, W).

        Each interval ends on a dreamed frame; ``x`` and ``next_frame`` always describe the state
        after the frames yielded so far, which is what a checkpoint saves.
        """
        total = self.config.frame_count
        if self.x is None and self.next_frame < total:
            self.x, self.next_frame = self._dreamed(self.start.to(self.device), self.first), self.first + 1
            yield self.first, self.x[None]
        every = self.seamless.timing.every if self.seamless else self.config.motion.dream_every
        while self.next_frame < total:
            t = self.next_frame
            k = min(every, total - t)
            if self.source is not None:  # over footage: no interval spans a cut, and a new shot has its own colours
                k, shot = self.source.interval(t, k)
                if shot:
                    self.colors.references = [None] * len(self.lanes)
            if self.seamless is not None:  # the loop's head's past, dreamed again beside its tail
                self.seamless.before(self, t, k)
            frames = self.interval(self.x, t, k)
            self.x, self.next_frame = frames[-1], t + len(frames)
            yield t, frames

    def interval(self, x: torch.Tensor, t: int, k: int) -> torch.Tensor:
        """Frames t .. t+k-1 after the dreamed frame t-1 (``x``), as (k, B, 3, H, W); the last is dreamed.

        The picture is carried frame by frame, exactly as with ``dream_every: 1`` (so every frame
        has the same resampling and sharpening), and each frame before the dreamed one gets a
        growing share of the dream's change carried back along the path, composed once: the
        dream arrives evenly over the interval instead of in a pulse at the dreamed frame.
        """
        moves, carried = [self.motion.move(t + i) for i in range(k)], [x]
        for i, move in enumerate(moves):
            sharpness = lane_values([planner.at(t + i).move.sharpen for planner in self.planners])
            carried.append(warp(carried[-1], move, sharpness, fill=self._fill))
            if self.source is not None:  # the clip's own frame, the dream carried onto it
                carried[-1] = self.source.fresh(t + i, carried[-2], carried[-1], move, sharpness)
        carried = carried[1:]
        path = field.chain(moves)
        if self.velocity is not None:
            self.velocity = warp(self.velocity, path[-1], signed=True)
            self.known = known(path[-1], self.velocity)
            if self.source is not None:  # carry 0 dreams afresh, a cut keeps nothing of the old shot
                self.known = self.known * self.source.kept(t + k - 1).to(self.known).view(-1, 1, 1, 1)
        dreamed = self._dreamed(carried[-1], t + k - 1)
        if self.source is not None:  # over footage: this frame's dream blended with the one carried onto it
            dreamed = self.source.settle(t, k, path[-1], carried[-1], dreamed)
        if k == 1:
            return dreamed[None]
        change = (dreamed - carried[-1]).repeat(k - 1, 1, 1, 1)
        back = field.cat([field.relative(step, path[-1]) for step in path[:-1]])
        # Sharpened like every carried frame, so the dream's detail is as crisp before the dreamed frame as on it.
        back = warp(change, back, sharpness.repeat(k - 1), signed=True)
        share = (torch.arange(1, k, dtype=x.dtype, device=x.device) / k).repeat_interleave(x.shape[0])
        tweens = (torch.cat(carried[:-1]) + share.view(-1, 1, 1, 1) * back).clamp(0, 1)
        return torch.cat([tweens.view(k - 1, *x.shape), dreamed[None]])

    def _noise(self, lanes: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Unit gaussian noise (B, 3, H, W) for the lanes marked in ``lanes``, zero for the others.

        Drawn from each lane's own generator and only when that lane needs it, so resume and
        rendering a variant alone give the same frames.
        """
        noise = torch.zeros(shape)
        for i in torch.nonzero(lanes).flatten().tolist():
            noise[i] = torch.randn(shape[1:], generator=self.lane_generators[i])
        return noise

    def _fill(self, lanes: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Fresh texture for the ground the camera reveals."""
        return self._noise(lanes, shape).mul_(FILL_NOISE)

    def _dreamed(self, x: torch.Tensor, t: int) -> torch.Tensor:
        """Frame t: fresh noise, the dream, colour coherence, and a check that it is finite."""
        plans = [planner.at(t) for planner in self.planners]
        amount = lane_values([p.noise for p in plans])
        if bool((amount > 0).any()):
            noise = self._noise(amount > 0, x.shape) * amount.view(-1, 1, 1, 1)
            x = (x + noise.to(x)).clamp(0, 1)
        if self.net is not None and plans[0].settings.steps > 0:
            x = self._calm(x, self._dream(x, plans), lane_values([p.calm for p in plans]))
        x = self.colors(x, lane_values([p.color_strength for p in plans]))
        if not bool(torch.isfinite(x).all()):
            raise RenderError(f"frame {t}: the dream produced NaN or Inf; lower dream.step_size or set precision: fp32")
        if self.seamless is not None:  # a loop's tail, drawn toward the frames before its first
            x, self.velocity = self.seamless.pull(x, self.velocity, t)
        return x

    def _calm(self, x: torch.Tensor, dreamed: torch.Tensor, calm: torch.Tensor) -> torch.Tensor:
        """The dream's change with momentum along the camera: ``calm`` of the change carried from the
        last dreamed frame plus the rest of this frame's, so what the dream does consistently keeps
        its strength while what jitters from frame to frame (the boil a viewer sees) averages out.
        Ground the camera just revealed has no change to carry and takes all of this frame's, as the
        first frame does: damped there, it would stay greyer than the rest for many frames."""
        change = dreamed - x
        if self.velocity is not None:
            keep = calm.view(-1, 1, 1, 1).to(x) * self.known
            change = keep * self.velocity + (1 - keep) * change
        self.velocity = change
        return (x + change).clamp(0, 1)

    def _dream(self, x: torch.Tensor, plans: list[FramePlan]) -> torch.Tensor:
        scores = [objectives.combine(terms, plan.weights) for terms, plan in zip(self.terms, plans)]
        scale = 1024.0 if self.dtype == torch.float16 else 1.0
        with torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            return dream(x, self.net, scores, plans[0].settings, self.generator, loss_scale=scale)

    def close(self) -> None:
        """Let go of what the source holds open (a clip's decoder and its flow thread)."""
        if self.source is not None:
            self.source.close()

    def state_dict(self) -> dict[str, Any]:
        """The state after the frames yielded so far, on the CPU at full precision: what frame
        ``next_frame`` depends on, so a render resumed from it continues bit for bit."""
        assert self.x is not None, "nothing rendered yet"
        return {
            "next_frame": self.next_frame,
            "frame": self.x.detach().float().cpu().clone(),
            "velocity": None if self.velocity is None else self.velocity.detach().float().cpu().clone(),
            "generators": [g.get_state() for g in [self.generator, *self.lane_generators]],
            "color": self.colors.state_dict(),
            **({"loop": self.seamless.state_dict()} if self.seamless else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for generator, saved in zip([self.generator, *self.lane_generators], state["generators"]):
            generator.set_state(saved)
        self.colors.load_state_dict(state["color"])
        self.x, self.next_frame = state["frame"].to(self.device), state["next_frame"]
        self.velocity = None if state["velocity"] is None else state["velocity"].to(self.device)
        if self.seamless is not None:
            self.seamless.load_state_dict(state["loop"], self)
