"""The render loop: the only module that wires config, model, dream, motion, colour and sinks.

Every lane (one per variant) is a row of one batch (B, 3, H, W) on the device. A dreamed
frame is: warp the last dreamed frame along the camera path, dream on it, pull its colours to
the reference, check it is finite. The frames between dreamed ones (``dream_every``) are carried
along the camera like any frame and each gets its share of the dream's change. Frames go to the
writer thread, which encodes while the next frame is dreamed, and checkpoints go through it too,
after the frames they cover.
"""

from __future__ import annotations

import functools
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from tqdm import tqdm

from . import checkpoint, color, look, models, motion, objectives, sinks, sound, sources
from .config import COLOR_REFERENCES, Config, ConfigError, load_config
from .dream import Objective, dream
from .interrupt import StopRequests
from .outputs import (
    OutputError, RenderResult, clear_earlier, finished_result, lane_folders, make_writable, open_sinks, prepare_folder,
    write_records,
)  # fmt: skip
from .plan import FramePlan, Planner, matrices, sound_features
from .preview import preview_config

__all__ = ["Interrupted", "RenderError", "RenderResult", "Renderer", "render"]

USER_ERRORS = (
    ConfigError, OutputError, models.ModelError, sources.SourceError, sinks.SinkError, checkpoint.CheckpointError,
    objectives.ObjectiveError,
    sound.SoundError,
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
    terms = [objectives.Activation(layer=layer) for layer in models.default_layers(config.model.name)]
    return config.model_copy(update={"dream": config.dream.model_copy(update={"objective": terms})})


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

    def __init__(self, config: Config):
        self.device = pick_device(config.device)
        self.config = config
        self.lanes = [with_objective(lane) for _, lane in config.lanes()]
        features = sound_features(config)
        self.planners = [Planner(lane, features) for lane in self.lanes]
        self.dtype = autocast_dtype(config.precision, self.device)
        self.generator = torch.Generator().manual_seed(config.seed)
        # Noise of each lane comes from its own generator, so a lane renders the same alone or beside others.
        self.lane_generators = [torch.Generator().manual_seed(lane.seed + NOISE_SEED) for lane in self.lanes]
        layers = list(dict.fromkeys(layer for lane in self.lanes for t in lane.dream.objective or [] for layer in t.layers()))
        dreams = self.planners[0].dreams_at_all(config.frame_count)
        self.net, self.terms = self._network(layers) if dreams else (None, [])
        self.colors = color.ColorCoherence([self._color_settings(lane) for lane in self.lanes], config.motion.dream_every)
        self.start = torch.cat([start_frame(lane) for lane in self.lanes])  # read now: a bad file stops us early
        self.x: torch.Tensor | None = None  # the last dreamed frame
        self.velocity: torch.Tensor | None = None  # the dream's change at that frame (see _calm)
        self.known: torch.Tensor | None = None  # (B, 1, H, W): where the velocity was carried from seen ground
        self.next_frame = 0

    def _network(self, layers: list[str]) -> tuple[Any, list[list[Objective]]]:
        """The cut network, laid out for the device (channels_last: measured faster on CPU and CUDA),
        and each lane's objective terms built for it."""
        net = models.load_feature_net(self.config.model.name, layers, self.config.model.weights, self.device)
        widths = objectives.layer_widths(net, self.device)
        if self.device.type in ("cuda", "cpu"):
            net = net.channels_last()
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        net = torch.compile(net, dynamic=False) if self.config.compile else net
        context = objectives.Context(net, widths, self.device, self.config.frame_size, self.config.model.name, len(self.lanes))
        return net, [objectives.build(lane.dream.objective or [], context) for lane in self.lanes]

    @staticmethod
    def _color_settings(lane: Config) -> color.ColorSettings:
        c = lane.color
        path = c.reference not in COLOR_REFERENCES
        image = sources.load_image(c.reference, lane.frame_size, "cover") if path and c.mode != "none" else None
        return color.ColorSettings(c.mode, c.space, "image" if path else c.reference, image, c.memory * lane.fps)

    def move(self, t: int) -> torch.Tensor:
        """Every lane's camera move into frame t: sampling matrices into frame t - 1.

        Built for the recipe's ``size``, so a scaled render (a preview) moves exactly the same.
        """
        return matrices([planner.at(t).move for planner in self.planners], self.config.size)

    def frames(self) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(t, frames)`` until the render's last frame: output frames t, t+1, ... as (n, B, 3, H, W).

        Each interval ends on a dreamed frame; ``x`` and ``next_frame`` always describe the state
        after the frames yielded so far, which is what a checkpoint saves.
        """
        total = self.config.frame_count
        if self.x is None and self.next_frame < total:
            self.x, self.next_frame = self._dreamed(self.start.to(self.device), 0), 1
            yield 0, self.x[None]
        while self.next_frame < total:
            t = self.next_frame
            frames = self.interval(self.x, t, min(self.config.motion.dream_every, total - t))
            self.x, self.next_frame = frames[-1], t + len(frames)
            yield t, frames

    def interval(self, x: torch.Tensor, t: int, k: int) -> torch.Tensor:
        """Frames t .. t+k-1 after the dreamed frame t-1 (``x``), as (k, B, 3, H, W); the last is dreamed.

        The picture is carried frame by frame, exactly as with ``dream_every: 1`` (so every frame
        has the same resampling and sharpening), and each frame before the dreamed one gets a
        growing share of the dream's change carried back along the path, composed once: the
        dream arrives evenly over the interval instead of in a pulse at the dreamed frame.
        """
        moves, carried = [self.move(t + i) for i in range(k)], [x]
        for i, move in enumerate(moves):
            sharpness = lane_values([planner.at(t + i).move.sharpen for planner in self.planners])
            carried.append(motion.warp(carried[-1], move, sharpness, fill=self._fill))
        carried = carried[1:]
        path = motion.chain(moves)
        if self.velocity is not None:
            self.velocity = motion.warp(self.velocity, path[-1], signed=True)
            self.known = motion.known(path[-1], self.velocity)
        dreamed = self._dreamed(carried[-1], t + k - 1)
        if k == 1:
            return dreamed[None]
        change = (dreamed - carried[-1]).repeat(k - 1, 1, 1, 1)
        back = motion.batch([motion.relative(step, path[-1]) for step in path[:-1]])
        # Sharpened like every carried frame, so the dream's detail is as crisp before the dreamed frame as on it.
        back = motion.warp(change, back, sharpness.repeat(k - 1), signed=True)
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

    def checkpoint(self) -> checkpoint.Checkpoint:
        """The state after the frames yielded so far, on the CPU at full precision."""
        assert self.x is not None, "nothing rendered yet"
        return checkpoint.Checkpoint(
            next_frame=self.next_frame,
            frame=self.x.detach().float().cpu().clone(),
            velocity=None if self.velocity is None else self.velocity.detach().float().cpu().clone(),
            generators=[g.get_state() for g in [self.generator, *self.lane_generators]],
            color=self.colors.state_dict(),
            fingerprint=checkpoint.fingerprint(self.config),
        )

    def restore(self, saved: checkpoint.Checkpoint) -> None:
        changed = checkpoint.differences(saved.fingerprint, checkpoint.fingerprint(self.config))
        if changed:
            raise checkpoint.CheckpointError(
                f"cannot resume: the config changed ({'; '.join(changed)}); render with --overwrite to start again", "--overwrite"
            )
        for generator, state in zip([self.generator, *self.lane_generators], saved.generators):
            generator.set_state(state)
        self.colors.load_state_dict(saved.color)
        self.x, self.next_frame = saved.frame.to(self.device), saved.next_frame
        self.velocity = None if saved.velocity is None else saved.velocity.to(self.device)


class LookRecorder(look.Recorder):
    """The look curves of a render, measured on the device as the frames go by."""

    def measure(self, renderer: Renderer, t: int, frames: torch.Tensor, previous: torch.Tensor | None) -> None:
        """Frames t.. (n, B, 3, H, W); ``previous`` is the output frame before them (None at the start)."""
        n, lanes = frames.shape[:2]
        flat = frames.reshape(n * lanes, *frames.shape[2:])
        if previous is None:
            self.add(look.measure(flat[:lanes]))
            flat, t, n = flat[lanes:], t + 1, n - 1
            previous = frames[0]
            if n == 0:
                return
        before = torch.cat([previous, flat[: (n - 1) * lanes]])
        carried, valid = look.carry(before, motion.batch([renderer.move(t + i) for i in range(n)]))
        figures = look.measure(flat, carried, valid)
        for i in range(n):
            self.add({name: value[i * lanes : (i + 1) * lanes] for name, value in figures.items()})


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
    preview: bool = False,
    **overrides: Any,
) -> RenderResult:
    """Render a config (or a YAML path) to its output folder; returns the paths and timings.

    With ``resume`` it continues an unfinished render from its checkpoint (or from the first
    frame when it died before its first checkpoint); the frames equal those of an uninterrupted
    render (bit for bit on the CPU). A finished render is left as it is. ``preview`` renders the
    recipe cheaper into ``<output>/preview/`` (see ``zoomdream.preview``).
    """
    if not isinstance(config, Config) or overrides:
        source = config.model_dump(mode="json") if isinstance(config, Config) else config
        config = load_config(source, **overrides)
    if preview:
        config = preview_config(config)
    overwrite = bool(config.output.overwrite if overwrite is None else overwrite) and not resume
    found = prepare_folder(config, overwrite, resume)
    folder = config.output_dir()
    if found == "finished":
        print(f"zoomdream: {folder} is already finished; nothing to resume", file=sys.stderr)
        return finished_result(config)
    renderer = Renderer(config)  # checks every frame's formulas and the objective before the folder is touched
    make_writable(folder)
    with checkpoint.FolderLock(folder):
        saved = checkpoint.load(folder) if found == "interrupted" else None
        if saved:
            renderer.restore(saved)
        else:
            if found == "unfinished":
                print(f"zoomdream: {folder} has no checkpoint yet; rendering from the first frame", file=sys.stderr)
            clear_earlier(config)
        result = RenderResult(folder, frames=config.frame_count, device=str(renderer.device))
        opened, videos = open_sinks(config, saved.segments if saved else [], result)
        recorder = LookRecorder([stem for stem, _ in lane_folders(config)], saved.look if saved else None)
        result.seconds = _loop(renderer, recorder, opened, videos, quiet)
        resolved = config.model_copy(update={"dream": renderer.lanes[0].dream}) if not config.variants else config
        details = {"model": config.model.name, "torch": torch.__version__, "look": recorder.curves()}
        write_records(resolved, result, details)
        shutil.rmtree(folder / checkpoint.STATE_DIR, ignore_errors=True)
    return result


def _loop(renderer: Renderer, recorder: LookRecorder, opened: list, videos: list, quiet: bool) -> float:
    """Drive ``renderer.frames()`` to the end, checkpointing through the writer thread; returns seconds spent.

    A checkpoint is taken when the cadence (frames or wall time) is due, on a signal, and after
    the last frame, so a crash while the video is joined resumes straight to the join.
    """
    config = renderer.config
    total, folder = config.frame_count, config.output_dir()
    every_frames, every_seconds = config.output.cadence()

    def save_checkpoint(state: checkpoint.Checkpoint) -> None:
        state.segments = [video.cut() for video in videos]
        checkpoint.save(folder, state)
        for video in videos:
            video.release()  # the segments merged away, now that no checkpoint names them

    writer = sinks.WriterThread(opened)
    exact = any(sink.bit_depth > 8 for sink in opened)
    began = last = time.perf_counter()
    saved = done = renderer.next_frame
    previous = renderer.x
    try:
        with torch.no_grad(), StopRequests() as stop, tqdm(
            total=total, initial=done, unit="frame", disable=quiet, desc=config.name
        ) as bar:
            for t, frames in renderer.frames():
                for i, frame in enumerate(to_host(frames, exact)):
                    writer.put(t + i, frame)
                recorder.measure(renderer, t, frames, previous)
                previous = frames[-1]
                bar.update(len(frames))
                done, now = renderer.next_frame, time.perf_counter()
                due = (every_frames is not None and done - saved >= every_frames) or (
                    every_seconds is not None and now - last >= every_seconds
                )
                if due or done == total or stop.signal is not None:
                    state = renderer.checkpoint()
                    state.look = recorder.curves()
                    writer.call(functools.partial(save_checkpoint, state))
                    saved, last = done, now
                if stop.signal is not None:
                    break
    except BaseException:
        writer.abort()
        raise
    writer.close()
    if stop.signal is not None and done < total:
        raise Interrupted(stop.signal, done, total, folder)
    return time.perf_counter() - began
