"""What the benchmark runs: each workload one small function that returns its figures as a dict.

Frames come from the renderer itself: compute-only workloads drive ``Renderer.frames()``,
end-to-end ones call ``zoomdream.render``. Comparisons (variants, overlap, dream_every, the
plain-PyTorch baseline, strength vs steps) are pairs or sets of workloads where the last one
carries the comparison; they have fixed sizes (not --repeat) so their lines stay comparable.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import imageio.v3 as iio
import numpy as np
import torch
import torchvision

import baseline
import zoomdream
import zoomdream.dream
from measure import FlopCount, Record, cpu_seconds, cpu_use, now, peak_mem_mb, rate
from zoomdream import models, objectives, sinks
from zoomdream.config import Config
from zoomdream.dream import MAX_BATCH_PIXELS, Objective, Settings, View, ascent_step, dream, octave_sizes
from zoomdream.outputs import RECORD, RenderResult, open_sinks
from zoomdream.render import Renderer, start_frame, to_host

ROOT = Path(__file__).resolve().parents[1]
CONFIG, DEFAULT = ROOT / "configs" / "quickstart.yaml", ROOT / "configs" / "default.yaml"
BENCH = Path(__file__).with_name("bench.py")
# The renderer calls dream() without min_side, so dream's default decides which octaves run.
MIN_SIDE: int = inspect.signature(dream).parameters["min_side"].default

ASCENT_MODELS = {  # the quickstart's model and layer, and the small bundled model on its own default layer
    "inception_v3_tf": ("mixed_3",),
    "efficientnet_lite0": tuple(models.default_layers("efficientnet_lite0")),
}
ASCENT_SIZES = (256, 512)
RENDERS: dict[str, dict[str, Any]] = {"quickstart": {}, "zoom_960x540": {"size": [960, 540]}}
VARIANT_SEEDS = (7, 2, 3, 4)  # the quickstart's own seed and three more
VARIANT_FRAMES = 3  # timed frames after frame 0, per render
EVERY_FRAMES = 12  # timed frames after frame 0; a multiple of 4, so dream_every 4 ends on a dreamed frame
OVERLAP = {  # light dreaming and heavy writing, so that encoding is a large share of the work
    "size": [960, 540], "frames": 24, "dream__steps": 1, "dream__octaves": 1, "motion__dream_every": 4,
    "output__frames__bit_depth": 16, "output__checkpoint_every": 10_000,  # one video segment, no checkpoints
}  # fmt: skip
OVERLAP_PARTS = ("compute", "encode", "render")  # the render line compares itself with the other two
TILE_SIZE, TILE_MODEL, TILE_SETTINGS = (3840, 2160), ("inception_v3_tf", ("mixed_3",)), Settings(steps=1, octaves=2)
TILE_TARGET_GIB = 6.0
TILE_BUDGETS = (MAX_BATCH_PIXELS, MAX_BATCH_PIXELS // 2, MAX_BATCH_PIXELS // 4, MAX_BATCH_PIXELS // 8)
BASELINE_FRAMES = 5
BASELINE_RENDER = {  # the baseline's model and layer in zoomdream, writing only the video like the baseline
    "size": [960, 540], "model__name": "googlenet", "dream__objective": [{"layer": "inception4c"}],
    "output__frames": None,
}  # fmt: skip
STRENGTH_SIZE = [320, 180]  # the smallest 16:9 size at which a 4-octave still keeps all 4 octaves
STRENGTH_STILL = (4, 10)  # octaves, steps per octave
STRENGTH_STEPS = (1, 2, 3)  # steps per octave per frame, at the quickstart's 2 octaves
STRENGTH_FRAMES, STRENGTH_LAST = 60, 10  # frames rendered; the last ones are the steady state
PREVIEW_TARGET_S = 90.0


@dataclass(frozen=True, eq=False)
class Bench:
    """What every workload shares: the device, --repeat, the peaks (GFLOP/s by dtype, filled
    before the first workload runs) and the --set overrides of the look workload."""

    device: torch.device
    repeat: int = 6
    peaks: dict[torch.dtype, float] = field(default_factory=dict)
    look_overrides: tuple[str, ...] = ()


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


# -- single ascent steps and the frame loop -------------------------------------------------


@functools.cache
def feature_net(name: str, layers: tuple[str, ...], device: torch.device) -> tuple[Any, Objective]:
    """The network exactly as a render prepares it (layout, cuDNN autotuning, compile) and its objective."""
    terms = [{"layer": layer} for layer in layers]
    config = zoomdream.load_config({"model": {"name": name}, "dream": {"objective": terms}, "device": str(device)})
    renderer = Renderer(config)
    return renderer.net, scored(renderer)


def ascent(b: Bench, name: str, layers: tuple[str, ...], size: int) -> Record:
    """Median time of one batch-1 fp32 ascent step on a size x size image, and its FLOP rate."""
    net, objective = feature_net(name, layers, b.device)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, size, size, generator=generator).to(b.device)
    with FlopCount() as count:  # doubles as the warm-up: the kernels run as usual under the counter
        x = ascent_step(x, net, objective, Settings(), generator)
    times = []
    for _ in range(b.repeat):
        start = now(b.device)
        x = ascent_step(x, net, objective, Settings(), generator)
        times.append(now(b.device) - start)
    seconds, peak = statistics.median(times), b.peaks[torch.float32]
    gflops = count.total / 1e9 / seconds
    return {"ms_per_step": seconds * 1e3, "peak_fraction": gflops / peak, "gflop_per_step": count.total / 1e9,
            "gflops": gflops, "peak_gflops": peak, "dtype": "float32"}  # fmt: skip


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
    dtype = renderer.dtype or torch.float32
    gflops = count.total / 1e9 / seconds
    return {"size": list(renderer.config.size), "ms_per_step": seconds * 1e3 / steps if steps else None,
            "fps": every / seconds, "peak_fraction": gflops / b.peaks[dtype], "ms_per_frame": seconds * 1e3 / every,
            "steps_per_frame": steps / every, "gflop_per_step": count.total / 1e9 / counted if counted else None,
            "gflops": gflops, "peak_gflops": b.peaks[dtype], "dtype": str(dtype).removeprefix("torch.")}  # fmt: skip


def end_to_end(b: Bench, overrides: dict[str, Any], frames: int) -> Record:
    """zoomdream.render as a user runs it: the frame loop with the writer thread encoding alongside."""
    with tempfile.TemporaryDirectory(dir=scratch()) as folder:
        start = time.perf_counter()
        result = zoomdream.render(
            CONFIG, quiet=True, frames=frames, output__dir=folder, device=str(b.device), **overrides
        )
        wall = time.perf_counter() - start
    return {"fps": result.frames / result.seconds, "ms_per_frame": result.seconds * 1e3 / result.frames, "wall_s": wall}


def preview(b: Bench) -> Record:
    """``zoomdream render configs/default.yaml --preview`` end to end (setup included), against its target."""
    with tempfile.TemporaryDirectory(dir=scratch()) as folder:
        start = time.perf_counter()
        result = zoomdream.render(
            DEFAULT, preview=True, quiet=True, overwrite=True, output__dir=folder, device=str(b.device)
        )
        wall = time.perf_counter() - start
    return {"params": f"{result.frames} frames, target < {PREVIEW_TARGET_S:g} s", **rate(result.seconds, result.frames),
            "wall_s": wall, "vs_target": wall / PREVIEW_TARGET_S}  # fmt: skip


# -- design §6 claims -----------------------------------------------------------------------


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
    opened, _ = open_sinks(config, [], RenderResult(config.output_dir()))
    cpu, start = cpu_seconds(), time.perf_counter()
    writer = sinks.WriterThread(opened)
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
    result = zoomdream.render(overlap_config(b, "render"), quiet=True)
    used = cpu_use(cpu, time.perf_counter() - start)
    compute, encode = overlap_compute(b)[0], overlap_encode(b)
    floor = (compute["cpu_s"] + encode["cpu_s"]) / (os.cpu_count() or 1)
    return {**params, **rate(result.seconds, result.frames),
            "total_over_max": result.seconds / max(compute["seconds"], encode["seconds"]),
            "total_over_sum": result.seconds / (compute["seconds"] + encode["seconds"]),
            "total_over_cpu_floor": result.seconds / floor, **used}  # fmt: skip


def tiles_child(b: Bench, budget: int) -> Record:
    """In a child process: one TILE_SIZE frame dreamed in tiles, its time and this process's peak memory.

    The budget (pixels per forward pass) is patched into the module for this process only, since
    the package takes it from gradient's default argument and offers no setting for it.
    """
    zoomdream.dream.gradient = functools.partial(zoomdream.dream.gradient, budget=budget)
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
    """zoomdream per frame against the plain baseline, both with setup and encoding included."""
    d = quickstart(b).dream
    params = {"params": f"octaves {d.octaves}, steps {d.steps}, {BASELINE_FRAMES} frames, setup and encoding included"}
    if plain:
        return {**params, **rate(baseline_seconds(b), BASELINE_FRAMES)}
    record = end_to_end(b, {**BASELINE_RENDER, "model__weights": str(googlenet_weights())}, BASELINE_FRAMES)
    return {**params, **rate(record["wall_s"], BASELINE_FRAMES), "loop_ms_per_frame": record["ms_per_frame"],
            "speedup": baseline_seconds(b) / record["wall_s"]}  # fmt: skip


# -- how strong the dream is, and how much it boils ---------------------------------------------


def strength_of(net: Any, objective: Objective, frames: torch.Tensor) -> float:
    """The mean objective of frames (n, 3, H, W), scored as the dream scores them."""
    with torch.no_grad():
        return float(objective(View(net(frames), frames)).mean())


def read_frames(folder: Path, indices: range) -> torch.Tensor:
    """Frames of a render's 16-bit PNG sequence as (n, 3, H, W) floats in [0, 1]."""
    pixels = [iio.imread(folder / f"{i:06d}.png", plugin="opencv", flags=cv2.IMREAD_UNCHANGED) for i in indices]
    return torch.from_numpy(np.stack(pixels).astype(np.float32) / 65535).permute(0, 3, 1, 2).contiguous()


