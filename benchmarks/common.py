"""What every workload shares: the Bench settings, the recipes, the scratch folder, and the
renderer's frame loop timed on the device.

Frames come from the renderer itself: compute-only workloads (micro.py) drive
``Renderer.frames()``, end-to-end ones (end_to_end.py, strength.py) call ``zoomdream.render``.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

import zoomdream
from measure import now
from zoomdream.config import Config
from zoomdream.dream import objectives
from zoomdream.dream.ascent import dream, octave_sizes
from zoomdream.dream.objectives import Objective
from zoomdream.engine.device import autocast_dtype
from zoomdream.engine.renderer import Renderer
from zoomdream.run.loop import to_host

ROOT = Path(__file__).resolve().parents[1]
CONFIG, DEFAULT = ROOT / "configs" / "quickstart.yaml", ROOT / "configs" / "default.yaml"
BENCH = Path(__file__).with_name("bench.py")
# The renderer calls dream() without min_side, so dream's default decides which octaves run.
MIN_SIDE: int = inspect.signature(dream).parameters["min_side"].default

Peaks = dict[tuple[torch.dtype, int], float]  # GFLOP/s by (dtype, threads)


@dataclass(frozen=True, eq=False)
class Bench:
    """What every workload shares: the device, --repeat, the thread count the run started with
    (``threads``: all of them), the peaks (GFLOP/s by dtype and thread count, filled before the
    first workload runs) and the --set overrides of the look workload."""

    device: torch.device
    repeat: int = 6
    threads: int = field(default_factory=torch.get_num_threads)
    peaks: Peaks = field(default_factory=dict)
    look_overrides: tuple[str, ...] = ()

    @property
    def thread_counts(self) -> tuple[int, ...]:
        """One thread and all of them on the CPU (where both matter to a user); the GPU's own elsewhere."""
        return tuple(dict.fromkeys((1, self.threads))) if self.device.type == "cpu" else (self.threads,)

    @property
    def precisions(self) -> dict[str, str]:
        """``precision`` values to measure, by the name of the dtype they give on this device:
        fp32, and the reduced one (bf16 on the CPU, ``auto``'s choice on CUDA) where there is one."""
        found = {"fp32": "fp32"}
        reduced = "bf16" if self.device.type == "cpu" else "auto"
        dtype = autocast_dtype(reduced, self.device)
        if dtype is not None:
            found[dtype_name(dtype)] = reduced
        return found

    def peak(self, dtype: torch.dtype | None, threads: int | None = None) -> float:
        return self.peaks[(dtype or torch.float32, threads or self.threads)]


def dtype_name(dtype: torch.dtype | None) -> str:
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32") if dtype else "fp32"  # type: ignore[arg-type]


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """torch's intra-op threads set to ``count`` inside, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast as the renderer dreams under it (``Renderer.dtype``; None: fp32, no autocast)."""
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def quickstart(b: Bench, **overrides: Any) -> Config:
    """The quickstart recipe on the benchmark's device, with keyword overrides (``dream__steps=1``)."""
    return zoomdream.load_config(CONFIG, device=str(b.device), **overrides)


@functools.cache
def scratch() -> Path:
    """A temporary folder for the whole run (weights files, renders), removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="zoomdream-bench-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def scored(renderer: Renderer, t: int = 0) -> Objective:
    """Lane 0's objective at frame t, as the renderer combines it for the dream."""
    return objectives.combine(renderer.terms[0], renderer.planners[0].at(t).weights)


def ascent_steps(renderer: Renderer, t: int) -> int:
    """Ascent steps the renderer takes on dreamed frame t: steps per octave times the octaves not dropped."""
    settings = renderer.planners[0].at(t).settings
    if renderer.net is None or settings.steps == 0:
        return 0
    width, height = renderer.config.size
    return settings.steps * len(octave_sizes(height, width, settings.octaves, settings.octave_scale, MIN_SIDE))


def intervals(renderer: Renderer) -> Iterator[tuple[float, int, torch.Tensor]]:
    """``renderer.frames()`` under no_grad, each interval with the seconds it took on the device."""
    frames = renderer.frames()
    while True:
        start = now(renderer.device)
        with torch.no_grad():
            got = next(frames, None)
        if got is None:
            return
        yield now(renderer.device) - start, *got


def timed_frames(renderer: Renderer, warm: bool = True) -> tuple[float, list[np.ndarray]]:
    """Seconds for the render's frames, handed to the host as a render does, and the host frames
    (B, H, W, 3). ``warm`` leaves frame 0 out of the time: it warms up the kernels and is no zoom step."""
    seconds, frames = 0.0, []
    for i, (spent, _, batch) in enumerate(intervals(renderer)):
        start = now(renderer.device)
        frames.extend(to_host(batch, exact=True))
        seconds += 0.0 if warm and i == 0 else spent + now(renderer.device) - start
    return seconds, frames


@functools.cache
def feature_net(name: str, layers: tuple[str, ...], device: torch.device) -> tuple[Any, Objective]:
    """The network exactly as a render prepares it (layout, cuDNN autotuning, compile) and its objective."""
    terms = [{"layer": layer} for layer in layers]
    config = zoomdream.load_config({"model": {"name": name}, "dream": {"objective": terms}, "device": str(device)})
    renderer = Renderer(config)
    return renderer.net, scored(renderer)


def wxh(size: Any) -> str:
    return "x".join(map(str, size))
