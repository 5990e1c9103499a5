"""End-to-end workloads: ``zoomdream.render`` as a user runs it (setup and encoding included),
the writer's overlap with the dream, and the plain-PyTorch baseline it must beat.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision

import baseline
import zoomdream
from common import CONFIG, DEFAULT, Bench, intervals, quickstart, scratch, timed_frames
from measure import Record, cpu_seconds, cpu_use, rate
from zoomdream.config import Config
from zoomdream.engine.renderer import Renderer
from zoomdream.io.writer import WriterThread
from zoomdream.run.folder import RenderFolder
from zoomdream.run.outputs import open_sinks

OVERLAP = {  # light dreaming and heavy writing, so that encoding is a large share of the work
    "size": [960, 540], "frames": 24, "dream__steps": 1, "dream__octaves": 1, "motion__dream_every": 4,
    "output__frames__bit_depth": 16, "output__checkpoint_every": 10_000,  # one video segment, no checkpoints
}  # fmt: skip
OVERLAP_PARTS = ("compute", "encode", "render")  # the render line compares itself with the other two
BASELINE_FRAMES = 5
BASELINE_RENDER = {  # the baseline's model and layer in zoomdream, writing only the video like the baseline
    "size": [960, 540], "model__name": "googlenet", "dream__objective": [{"layer": "inception4c"}],
    "output__frames": None,
}  # fmt: skip
PREVIEW_TARGET_S = 90.0


def end_to_end(b: Bench, overrides: dict[str, Any], frames: int) -> Record:
    """zoomdream.render as a user runs it: the frame loop with the writer thread encoding alongside."""
    with tempfile.TemporaryDirectory(dir=scratch()) as folder:
        start = time.perf_counter()
        result = zoomdream.render(CONFIG, frames=frames, output__dir=folder, device=str(b.device), **overrides)
        wall = time.perf_counter() - start
    return {"fps": result.frames / result.seconds, "ms_per_frame": result.seconds * 1e3 / result.frames, "wall_s": wall}


def preview(b: Bench) -> Record:
    """``zoomdream render configs/default.yaml --preview`` end to end (setup included), against its target."""
    with tempfile.TemporaryDirectory(dir=scratch()) as folder:
        start = time.perf_counter()
        result = zoomdream.render(DEFAULT, preview=True, overwrite=True, output__dir=folder, device=str(b.device))
        wall = time.perf_counter() - start
    return {"params": f"{result.frames} frames, target < {PREVIEW_TARGET_S:g} s", **rate(result.seconds, result.frames),
            "wall_s": wall, "vs_target": wall / PREVIEW_TARGET_S}  # fmt: skip


# -- the writer encodes while the next frame is dreamed ---------------------------------------


def overlap_config(b: Bench, part: str) -> Config:
    """The OVERLAP recipe writing into a folder of its own."""
    return quickstart(b, output__dir=str(scratch() / f"overlap-{part}"), **OVERLAP)


@functools.cache
def overlap_compute(b: Bench) -> tuple[Record, tuple[np.ndarray, ...]]:
    """The frame loop's compute for the OVERLAP frames, after a warm-up render of frame 0; keeps the frames."""
    config = overlap_config(b, "compute")
    next(intervals(Renderer(config)))
    cpu = cpu_seconds()
    seconds, frames = timed_frames(Renderer(config), warm=False)
    return {**rate(seconds, len(frames)), **cpu_use(cpu, seconds)}, tuple(frames)


@functools.cache
def overlap_encode(b: Bench) -> Record:
    """The same frames through the render's own sinks and writer thread, with nothing to compute."""
    config = overlap_config(b, "encode")
    frames = overlap_compute(b)[1]
    sinks, _ = open_sinks(config, RenderFolder.of(config), [])
    cpu, start = cpu_seconds(), time.perf_counter()
    writer = WriterThread(sinks)
    for t, frame in enumerate(frames):
        writer.put(t, frame)
    writer.close()
    seconds = time.perf_counter() - start
    return {**rate(seconds, len(frames)), **cpu_use(cpu, seconds)}


def overlap(b: Bench, part: str) -> Record:
    """The writer encodes while the next frame is dreamed, so a render takes about max(compute,
    encode), not their sum. The render line compares its loop time with both."""
    params = {"params": "PNG + MP4, " + ", ".join(f"{key.split('__')[-1]} {value}" for key, value in OVERLAP.items())}
    if part == "compute":
        return {**params, **overlap_compute(b)[0]}
    if part == "encode":
        return {**params, **overlap_encode(b)}
    cpu, start = cpu_seconds(), time.perf_counter()
    result = zoomdream.render(overlap_config(b, "render"))
    used = cpu_use(cpu, time.perf_counter() - start)
    compute, encode = overlap_compute(b)[0], overlap_encode(b)
    floor = (compute["cpu_s"] + encode["cpu_s"]) / (os.cpu_count() or 1)
    return {**params, **rate(result.seconds, result.frames),
            "total_over_max": result.seconds / max(compute["seconds"], encode["seconds"]),
            "total_over_sum": result.seconds / (compute["seconds"] + encode["seconds"]),
            "total_over_cpu_floor": result.seconds / floor, **used}  # fmt: skip


# -- the plain PyTorch baseline ---------------------------------------------------------------


@functools.cache
def googlenet_weights() -> Path:
    """A googlenet state dict with random weights (there is no network here); the same file for both sides."""
    path = scratch() / "googlenet.pth"
    torch.save(torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True).state_dict(), path)
    return path


def baseline_recipe(config: Config) -> baseline.Recipe:
    """The baseline's settings read from the zoomdream config it is compared with, so the work is the same."""
    d = config.dream
    assert d.objective  # BASELINE_RENDER names the layer; the numbers below are plain (no keyframes) in the quickstart
    return baseline.Recipe(
        layer=d.objective[0].layer, size=config.size, octaves=int(d.octaves), octave_scale=float(d.octave_scale),
        steps=int(d.steps), step_size=float(d.step_size), jitter=int(d.jitter), zoom=float(config.motion.zoom),
        fps=config.fps, seed=config.seed,
    )  # fmt: skip


@functools.cache
def baseline_seconds(b: Bench) -> float:
    """Wall seconds of benchmarks/baseline.py for BASELINE_FRAMES frames, the final ffmpeg run included."""
    config = quickstart(b, model__weights=str(googlenet_weights()), **BASELINE_RENDER)
    folder = scratch() / "baseline"
    folder.mkdir()
    return baseline.render(googlenet_weights(), folder, BASELINE_FRAMES, baseline_recipe(config), b.device)


def versus_baseline(b: Bench, plain: bool) -> Record:
    """zoomdream per frame against the plain baseline, both with setup and encoding included.

    zoomdream runs in fp32 here, as the baseline does, so the comparison is of the work saved,
    not of the precision.
    """
    d = quickstart(b).dream
    params = {"params": f"octaves {d.octaves}, steps {d.steps}, {BASELINE_FRAMES} frames, setup and encoding included"}
    if plain:
        return {**params, **rate(baseline_seconds(b), BASELINE_FRAMES)}
    overrides = {**BASELINE_RENDER, "model__weights": str(googlenet_weights()), "precision": "fp32"}
    record = end_to_end(b, overrides, BASELINE_FRAMES)
    return {**params, **rate(record["wall_s"], BASELINE_FRAMES), "loop_ms_per_frame": record["ms_per_frame"],
            "speedup": baseline_seconds(b) / record["wall_s"]}  # fmt: skip