def strength_and_boil(overrides: Sequence[str], frames: int = STRENGTH_FRAMES, device: str = "auto") -> Record:
    """The quickstart at 320x180 with ``--set`` style overrides (``["dream.step_size=0.01"]``, which
    may change the size too) rendered for ``frames`` frames (at least 20): how strong its dream is
    once the zoom is in its steady state, and how much the picture boils.

    strength: the mean of the render's own objective (lane 0, last frame's weights) over the last
    STRENGTH_LAST frames; trend: that against the STRENGTH_LAST frames before; boil: the median of
    the look curve written into render.json (what ``zoomdream look`` judges), boil_steady: its
    median over the same last frames.
    """
    if frames < 2 * STRENGTH_LAST:
        raise ValueError(f"strength_and_boil needs at least {2 * STRENGTH_LAST} frames for its trend, not {frames}")
    folder = Path(tempfile.mkdtemp(dir=scratch()))
    try:
        config = zoomdream.load_config(CONFIG, [f"size={STRENGTH_SIZE}", *overrides], frames=frames, device=device,
                                       output__dir=str(folder), output__frames={"format": "png", "bit_depth": 16})  # fmt: skip
        result = zoomdream.render(config, quiet=True)
        assert result.frames_dir is not None
        boil = next(iter(json.loads((folder / RECORD).read_text())["look"].values()))["boil"]
        renderer = Renderer(config)
        objective = scored(renderer, frames - 1)
        last, before = range(frames - STRENGTH_LAST, frames), range(frames - 2 * STRENGTH_LAST, frames - STRENGTH_LAST)
        value = strength_of(renderer.net, objective, read_frames(result.frames_dir, last).to(renderer.device))
        earlier = strength_of(renderer.net, objective, read_frames(result.frames_dir, before).to(renderer.device))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "strength": value, "trend": value / earlier - 1,
        "boil": statistics.median(x for x in boil if x is not None), "boil_steady": statistics.median(boil[i] for i in last),
        "steps_per_frame": ascent_steps(renderer, frames - 1), **rate(result.seconds, result.frames),
    }  # fmt: skip


