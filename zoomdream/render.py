"""The render loop: the only module that wires config, model, dream, motion, colour and sinks.

Every lane (one per variant) is a row of one batch (B, 3, H, W) on the device. A dreamed
frame is: warp the last dreamed frame along the camera path, dream on it, pull its colours to
the reference, check it is finite. The frames between dreamed ones (``dream_every``) are made
from the two around them. Frames go to the writer thread, which encodes while the next frame
is dreamed, and checkpoints go through it too, after the frames they cover.
"""

from __future__ import annotations

import functools
import operator
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from . import checkpoint, color, models, motion, sinks, sources
from .config import Config, ConfigError, Term, load_config
from .dream import Objective, activation, dream
from .interrupt import StopRequests
from .outputs import OutputError, RenderResult, clear_earlier, open_sinks, prepare_folder, write_records
from .plan import FramePlan, Planner

__all__ = ["Interrupted", "RenderError", "RenderResult", "Renderer", "render"]

USER_ERRORS = (
    ConfigError, OutputError, models.ModelError, sources.SourceError, sinks.SinkError, checkpoint.CheckpointError,
)  # fmt: skip


class RenderError(Exception):
    """A render that cannot start or go on, for a reason the user can fix; one line."""


def pick_device(name: str) -> torch.device:
    """``auto`` prefers CUDA, then Apple's MPS, then the CPU; an absent device is a user error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RenderError(f"device: {name} is not available on this machine; use device: auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RenderError("device: mps is not available on this machine; use device: auto or cpu")
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """Reduced precision only where it pays: CUDA. On CPU and MPS the dream runs in fp32."""
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def with_objective(config: Config) -> Config:
    """Fill in the model's own classic layer when the recipe names none."""
    if config.dream.objective:
        return config
    terms = [Term(layer=layer) for layer in models.default_layers(config.model.name)]
    return config.model_copy(update={"dream": config.dream.model_copy(update={"objective": terms})})


def build_objective(config: Config, plan: FramePlan) -> Objective:
    terms = config.dream.objective or []
    return functools.reduce(operator.add, [w * activation(t.layer, t.channels) for t, w in zip(terms, plan.weights)])


def start_frame(config: Config) -> torch.Tensor:
    """A lane's first frame; noise comes from the lane's own seed so variants can differ."""
    if config.start.image:
        return sources.load_image(config.start.image, config.size, config.start.fit)
    noise = config.start.noise
    assert noise is not None
    return sources.noise(noise.kind, noise.scale, config.size, torch.Generator().manual_seed(config.seed))


def lane_values(values: list[float]) -> torch.Tensor:
    """Per-lane numbers as float64 on the CPU: camera matrices are composed there (MPS has no
    float64) and the ops that use them move them to the frame's device and dtype."""
    return torch.tensor(values, dtype=torch.float64)


