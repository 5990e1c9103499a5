"""Compute-only workloads: single ascent steps, the frame loop, and the design §6 claims that
need no encoder (batched variants, dream_every, tiled 4K frames).

Each returns its figures as a dict. Comparisons are pairs of workloads where the last one
carries the comparison; they have fixed sizes (not --repeat) so their lines stay comparable.
"""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
from typing import Any

import torch
import torch.nn.functional as F

import zoomdream.dream.ascent
from common import BENCH, MIN_SIDE, Bench, autocast, ascent_steps, dtype_name, feature_net, intervals, quickstart
from common import threads, timed_frames
from measure import FlopCount, Record, cpu_seconds, now, peak_mem_mb, rate
from zoomdream.dream import models
from zoomdream.dream.ascent import MAX_BATCH_PIXELS, ascent_step, dream, gradient, octave_sizes
from zoomdream.dream.settings import Settings
from zoomdream.engine.device import autocast_dtype
from zoomdream.engine.renderer import Renderer

ASCENT_MODELS = {  # the quickstart's model and layer, and the small bundled model on its own default layer
    "inception_v3_tf": ("mixed_3",),
    "efficientnet_lite0": tuple(models.default_layers("efficientnet_lite0")),
}
ASCENT_SIZES = {  # (width, height): squares as before, and the 960x540 frame a user renders (issue 13, item 9)
    "inception_v3_tf": ((256, 256), (512, 512), (960, 540)),
    "efficientnet_lite0": ((256, 256), (512, 512)),
}
RENDERS: dict[str, dict[str, Any]] = {"quickstart": {}, "zoom_960x540": {"size": [960, 540]}}
VARIANT_SEEDS = (7, 2, 3, 4)  # the quickstart's own seed and three more
VARIANT_FRAMES = 3  # timed frames after frame 0, per render
EVERY_FRAMES = 12  # timed frames after frame 0; a multiple of 4, so dream_every 4 ends on a dreamed frame
TILE_SIZE, TILE_MODEL, TILE_SETTINGS = (3840, 2160), ("inception_v3_tf", ("mixed_3",)), Settings(steps=1, octaves=2)
TILE_TARGET_GIB = 6.0
TILE_BUDGETS = (MAX_BATCH_PIXELS, MAX_BATCH_PIXELS // 2, MAX_BATCH_PIXELS // 4, MAX_BATCH_PIXELS // 8)


# -- single ascent steps and the frame loop -------------------------------------------------


def ascent(b: Bench, name: str, layers: tuple[str, ...], size: tuple[int, int], precision: str, count: int) -> Record:
    """One batch-1 ascent step (forward plus input gradient) on a width x height image, at a
    ``precision`` as the renderer runs it (autocast) and on ``count`` threads.

    The FLOP-counted first step warms up; then ``repeat`` timed steps. ms_per_step is their
    median, ms_min the best, cpu_ms_per_step the median CPU time (which other processes on a
    shared machine change far less than the wall clock); the peak fraction compares the best
    step with the best matmul of the same dtype and thread count. Reduced precision also gives
    the cosine of its image gradient to fp32's on the same image.
    """
    net, objective = feature_net(name, layers, b.device)
    dtype, settings = autocast_dtype(precision, b.device), Settings()
    generator = torch.Generator().manual_seed(0)
    width, height = size
    x = torch.rand(1, 3, height, width, generator=generator).to(b.device)
    times, cpu = [], []
    with threads(count):
        with FlopCount() as counted, autocast(b.device, dtype):  # the kernels run as usual under the counter
            x = ascent_step(x, net, objective, settings, generator)
        for _ in range(b.repeat):
            start, used = now(b.device), cpu_seconds()
            with autocast(b.device, dtype):
                x = ascent_step(x, net, objective, settings, generator)
            times.append(now(b.device) - start)
            cpu.append(cpu_seconds() - used)
        cosine = gradient_cosine(x, net, objective, settings, b.device, dtype) if dtype is not None else None
    best, peak = min(times), b.peak(dtype, count)
    gflops = counted.total / 1e9 / best
    return {"ms_per_step": statistics.median(times) * 1e3, "ms_min": best * 1e3, "cpu_ms_per_step": statistics.median(cpu) * 1e3,
            "peak_fraction": gflops / peak, "gflop_per_step": counted.total / 1e9, "gflops": gflops, "peak_gflops": peak,
            "grad_cosine": cosine, "dtype": dtype_name(dtype), "threads": count}  # fmt: skip


def gradient_cosine(x: torch.Tensor, net: Any, objective: Any, settings: Settings, device: torch.device, dtype: torch.dtype) -> float:
    """Cosine between the image gradient under autocast at ``dtype`` and the fp32 one."""
    full = gradient(x, net, objective, settings.tile)
    with autocast(device, dtype):
        reduced = gradient(x, net, objective, settings.tile)
    return float(F.cosine_similarity(full.flatten().double(), reduced.flatten().double(), dim=0))


def render_loop(b: Bench, overrides: dict[str, Any]) -> Record:
    """The render loop's compute without the writer: median time per interval of dream_every frames.

    Frame 0 warms up and is FLOP-counted; then ``repeat`` intervals, each ending on a dreamed frame.
    """
    every = quickstart(b, **overrides).motion.dream_every
    renderer = Renderer(quickstart(b, **{**overrides, "frames": 1 + b.repeat * every}))
    with FlopCount() as count:
        timed = intervals(renderer)
        next(timed)
    seconds = statistics.median([spent for spent, _, _ in timed])
    steps, counted = ascent_steps(renderer, every), ascent_steps(renderer, 0)
    gflops, peak = count.total / 1e9 / seconds, b.peak(renderer.dtype)
    return {"size": list(renderer.config.size), "ms_per_step": seconds * 1e3 / steps if steps else None,
            "fps": every / seconds, "peak_fraction": gflops / peak, "ms_per_frame": seconds * 1e3 / every,
            "steps_per_frame": steps / every, "gflop_per_step": count.total / 1e9 / counted if counted else None,
            "gflops": gflops, "peak_gflops": peak, "dtype": dtype_name(renderer.dtype)}  # fmt: skip


# -- design §6 claims without the encoder ----------------------------------------------------


@functools.cache
def variant_seconds(b: Bench, batched: bool) -> float:
    """Seconds for VARIANT_FRAMES frames of all variants: one batched render, or one render per seed."""
    frames = 1 + VARIANT_FRAMES
    lanes = [{"name": f"seed{seed}", "seed": seed} for seed in VARIANT_SEEDS]
    configs = (
        [quickstart(b, frames=frames, variants=lanes)] if batched
        else [quickstart(b, frames=frames, seed=s) for s in VARIANT_SEEDS]
    )  # fmt: skip
    return sum(timed_frames(Renderer(config))[0] for config in configs)


def variants(b: Bench, batched: bool) -> Record:
    """Lanes render side by side in one batch, which should cost less than separate renders."""
    seconds = variant_seconds(b, batched)
    record = {"params": f"{len(VARIANT_SEEDS)} lanes, seeds {VARIANT_SEEDS}, frames 1-{VARIANT_FRAMES}, compute only"}
    if batched:
        record["speedup"] = variant_seconds(b, False) / seconds
    return {**record, **rate(seconds, VARIANT_FRAMES, len(VARIANT_SEEDS))}


@functools.cache
def every_seconds(b: Bench, every: int) -> float:
    """Seconds for EVERY_FRAMES output frames after frame 0 of the quickstart at this dream_every."""
    return timed_frames(Renderer(quickstart(b, frames=1 + EVERY_FRAMES, motion__dream_every=every)))[0]


def dream_every(b: Bench, every: int) -> Record:
    """Output frame rate with motion.dream_every; the speedup is against dreaming every frame."""
    seconds = every_seconds(b, every)
    record = {"params": f"frames 1-{EVERY_FRAMES}, compute only"}
    if every != 1:
        record["speedup"] = every_seconds(b, 1) / seconds
    return {**record, **rate(seconds, EVERY_FRAMES)}


def tiles_child(b: Bench, budget: int) -> Record:
    """In a child process: one TILE_SIZE frame dreamed in tiles, its time and this process's peak memory.

    The budget (pixels per forward pass) is patched into the module for this process only, since
    the package takes it from gradient's default argument and offers no setting for it.
    """
    zoomdream.dream.ascent.gradient = functools.partial(gradient, budget=budget)  # type: ignore[assignment]
    net, objective = feature_net(TILE_MODEL[0], TILE_MODEL[1], b.device)
    width, height = TILE_SIZE
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0)).to(b.device)
    octaves = octave_sizes(height, width, TILE_SETTINGS.octaves, TILE_SETTINGS.octave_scale, MIN_SIDE)
    steps = TILE_SETTINGS.steps * len(octaves)
    start = now(b.device)
    with torch.no_grad():
        dream(x, net, objective, TILE_SETTINGS, torch.Generator().manual_seed(0))
    seconds = now(b.device) - start
    return {"ms_per_step": seconds * 1e3 / steps, "fps": 1 / seconds, "seconds": seconds, "budget_px": budget,
            "peak_gib": peak_mem_mb(b.device) / 2**10}  # fmt: skip


def run_tiles_child(b: Bench, budget: int) -> Record:
    """tiles_child in a fresh interpreter, so the peak is this workload's own and not the whole run's."""
    cmd = [sys.executable, str(BENCH), "--device", str(b.device), "--tiles-child", str(budget)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def tiles(b: Bench) -> Record:
    """A 4K frame must dream within TILE_TARGET_GIB. Over it, smaller budgets are tried and the
    first that meets the target is reported, as a value for the package to adopt."""
    params = {"params": f"tile {TILE_SETTINGS.tile}, octaves {TILE_SETTINGS.octaves}, steps {TILE_SETTINGS.steps}, "
                        f"target < {TILE_TARGET_GIB:g} GiB"}  # fmt: skip
    first = record = run_tiles_child(b, TILE_BUDGETS[0])
    for budget in TILE_BUDGETS[1:]:
        if record["peak_gib"] < TILE_TARGET_GIB:
            break
        record = {**run_tiles_child(b, budget), "default_peak_gib": first["peak_gib"]}
    return {**params, **record}