@functools.cache
def still_strength(b: Bench) -> Record:
    """A classic still-image dream from the zoom's own start noise: STRENGTH_STILL octaves and steps."""
    renderer = Renderer(quickstart(b, size=STRENGTH_SIZE))
    octaves, steps = STRENGTH_STILL
    settings = dataclasses.replace(renderer.planners[0].at(0).settings, octaves=octaves, steps=steps)
    x = start_frame(renderer.config).to(b.device)
    start = now(b.device)
    with torch.no_grad():
        still = dream(x, renderer.net, scored(renderer), settings, torch.Generator().manual_seed(renderer.config.seed))
    seconds = now(b.device) - start
    total = steps * len(octave_sizes(*still.shape[-2:], octaves, settings.octave_scale, MIN_SIDE))
    value = strength_of(renderer.net, scored(renderer), still)
    return {"strength": value, "steps_per_frame": total, "seconds": seconds}


def strength(b: Bench, steps: int | None) -> Record:
    """How few steps per frame a zoom needs to reach a still image's dream strength (steps None: the still)."""
    still = still_strength(b)
    if steps is None:
        return {"params": f"octaves {STRENGTH_STILL[0]}, steps {STRENGTH_STILL[1]}", **still}
    record = strength_and_boil([f"dream.steps={steps}"], STRENGTH_FRAMES, str(b.device))
    params = f"steps {steps}, mean of frames {STRENGTH_FRAMES - STRENGTH_LAST}-{STRENGTH_FRAMES - 1}, with encoding"
    return {"params": params, **record, "vs_still": record["strength"] / still["strength"]}