class Renderer:
    """Holds what lives for a whole render: device, network, lanes, generator, colour reference."""

    def __init__(self, config: Config):
        self.device = pick_device(config.device)
        self.config = config
        self.lanes = [with_objective(lane) for _, lane in config.lanes()]
        self.planners = [Planner(lane) for lane in self.lanes]
        self.dtype = autocast_dtype(config.precision, self.device)
        self.generator = torch.Generator().manual_seed(config.seed)
        layers = list(dict.fromkeys(t.layer for lane in self.lanes for t in lane.dream.objective or []))
        dreams = self.planners[0].dreams_at_all(config.frame_count)
        self.net = self._network(layers) if dreams else None
        self.matched = lane_values([lane.color.match != "none" for lane in self.lanes])
        self.images = [self._reference_image(lane) for lane in self.lanes]
        self.reference: tuple[torch.Tensor, torch.Tensor] | None = None

    def _network(self, layers: list[str]) -> Any:
        """The cut network, laid out for the device: channels_last (measured faster on CPU and CUDA)."""
        net = models.load_feature_net(self.config.model.name, layers, self.config.model.weights, self.device)
        self._check_channels(net)
        if self.device.type in ("cuda", "cpu"):
            net = net.channels_last()
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        return torch.compile(net, dynamic=False) if self.config.compile else net

    def _check_channels(self, net: Any) -> None:
        """Channel numbers past a layer's width are a config mistake; say so before rendering."""
        with torch.no_grad():
            widths = {name: act.shape[1] for name, act in net(torch.zeros(1, 3, 96, 96, device=self.device)).items()}
        for lane in self.lanes:
            for i, term in enumerate(lane.dream.objective or []):
                too_big = [c for c in term.channels or [] if c >= widths[term.layer]]
                if too_big:
                    raise RenderError(
                        f"dream.objective.{i}.channels: {term.layer} has channels 0 to {widths[term.layer] - 1}, "
                        f"not {too_big[0]} (zoomdream layers {lane.model.name} lists the widths)"
                    )

    @property
    def every(self) -> int:
        return self.config.motion.dream_every

    def _reference_image(self, lane: Config) -> tuple[torch.Tensor, torch.Tensor] | None:
        if lane.color.match in ("none", "first_frame"):
            return None
        return color.channel_stats(sources.load_image(lane.color.match, lane.size, "cover").to(self.device))

    def theta(self, t: int) -> torch.Tensor:
        """Every lane's move into frame t, (B, 2, 3)."""
        moves = [planner.at(t).move for planner in self.planners]
        columns = zip(*[(m.zoom, m.rotate, m.pan_x, m.pan_y, m.center_x, m.center_y) for m in moves])
        return motion.affine(*[lane_values(list(c)) for c in columns], size=self.config.size)

    def path(self, t: int) -> list[torch.Tensor]:
        """Sampling matrices from frames t+1 .. t+every back to the dreamed frame t."""
        return motion.chain([self.theta(t + i) for i in range(1, self.every + 1)])

    def step(self, x: torch.Tensor | None, t: int) -> torch.Tensor:
        """The dreamed frame t from the dreamed frame t - every (or from the start when t is 0)."""
        plans = [planner.at(t) for planner in self.planners]
        if x is None:
            x = torch.cat([start_frame(lane) for lane in self.lanes]).to(self.device)
        else:
            sharpness = lane_values([p.move.sharpen for p in plans])
            x = motion.warp(x, self.path(t - self.every)[-1], sharpness)
        if self.net is not None and plans[0].settings.steps > 0:
            x = self._dream(x, plans)
        x = self._match_colors(x, plans)
        if not bool(torch.isfinite(x).all()):
            raise RenderError(f"frame {t}: the dream produced NaN or Inf; lower dream.step_size or set precision: fp32")
        return x

    def _match_colors(self, x: torch.Tensor, plans: list[FramePlan]) -> torch.Tensor:
        if not bool(self.matched.any()):
            return x
        if self.reference is None:
            first = color.channel_stats(x)
            images = [image or (first[0][i : i + 1], first[1][i : i + 1]) for i, image in enumerate(self.images)]
            self.reference = (torch.cat([m for m, _ in images]), torch.cat([s for _, s in images]))
        strength = lane_values([p.color_strength for p in plans]) * self.matched
        return color.match(x, self.reference, strength)

    def tweens(self, x: torch.Tensor, after: torch.Tensor, t: int) -> torch.Tensor:
        """Frames t+1 .. t+every-1 between dreamed frames t and t+every, as one batch (n, B, 3, H, W).

        Each is the earlier frame carried forward along the camera path, cross-faded into the
        later one carried back, so the motion is continuous and the dream fades in.
        """
        path = self.path(t)
        n, lanes = len(path) - 1, x.shape[0]
        if n == 0:
            return x.new_zeros((0, *x.shape))
        forward = torch.cat(path[:-1])
        backward = torch.cat([motion.relative(s, path[-1]) for s in path[:-1]])
        ahead = motion.warp(x.repeat(n, 1, 1, 1), forward)
        behind = motion.warp(after.repeat(n, 1, 1, 1), backward)
        mix = (torch.arange(1, n + 1, device=x.device, dtype=x.dtype) / (n + 1)).repeat_interleave(lanes)
        return torch.lerp(ahead, behind, mix.view(-1, 1, 1, 1)).view(n, lanes, *x.shape[1:])

    def interval(self, x: torch.Tensor | None, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Output frames t, t+1, ... up to the next dreamed frame, after the dreamed frame t-1.

        Returns them as (n, B, 3, H, W) with the new dreamed frame last, and that frame. With
        ``x`` None it is frame 0 alone.
        """
        if x is None:
            x = self.step(None, 0)
            return x[None], x
        after = self.step(x, t - 1 + self.every)
        return torch.cat([self.tweens(x, after, t - 1), after[None]]), after

    def _dream(self, x: torch.Tensor, plans: list[FramePlan]) -> torch.Tensor:
        objectives = [build_objective(lane, plan) for lane, plan in zip(self.lanes, plans)]
        scale = 1024.0 if self.dtype == torch.float16 else 1.0
        with torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            return dream(x, self.net, objectives, plans[0].settings, self.generator, loss_scale=scale)

    def state(self, x: torch.Tensor, next_frame: int) -> dict[str, Any]:
        """Everything frame ``next_frame`` depends on, on the CPU at full precision."""
        return {
            "next_frame": next_frame,
            "frame": x.detach().float().cpu().clone(),
            "generator": self.generator.get_state(),
            "reference": None if self.reference is None else [r.cpu().clone() for r in self.reference],
            "fingerprint": checkpoint.fingerprint(self.config),
        }

    def restore(self, state: dict[str, Any]) -> tuple[torch.Tensor, int]:
        changed = checkpoint.differences(state["fingerprint"], checkpoint.fingerprint(self.config))
        if changed:
            raise RenderError(f"cannot resume: the config changed ({'; '.join(changed)}); render with --overwrite to start again")
        self.generator.set_state(state["generator"])
        if state["reference"] is not None:
            self.reference = (state["reference"][0].to(self.device), state["reference"][1].to(self.device))
        return state["frame"].to(self.device), int(state["next_frame"])


class Interrupted(Exception):
    """A render stopped by a signal after saving its checkpoint."""

    def __init__(self, signum: int, done: int, total: int, folder: Path):
        super().__init__(f"stopped at frame {done} of {total}; the video so far is in {folder}")
        self.signum, self.done, self.total = signum, done, total


def to_host(frames: torch.Tensor, exact: bool) -> Any:
    """(n, B, 3, H, W) on the device to (n, B, H, W, 3) on the host in one transfer.

    Quantized to uint8 on the device (a quarter of the bytes) unless an output needs more
    than 8 bits (``exact``), in which case float32 goes and the sink quantizes.
    """
    frames = frames.permute(0, 1, 3, 4, 2)
    if exact:
        return frames.float().cpu().numpy()
    return frames.clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()


def render(
    config: Config | str | Path,
    *,
    overwrite: bool | None = None,
    resume: bool = False,
    quiet: bool = False,
    **overrides: Any,
) -> RenderResult:
    """Render a config (or a YAML path) to its output folder; returns the paths and timings.

    With ``resume`` it continues an interrupted render from its checkpoint; the frames equal
    those of an uninterrupted render (bit for bit on the CPU).
    """
    if not isinstance(config, Config) or overrides:
        source = config.model_dump(mode="json") if isinstance(config, Config) else config
        config = load_config(source, **overrides)
    overwrite = bool(config.output.overwrite if overwrite is None else overwrite) and not resume
    folder = prepare_folder(config, overwrite, resume)
    with checkpoint.FolderLock(folder):
        saved = checkpoint.load(folder) if resume else None
        renderer = Renderer(config)
        x, first = renderer.restore(saved) if saved else (None, 0)
        if overwrite:
            clear_earlier(config)
        result = RenderResult(folder, frames=config.frame_count, device=str(renderer.device))
        opened, videos = open_sinks(config, saved["segments"] if saved else [], result)
        result.seconds = _loop(renderer, x, first, opened, videos, quiet)
        resolved = config.model_copy(update={"dream": renderer.lanes[0].dream}) if not config.variants else config
        write_records(resolved, result, {"model": config.model.name, "torch": torch.__version__})
        shutil.rmtree(folder / checkpoint.STATE_DIR, ignore_errors=True)
    return result


def _loop(
    renderer: Renderer, x: torch.Tensor | None, first: int, opened: list, videos: list, quiet: bool
) -> float:
    """Frames ``first`` .. end, checkpointing through the writer thread; returns seconds spent.

    ``x`` is the last dreamed frame, ``first - 1``; every ``dream_every``-th frame is dreamed
    and the frames between are made from the two dreamed frames around them.
    """
    config = renderer.config
    total, every = config.frame_count, config.output.checkpoint_every
    folder = config.output_dir()

    def save_checkpoint(state: dict[str, Any]) -> None:
        state["segments"] = [video.cut() for video in videos]
        checkpoint.save(folder, state)
        for video in videos:
            video.release()  # the segments merged away, now that no checkpoint names them

    writer = sinks.WriterThread(opened)
    exact = any(sink.bit_depth > 8 for sink in opened)
    began = time.perf_counter()
    t, saved = first, first
    try:
        with torch.no_grad(), StopRequests() as stop, tqdm(
            total=total, initial=first, unit="frame", disable=quiet, desc=config.name
        ) as bar:
            while t < total and stop.signal is None:
                frames, x = renderer.interval(x, t)
                for frame in to_host(frames[: total - t], exact):
                    writer.put(t, frame)
                    t += 1
                    bar.update(1)
                if t - saved >= every or stop.signal is not None:
                    writer.call(lambda state=renderer.state(x, t): save_checkpoint(state))
                    saved = t
    except BaseException:
        writer.abort()
        raise
    writer.close()
    if stop.signal is not None and t < total:
        raise Interrupted(stop.signal, t, total, folder)
    return time.perf_counter() - began
