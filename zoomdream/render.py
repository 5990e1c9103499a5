"""The render loop: the only module that wires config, model, dream, motion, colour and sinks.

Per frame: warp the last frame, dream on it, pull its colours to the reference, check it is
finite, and hand it to the writer thread, which encodes while the next frame is dreamed.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from . import __version__, checkpoint, color, models, motion, sinks, sources
from .config import Config, ConfigError, Term, load_config
from .dream import Objective, activation, dream
from .interrupt import StopRequests
from .plan import FramePlan, Planner

USER_ERRORS = (ConfigError, models.ModelError, sources.SourceError, sinks.SinkError, checkpoint.CheckpointError)


class RenderError(Exception):
    """A render that cannot start or go on, for a reason the user can fix; one line."""


@dataclass
class RenderResult:
    folder: Path
    video: Path | None
    frames_dir: Path | None
    frames: int
    seconds: float
    device: str

    def as_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


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
    parts = [weight * activation(t.layer, t.channels) for t, weight in zip(terms, plan.weights)]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def prepare_folder(config: Config, overwrite: bool, resume: bool) -> Path:
    """Refuse to clobber an earlier render; make sure the folder can be written before any work."""
    folder = config.output_dir()
    interrupted = checkpoint.path(folder).exists()
    finished = (folder / "render.json").exists()
    if resume and not interrupted:
        done = "it is already complete" if finished else "there is no checkpoint"
        raise RenderError(f"{folder}: nothing to resume ({done}); render without --resume")
    if not resume and not overwrite and (interrupted or finished or (folder / "frames").exists()):
        hint = "pass --resume to continue it or --overwrite to start again" if interrupted else (
            "pass --overwrite (or output.overwrite: true) or change name"
        )
        kind = "an interrupted render" if interrupted else "an earlier render"
        raise RenderError(f"{folder}: holds {kind}; {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".zoomdream-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise RenderError(f"{folder}: cannot write here ({error.strerror}); set output.dir to a writable folder") from None
    return folder


def clear_earlier(folder: Path, config: Config) -> None:
    """Only after every check passed: remove what an overwritten render leaves behind."""
    for name in ("frames", checkpoint.STATE_DIR):
        shutil.rmtree(folder / name, ignore_errors=True)
    for name in (f"{config.name}.mp4", "render.json", "config.yaml"):
        (folder / name).unlink(missing_ok=True)


def start_frame(config: Config, generator: torch.Generator) -> torch.Tensor:
    if config.start.image:
        return sources.load_image(config.start.image, config.size, config.start.fit)
    noise = config.start.noise
    assert noise is not None
    return sources.noise(noise.kind, noise.scale, config.size, generator)


def color_reference(config: Config, device: torch.device) -> tuple[torch.Tensor, torch.Tensor] | None:
    if config.color.match in ("none", "first_frame"):
        return None
    image = sources.load_image(config.color.match, config.size, "cover")
    return color.channel_stats(image.to(device))


def open_sinks(config: Config, folder: Path, segments: list[str]) -> tuple[list, Path | None, Path | None]:
    video_path = frames_dir = None
    opened: list = []
    if config.output.video is not None:
        video_path = folder / f"{config.name}.mp4"
        video = config.output.video
        opened.append(
            sinks.SegmentedVideo(
                video_path, config.size, config.fps, video.codec, video.crf,
                folder=folder / checkpoint.STATE_DIR / "segments", done=segments,
            )
        )  # fmt: skip
    if config.output.frames is not None:
        frames_dir = folder / "frames"
        opened.append(sinks.FrameSink(frames_dir, config.output.frames.bit_depth))
    return opened, video_path, frames_dir


def theta_for(plan: FramePlan, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    m = plan.move
    values = [torch.tensor([v], device=device) for v in (m.zoom, m.rotate, m.pan_x, m.pan_y, m.center_x, m.center_y)]
    return motion.affine(*values, size=size)


class Renderer:
    """Holds what lives for a whole render: device, network, generator, colour reference."""

    def __init__(self, config: Config):
        self.device = pick_device(config.device)
        self.config = with_objective(config)
        self.planner = Planner(self.config)
        self.dtype = autocast_dtype(config.precision, self.device)
        self.generator = torch.Generator().manual_seed(config.seed)
        layers = [t.layer for t in self.config.dream.objective or []]
        self.net = (
            models.load_feature_net(config.model.name, layers, config.model.weights, self.device)
            if self.planner.dreams_at_all(config.frame_count)
            else None
        )
        self.reference = color_reference(self.config, self.device)

    @property
    def every(self) -> int:
        return self.config.motion.dream_every

    def path(self, t: int) -> list[torch.Tensor]:
        """Sampling matrices from frames t+1 .. t+every back to the dreamed frame t."""
        thetas = [theta_for(self.planner.at(t + i), self.config.size, self.device) for i in range(1, self.every + 1)]
        return motion.chain(thetas)

    def step(self, x: torch.Tensor | None, t: int) -> torch.Tensor:
        """The dreamed frame t from the dreamed frame t - every (or from the start when t is 0)."""
        plan = self.planner.at(t)
        if x is None:
            x = start_frame(self.config, self.generator).to(self.device)
        else:
            sharpness = torch.tensor([plan.move.sharpen], device=self.device)
            x = motion.warp(x, self.path(t - self.every)[-1], sharpness)
        if self.net is not None and plan.settings.steps > 0:
            x = self._dream(x, plan)
        if self.config.color.match != "none":
            if self.reference is None:
                self.reference = color.channel_stats(x)
            x = color.match(x, self.reference, torch.tensor([plan.color_strength], device=self.device))
        if not bool(torch.isfinite(x).all()):
            raise RenderError(
                f"frame {t}: the dream produced NaN or Inf; lower dream.step_size or set precision: fp32"
            )
        return x

    def tweens(self, x: torch.Tensor, after: torch.Tensor, t: int) -> torch.Tensor:
        """Frames t+1 .. t+every-1 between dreamed frames t and t+every, as one batch (n, B, 3, H, W).

        Each is the earlier frame carried forward along the camera path, cross-faded into the
        later one carried back, so the motion is continuous and the dream fades in.
        """
        path = self.path(t)
        n = len(path) - 1
        if n == 0:
            return x.new_zeros((0, *x.shape))
        forward = torch.cat(path[:-1])
        backward = torch.cat([motion.relative(s, path[-1]) for s in path[:-1]])
        lanes = x.shape[0]
        ahead = motion.warp(x.repeat(n, 1, 1, 1), forward)
        behind = motion.warp(after.repeat(n, 1, 1, 1), backward)
        mix = (torch.arange(1, n + 1, device=x.device, dtype=x.dtype) / (n + 1)).repeat_interleave(lanes).view(-1, 1, 1, 1)
        return torch.lerp(ahead, behind, mix).view(n, lanes, *x.shape[1:])

    def _dream(self, x: torch.Tensor, plan: FramePlan) -> torch.Tensor:
        objective = build_objective(self.config, plan)
        scale = 1024.0 if self.dtype == torch.float16 else 1.0
        with torch.autocast(self.device.type, dtype=self.dtype or torch.float32, enabled=self.dtype is not None):
            return dream(x, self.net, objective, plan.settings, self.generator, loss_scale=scale)

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
            self.reference = tuple(r.to(self.device) for r in state["reference"])
        return state["frame"].to(self.device), int(state["next_frame"])


class Interrupted(Exception):
    """A render stopped by a signal after saving its checkpoint."""

    def __init__(self, signum: int, done: int, total: int, folder: Path):
        super().__init__(f"stopped at frame {done} of {total}; the video so far is in {folder}")
        self.signum, self.done, self.total = signum, done, total


def frame_to_host(x: torch.Tensor) -> Any:
    return x[0].permute(1, 2, 0).float().cpu().numpy()


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
            clear_earlier(folder, config)
        opened, video_path, frames_dir = open_sinks(config, folder, saved["segments"] if saved else [])
        result = RenderResult(folder, video_path, frames_dir, config.frame_count, 0.0, str(renderer.device))
        result.seconds = _loop(renderer, x, first, opened, folder, quiet)
        write_records(renderer.config, result)
        shutil.rmtree(folder / checkpoint.STATE_DIR, ignore_errors=True)
    return result


def _loop(renderer: Renderer, x: torch.Tensor | None, first: int, opened: list, folder: Path, quiet: bool) -> float:
    """Frames ``first`` .. end, checkpointing through the writer thread; returns seconds spent.

    ``x`` is the last dreamed frame, ``first - 1``; every ``dream_every``-th frame is dreamed
    and the frames between are made from the two dreamed frames around them.
    """
    config = renderer.config
    total, every = config.frame_count, config.output.checkpoint_every
    video = next((s for s in opened if isinstance(s, sinks.SegmentedVideo)), None)

    def save_checkpoint(state: dict[str, Any]) -> None:
        state["segments"] = video.cut() if video else []
        checkpoint.save(folder, state)

    writer = sinks.WriterThread(opened)
    began = time.perf_counter()
    t, saved = first, first
    try:
        with torch.no_grad(), StopRequests() as stop, tqdm(
            total=total, initial=first, unit="frame", disable=quiet, desc=config.name
        ) as bar:
            while t < total and stop.signal is None:
                if x is None:
                    x, between = renderer.step(None, 0), []
                else:
                    after = renderer.step(x, t - 1 + renderer.every)
                    between, x = list(renderer.tweens(x, after, t - 1)), after
                for frame in [*between, x][: total - t]:
                    writer.put(t, frame_to_host(frame))
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


def write_records(config: Config, result: RenderResult) -> None:
    """config.yaml and render.json beside the video, so every render says how it was made."""
    sinks.write_atomic(result.folder / "config.yaml", config.to_yaml())
    record = {
        "zoomdream": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": result.device,
        "model": config.model.name,
        "size": list(config.size),
        "fps": config.fps,
        "frames": result.frames,
        "seconds": round(result.seconds, 3),
        "seconds_per_frame": round(result.seconds / max(result.frames, 1), 4),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    sinks.write_atomic(result.folder / "render.json", json.dumps(record, indent=2) + "\n")