def look(b: Bench) -> Record:
    """Steady-state strength and boil of the quickstart with the --set overrides, for comparing calmer dreams."""
    params = f"{' '.join(b.look_overrides) or 'no overrides'}, {STRENGTH_FRAMES} frames"
    return {"params": params, **strength_and_boil(b.look_overrides, STRENGTH_FRAMES, str(b.device))}


# -- every workload by name ---------------------------------------------------------------


def wxh(size: Sequence[int]) -> str:
    return "x".join(map(str, size))


def named(b: Bench) -> list[tuple[str, Any]]:
    """Every workload by name, not yet run, so --only can pick before anything is measured."""
    p, quick = functools.partial, f"quickstart_{wxh(quickstart(b).size)}"
    found: list[tuple[str, Any]] = [
        (f"ascent/{name}:{'+'.join(layers)}/{size}", p(ascent, b, name, layers, size))
        for name, layers in ASCENT_MODELS.items() for size in ASCENT_SIZES
    ]  # fmt: skip
    found += [(f"render/{label}", p(render_loop, b, overrides)) for label, overrides in RENDERS.items()]
    found += [(f"e2e/{label}", p(end_to_end, b, overrides, b.repeat)) for label, overrides in RENDERS.items()]
    found.append(("preview/default", p(preview, b)))
    config = quickstart(b)
    assert config.dream.objective
    lanes, dreamer = len(VARIANT_SEEDS), f"{config.model.name}:{config.dream.objective[0].layer}"
    found += [(f"variants/{quick}/separate_x{lanes}", p(variants, b, False)),
              (f"variants/{quick}/batched_x{lanes}", p(variants, b, True))]  # fmt: skip
    found += [(f"overlap/{wxh(OVERLAP['size'])}/{part}", p(overlap, b, part)) for part in OVERLAP_PARTS]
    found += [(f"dream_every/{quick}/every_{k}", p(dream_every, b, k)) for k in (1, 4)]
    found.append((f"tiles/{TILE_MODEL[0]}:{TILE_MODEL[1][0]}/{wxh(TILE_SIZE)}", p(tiles, b)))
    base = f"baseline/googlenet_{wxh(BASELINE_RENDER['size'])}"
    found += [(f"{base}/{side}", p(versus_baseline, b, side == "plain_pytorch")) for side in ("plain_pytorch", "zoomdream")]
    for steps in (None, *STRENGTH_STEPS):
        name = f"still_{STRENGTH_STILL[0]}x{STRENGTH_STILL[1]}" if steps is None else f"zoom_steps_{steps}"
        found.append((f"strength/{dreamer}/{wxh(STRENGTH_SIZE)}/{name}", p(strength, b, steps)))
    found.append((f"look/quickstart_{wxh(STRENGTH_SIZE)}", p(look, b)))
    return found
