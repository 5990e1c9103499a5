"""How fast zoomdream dreams on this machine, against this machine's own peak (design §6).

    .venv/bin/python benchmarks/bench.py                      # every workload, one line each
    .venv/bin/python benchmarks/bench.py --json --only render --repeat 3

Workloads: a square fp32 matmul (the peak, measured in the same run so the fraction stays
honest on a busy or throttled machine), single ascent steps exactly as the renderer takes them,
the renderer's frame loop, and whole renders including encoding. Then the claims of design §6
and the issue, each as a pair or set of lines where the last one carries the comparison:
variants batched against separate renders, the writer overlapping the dream, dream_every,
a 4K frame's peak memory (in a child process), a plain PyTorch baseline (benchmarks/baseline.py)
and the dream's strength against the steps it costs. Each line carries the load average,
because on a shared CPU that explains more of the spread than anything else.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import functools
import inspect
import json
import operator
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torchvision
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import baseline
import zoomdream
import zoomdream.dream
from zoomdream import models, sinks
from zoomdream.config import Config
from zoomdream.dream import MAX_BATCH_PIXELS, Objective, Settings, activation, ascent_step, dream, octave_sizes
from zoomdream.outputs import RenderResult, open_sinks
from zoomdream.render import Renderer, RenderError, autocast_dtype, build_objective, pick_device, start_frame, to_host

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml"
# The quickstart's model and layer, and the small bundled model on its own default layer.
ASCENT_MODELS = {
    "inception_v3_tf": ("mixed_3",),
    "efficientnet_lite0": tuple(models.default_layers("efficientnet_lite0")),
}
ASCENT_SIZES = (256, 512)
RENDERS: dict[str, dict[str, Any]] = {"quickstart": {}, "zoom_960x540": {"size": [960, 540]}}
# The renderer calls dream() without min_side, so dream's default decides which octaves run.
MIN_SIDE: int = inspect.signature(dream).parameters["min_side"].default

# The comparisons below have fixed sizes (not --repeat), so their lines stay comparable between runs.
VARIANT_SEEDS = (7, 2, 3, 4)  # the quickstart's own seed and three more
VARIANT_FRAMES = 3  # timed frames after frame 0, per render
EVERY_FRAMES = 12  # timed output frames after frame 0; a multiple of 4, so dream_every 4 ends on a dreamed frame
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

Record = dict[str, Any]
Peaks = dict[torch.dtype, float]  # measured matmul GFLOP/s by dtype
Workload = tuple[str, Callable[[], Record]]


class FlopCount(TorchDispatchMode):
    """FLOPs of the ops run inside, by torch's own formulas (convolutions, matmuls, their backwards).

    Not FlopCounterMode itself: its module tracker breaks torch.autograd.grad with respect to a
    leaf that is the network's input, which is exactly how the dream takes its gradient
    (pytorch/pytorch#131753).
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def now(device: torch.device) -> float:
    """A timestamp after the device has finished its queued work, so kernels are timed, not launches."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
    return time.perf_counter()


def peak_mem_mb(device: torch.device) -> float:
    """CUDA: the most memory torch held during the workload. Elsewhere: the process's max RSS so far."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def matmul_peak(device: torch.device, dtype: torch.dtype, repeat: int) -> Record:
    """Best-of-N GFLOP/s of one square matmul: the practical ceiling for dense math on this device.

    On CUDA fp32 matmul runs without TF32 (torch's default) while cuDNN convolutions may use it,
    so an fp32 ascent step there can in principle exceed this "peak".
    """
    n = 8192 if device.type == "cuda" else 2048
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    for _ in range(2):
        torch.matmul(a, b)
    best = float("inf")
    for _ in range(max(repeat, 3)):
        start = now(device)
        torch.matmul(a, b)
        best = min(best, now(device) - start)
    gflops = 2 * n**3 / best / 1e9
    return {"workload": f"peak/matmul_{str(dtype).removeprefix('torch.')}_{n}", "gflops": gflops, "peak_gflops": gflops}


@functools.cache
def feature_net(name: str, layers: tuple[str, ...], device: torch.device) -> tuple[Any, Objective]:
    """The network exactly as a render prepares it, and the L2 objective on its layers.

    Built through Renderer so the CUDA layout, cuDNN autotuning and compile option match a render;
    loaded once per model and device.
    """
    terms = [{"layer": layer} for layer in layers]
    config = zoomdream.load_config({"model": {"name": name}, "dream": {"objective": terms}, "device": str(device)})
    return Renderer(config).net, functools.reduce(operator.add, map(activation, layers))


def ascent(name: str, layers: tuple[str, ...], size: int, device: torch.device, repeat: int, peaks: Peaks) -> Record:
    """Median time of one batch-1 fp32 ascent step on a size x size image, and its FLOP rate."""
    net, objective = feature_net(name, layers, device)
    settings = Settings()
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, size, size, generator=generator).to(device)
    with FlopCount() as count:  # doubles as the warm-up: the kernels run as usual under the counter
        x = ascent_step(x, net, objective, settings, generator)
    times = []
    for _ in range(repeat):
        start = now(device)
        x = ascent_step(x, net, objective, settings, generator)
        times.append(now(device) - start)
    seconds = statistics.median(times)
    gflops = count.total / 1e9 / seconds
    peak = peaks[torch.float32]
    return {
        "ms_per_step": seconds * 1e3,
        "peak_fraction": gflops / peak,
        "gflop_per_step": count.total / 1e9,
        "gflops": gflops,
        "peak_gflops": peak,
        "dtype": "float32",
    }


def ascent_steps(renderer: Renderer, t: int) -> int:
    """Ascent steps the renderer takes on dreamed frame t: steps per octave times the octaves not dropped."""
    settings = renderer.planners[0].at(t).settings
    if renderer.net is None or settings.steps == 0:
        return 0
    width, height = renderer.config.size
    return settings.steps * len(octave_sizes(height, width, settings.octaves, settings.octave_scale, MIN_SIDE))


def render_loop(overrides: dict[str, Any], device: torch.device, repeat: int, peaks: Peaks) -> Record:
    """The render loop's compute without the writer: median time per dreamed frame and the frames between.

    Frame 0 warms up and is FLOP-counted; then each of repeat iterations dreams frame t from
    frame t - dream_every and makes the frames between, as zoomdream.render does.
    """
    config = zoomdream.load_config(CONFIG, device=str(device), **overrides)
    renderer = Renderer(config)
    every = renderer.every
    times, steps = [], []
    with torch.no_grad():
        with FlopCount() as count:
            x = renderer.step(None, 0)
        for t in range(every, (repeat + 1) * every, every):
            start = now(device)
            after = renderer.step(x, t)
            renderer.tweens(x, after, t - every)
            x = after
            times.append(now(device) - start)
            steps.append(ascent_steps(renderer, t))
    seconds = statistics.median(times)
    dreamed_steps = statistics.mean(steps)
    counted_steps = ascent_steps(renderer, 0)
    dtype = renderer.dtype or torch.float32
    gflops = count.total / 1e9 / seconds
    return {
        "size": list(config.size),
        "ms_per_step": seconds * 1e3 / dreamed_steps if dreamed_steps else None,
        "fps": every / seconds,
        "peak_fraction": gflops / peaks[dtype],
        "ms_per_frame": seconds * 1e3 / every,
        "steps_per_frame": dreamed_steps / every,
        "gflop_per_step": count.total / 1e9 / counted_steps if counted_steps else None,
        "gflops": gflops,
        "peak_gflops": peaks[dtype],
        "dtype": str(dtype).removeprefix("torch."),
    }


def render_end_to_end(overrides: dict[str, Any], device: torch.device, repeat: int) -> Record:
    """zoomdream.render as a user runs it: the frame loop with the writer thread encoding alongside."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = zoomdream.render(
            CONFIG, quiet=True, frames=repeat, output__dir=folder, device=str(device), **overrides
        )
        wall = time.perf_counter() - start
    return {
        "fps": result.frames / result.seconds,
        "ms_per_frame": result.seconds * 1e3 / result.frames,
        "wall_s": wall,
    }


def quickstart(device: torch.device, **overrides: Any) -> Config:
    """The quickstart recipe on the benchmark's device, with keyword overrides (``dream__steps=1``)."""
    return zoomdream.load_config(CONFIG, device=str(device), **overrides)


def frame_loop(renderer: Renderer, count: int) -> Iterator[np.ndarray]:
    """zoomdream.render's loop without the writer: the first ``count`` output frames (B, H, W, 3) on the host.

    Call it under torch.no_grad, as the render does.
    """
    x, t = None, 0
    while t < count:
        frames, x = renderer.interval(x, t)
        for frame in to_host(frames[: count - t], exact=True):
            yield frame
            t += 1


def timed_frames(renderer: Renderer, count: int, skip: int = 0) -> tuple[float, list[np.ndarray]]:
    """Seconds for output frames skip .. count-1 and all the frames.

    skip=1 leaves out frame 0, which warms up the kernels and is not a zoom step.
    """
    frames: list[np.ndarray] = []
    start = now(renderer.device)
    with torch.no_grad():
        for frame in frame_loop(renderer, count):
            frames.append(frame)
            if len(frames) == skip:
                start = now(renderer.device)
    return now(renderer.device) - start, frames


def rate(seconds: float, frames: int, lanes: int = 1) -> Record:
    """fps counts every lane's frames; ms_per_frame is one output frame of all lanes."""
    return {"fps": frames * lanes / seconds, "ms_per_frame": seconds * 1e3 / frames, "seconds": seconds}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg counts once it has exited)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@functools.cache
def scratch() -> Path:
    """A temporary folder for the whole run (weights files, renders), removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="zoomdream-bench-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@functools.cache
def variant_seconds(device: torch.device, batched: bool) -> float:
    """Seconds for VARIANT_FRAMES frames of all variants: one batched render, or one render per seed."""
    lanes = [{"name": f"seed{seed}", "seed": seed} for seed in VARIANT_SEEDS]
    configs = [quickstart(device, variants=lanes)] if batched else [quickstart(device, seed=s) for s in VARIANT_SEEDS]
    return sum(timed_frames(Renderer(config), 1 + VARIANT_FRAMES, skip=1)[0] for config in configs)


def variants(device: torch.device, batched: bool) -> Record:
    """Design §6: lanes render side by side in one batch, which should cost less than separate renders."""
    seconds = variant_seconds(device, batched)
    record = {"params": f"{len(VARIANT_SEEDS)} lanes, seeds {VARIANT_SEEDS}, frames 1-{VARIANT_FRAMES}, compute only"}
    if batched:
        record["speedup"] = variant_seconds(device, False) / seconds
    return {**record, **rate(seconds, VARIANT_FRAMES, len(VARIANT_SEEDS))}


@functools.cache
def every_seconds(device: torch.device, every: int) -> float:
    """Seconds for EVERY_FRAMES output frames after frame 0 of the quickstart at this dream_every."""
    renderer = Renderer(quickstart(device, frames=1 + EVERY_FRAMES, motion__dream_every=every))
    return timed_frames(renderer, 1 + EVERY_FRAMES, skip=1)[0]


def dream_every(device: torch.device, every: int) -> Record:
    """Output frame rate with motion.dream_every; the speedup is against dreaming every frame."""
    seconds = every_seconds(device, every)
    record = {"params": f"frames 1-{EVERY_FRAMES}, compute only"}
    if every != 1:
        record["speedup"] = every_seconds(device, 1) / seconds
    return {**record, **rate(seconds, EVERY_FRAMES)}


def overlap_config(device: torch.device, folder: Path) -> Config:
    """The OVERLAP recipe writing into folder; each of the three measurements gets its own."""
    return quickstart(device, output__dir=str(folder), **OVERLAP)


def cpu_use(since: float, wall: float) -> Record:
    """CPU seconds since ``since`` (a cpu_seconds() reading) and the share of the cores they kept busy.

    Near 1 the work is CPU-bound, so work overlapped with it can only take cores away from it.
    """
    cpu = cpu_seconds() - since
    return {"cpu_s": cpu, "cpu_busy": cpu / wall / (os.cpu_count() or 1)}


@functools.cache
def overlap_compute(device: torch.device) -> tuple[Record, tuple[np.ndarray, ...]]:
    """The render loop's compute for the OVERLAP frames, after a warm-up frame; keeps the frames for encoding."""
    config = overlap_config(device, scratch() / "overlap-compute")
    with torch.no_grad():
        Renderer(config).step(None, 0)
    cpu = cpu_seconds()
    seconds, frames = timed_frames(Renderer(config), config.frame_count)
    return {**rate(seconds, len(frames)), **cpu_use(cpu, seconds)}, tuple(frames)


@functools.cache
def overlap_encode(device: torch.device) -> Record:
    """The same frames through the render's own sinks and writer thread, with nothing to compute."""
    config = overlap_config(device, scratch() / "overlap-encode")
    frames = overlap_compute(device)[1]
    opened, _ = open_sinks(config, [], RenderResult(config.output_dir()))
    cpu, start = cpu_seconds(), time.perf_counter()
    writer = sinks.WriterThread(opened)
    for t, frame in enumerate(frames):
        writer.put(t, frame)
    writer.close()
    seconds = time.perf_counter() - start
    return {**rate(seconds, len(frames)), **cpu_use(cpu, seconds)}


def overlap(device: torch.device, part: str) -> Record:
    """Design §6: the writer encodes while the next frame is dreamed, so a render takes about
    max(compute, encode), not their sum. The render line compares its loop time with both.
    """
    params = {"params": "PNG + MP4, " + ", ".join(f"{key.split('__')[-1]} {value}" for key, value in OVERLAP.items())}
    if part == "compute":
        return {**params, **overlap_compute(device)[0]}
    if part == "encode":
        return {**params, **overlap_encode(device)}
    config = overlap_config(device, scratch() / "overlap-render")
    cpu, start = cpu_seconds(), time.perf_counter()
    result = zoomdream.render(config, quiet=True)
    used = cpu_use(cpu, time.perf_counter() - start)
    compute, encode = overlap_compute(device)[0], overlap_encode(device)
    floor = (compute["cpu_s"] + encode["cpu_s"]) / (os.cpu_count() or 1)
    return {
        **params,
        **rate(result.seconds, result.frames),
        "total_over_max": result.seconds / max(compute["seconds"], encode["seconds"]),
        "total_over_sum": result.seconds / (compute["seconds"] + encode["seconds"]),
        "total_over_cpu_floor": result.seconds / floor,
        **used,
    }


def tiles_child(device: torch.device, budget: int) -> Record:
    """In a child process: one TILE_SIZE frame dreamed in tiles, its time and this process's peak memory.

    The budget (pixels per forward pass) is patched into the module for this process only, since
    the package takes it from gradient's default argument and offers no setting for it.
    """
    zoomdream.dream.gradient = functools.partial(zoomdream.dream.gradient, budget=budget)
    net, objective = feature_net(TILE_MODEL[0], TILE_MODEL[1], device)
    width, height = TILE_SIZE
    x = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0)).to(device)
    octaves = octave_sizes(height, width, TILE_SETTINGS.octaves, TILE_SETTINGS.octave_scale, MIN_SIDE)
    steps = TILE_SETTINGS.steps * len(octaves)
    start = now(device)
    with torch.no_grad():
        dream(x, net, objective, TILE_SETTINGS, torch.Generator().manual_seed(0))
    seconds = now(device) - start
    return {"ms_per_step": seconds * 1e3 / steps, "fps": 1 / seconds, "seconds": seconds, "budget_px": budget,
            "peak_gib": peak_mem_mb(device) / 2**10}  # fmt: skip


def run_tiles_child(device: torch.device, budget: int) -> Record:
    """tiles_child in a fresh interpreter, so the peak is this workload's own and not the whole run's."""
    cmd = [sys.executable, __file__, "--device", str(device), "--tiles-child", str(budget)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def tiles(device: torch.device) -> Record:
    """Design §6 tiles: a 4K frame must dream within TILE_TARGET_GIB. Over it, smaller budgets are
    tried and the first that meets the target is reported, as a value for the package to adopt.
    """
    params = {"params": f"tile {TILE_SETTINGS.tile}, octaves {TILE_SETTINGS.octaves}, steps {TILE_SETTINGS.steps}, "
                        f"target < {TILE_TARGET_GIB:g} GiB"}  # fmt: skip
    first = record = run_tiles_child(device, TILE_BUDGETS[0])
    for budget in TILE_BUDGETS[1:]:
        if record["peak_gib"] < TILE_TARGET_GIB:
            break
        record = {**run_tiles_child(device, budget), "default_peak_gib": first["peak_gib"]}
    return {**params, **record}


@functools.cache
def googlenet_weights() -> Path:
    """A googlenet state dict with random weights (there is no network here); the same file for both sides."""
    path = scratch() / "googlenet.pth"
    net = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)
    torch.save(net.state_dict(), path)
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
def baseline_seconds(device: torch.device) -> float:
    """Wall seconds of benchmarks/baseline.py for BASELINE_FRAMES frames, the final ffmpeg run included."""
    config = quickstart(device, model__weights=str(googlenet_weights()), **BASELINE_RENDER)
    folder = scratch() / "baseline"
    folder.mkdir()
    return baseline.render(googlenet_weights(), folder, BASELINE_FRAMES, baseline_recipe(config), device)


def versus_baseline(device: torch.device, plain: bool) -> Record:
    """The issue's target: zoomdream at least 1.6x faster per frame than the plain baseline.

    zoomdream's figure is the whole zoomdream.render call, setup and encoding included.
    """
    d = quickstart(device).dream
    params = {"params": f"octaves {d.octaves}, steps {d.steps}, {BASELINE_FRAMES} frames, setup and encoding included"}
    if plain:
        return {**params, **rate(baseline_seconds(device), BASELINE_FRAMES)}
    overrides = {**BASELINE_RENDER, "model__weights": str(googlenet_weights())}
    record = render_end_to_end(overrides, device, BASELINE_FRAMES)
    return {**params, **rate(record["wall_s"], BASELINE_FRAMES), "loop_ms_per_frame": record["ms_per_frame"],
            "speedup": baseline_seconds(device) / record["wall_s"]}  # fmt: skip


def strength_of(net: Any, objective: Objective, frames: Sequence[np.ndarray], device: torch.device) -> float:
    """The mean objective of host frames (n, H, W, 3), scored as the dream scores them."""
    x = torch.from_numpy(np.concatenate(frames)).permute(0, 3, 1, 2).to(device)
    with torch.no_grad():
        return float(objective(net(x)).mean())


@functools.cache
def still_strength(device: torch.device) -> Record:
    """A classic still-image dream from the zoom's own start noise: STRENGTH_STILL octaves and steps."""
    renderer = Renderer(quickstart(device, size=STRENGTH_SIZE))
    octaves, steps = STRENGTH_STILL
    settings = dataclasses.replace(renderer.planners[0].at(0).settings, octaves=octaves, steps=steps)
    objective = build_objective(renderer.lanes[0], renderer.planners[0].at(0))
    x = start_frame(renderer.config).to(device)
    start = now(device)
    with torch.no_grad():
        still = dream(x, renderer.net, objective, settings, torch.Generator().manual_seed(renderer.config.seed))
    seconds = now(device) - start
    height, width = still.shape[-2:]
    total = steps * len(octave_sizes(height, width, octaves, settings.octave_scale, MIN_SIDE))
    value = strength_of(renderer.net, objective, [to_host(still[None], exact=True)[0]], device)
    return {"strength": value, "steps_per_frame": total, "seconds": seconds}


def strength(device: torch.device, steps: int | None) -> Record:
    """The issue: how few steps per frame a zoom needs to reach a still image's dream strength.

    Strength is the mean objective of the last STRENGTH_LAST frames, once the zoom is in its
    steady state; steps None is the still image itself.
    """
    still = still_strength(device)
    if steps is None:
        return {"params": f"octaves {STRENGTH_STILL[0]}, steps {STRENGTH_STILL[1]}", **still}
    renderer = Renderer(quickstart(device, size=STRENGTH_SIZE, frames=STRENGTH_FRAMES, dream__steps=steps))
    seconds, frames = timed_frames(renderer, STRENGTH_FRAMES, skip=1)
    objective = build_objective(renderer.lanes[0], renderer.planners[0].at(STRENGTH_FRAMES - 1))
    value = strength_of(renderer.net, objective, frames[-STRENGTH_LAST:], device)
    before = strength_of(renderer.net, objective, frames[-2 * STRENGTH_LAST : -STRENGTH_LAST], device)
    return {
        "params": f"octaves {renderer.config.dream.octaves}, steps {steps}, "
                  f"mean of frames {STRENGTH_FRAMES - STRENGTH_LAST}-{STRENGTH_FRAMES - 1}",
        "strength": value,
        "vs_still": value / still["strength"],
        "trend": value / before - 1,
        "steps_per_frame": ascent_steps(renderer, 1),
        **rate(seconds, STRENGTH_FRAMES - 1),
    }


def wxh(size: Sequence[int]) -> str:
    return "x".join(map(str, size))


def comparisons(device: torch.device) -> list[Workload]:
    """The §6 and issue claims, each a few lines whose last one carries the comparison."""
    config = quickstart(device)
    assert config.dream.objective
    quick, dreamer = f"quickstart_{wxh(config.size)}", f"{config.model.name}:{config.dream.objective[0].layer}"
    lanes, p = len(VARIANT_SEEDS), functools.partial
    found: list[Workload] = [
        (f"variants/{quick}/separate_x{lanes}", p(variants, device, False)),
        (f"variants/{quick}/batched_x{lanes}", p(variants, device, True)),
        *[(f"overlap/{wxh(OVERLAP['size'])}/{part}", p(overlap, device, part)) for part in OVERLAP_PARTS],
        *[(f"dream_every/{quick}/every_{k}", p(dream_every, device, k)) for k in (1, 4)],
        (f"tiles/{TILE_MODEL[0]}:{TILE_MODEL[1][0]}/{wxh(TILE_SIZE)}", p(tiles, device)),
        (f"baseline/googlenet_{wxh(BASELINE_RENDER['size'])}/plain_pytorch", p(versus_baseline, device, True)),
        (f"baseline/googlenet_{wxh(BASELINE_RENDER['size'])}/zoomdream", p(versus_baseline, device, False)),
    ]
    for steps in (None, *STRENGTH_STEPS):
        name = f"still_{STRENGTH_STILL[0]}x{STRENGTH_STILL[1]}" if steps is None else f"zoom_steps_{steps}"
        found.append((f"strength/{dreamer}/{wxh(STRENGTH_SIZE)}/{name}", p(strength, device, steps)))
    return found


def workloads(device: torch.device, repeat: int, peaks: Peaks) -> list[Workload]:
    """Every workload by name, not yet run, so --only can pick before anything is measured.

    peaks (GFLOP/s by dtype) may still be empty here; it is filled before the first workload runs.
    """
    found: list[Workload] = []
    for name, layers in ASCENT_MODELS.items():
        for size in ASCENT_SIZES:
            run = functools.partial(ascent, name, layers, size, device, repeat, peaks)
            found.append((f"ascent/{name}:{'+'.join(layers)}/{size}", run))
    for label, overrides in RENDERS.items():
        found.append((f"render/{label}", functools.partial(render_loop, overrides, device, repeat, peaks)))
    for label, overrides in RENDERS.items():
        found.append((f"e2e/{label}", functools.partial(render_end_to_end, overrides, device, repeat)))
    return found + comparisons(device)


def finish(record: Record, device: torch.device) -> Record:
    """The keys every line has, with floats cut to 4 significant digits."""
    full = {"workload": record["workload"], "ms_per_step": None, "fps": None, "peak_fraction": None, **record}
    full.update(device=str(device), threads=torch.get_num_threads(), peak_mem_mb=peak_mem_mb(device),
                loadavg_1m=os.getloadavg()[0])
    return {key: float(f"{v:.4g}") if isinstance(v, float) else v for key, v in full.items()}


HUMAN: tuple[tuple[str, str], ...] = (
    ("speedup", "{:.2f}x faster"),
    ("total_over_max", "total/max(compute, encode) {:.2f}"),
    ("total_over_sum", "total/(compute + encode) {:.2f}"),
    ("total_over_cpu_floor", "total/(all CPU work / cores) {:.2f}"),
    ("strength", "strength {:.3f}"),
    ("vs_still", "{:.0%} of the still"),
    ("trend", "{:+.1%} on the previous frames"),
    ("peak_gib", "peak {:.2f} GiB in its own process"),
    ("default_peak_gib", "{:.2f} GiB at the default budget"),
    ("budget_px", "budget {} px"),
    ("fps", "{:.2f} fps"),
    ("ms_per_frame", "{:.0f} ms/frame"),
    ("ms_per_step", "{:.1f} ms/step"),
    ("steps_per_frame", "{:g} steps/frame"),
    ("gflop_per_step", "{:.2f} GFLOP/step"),
    ("gflops", "{:.1f} GFLOP/s"),
    ("peak_fraction", "{:.1%} of peak"),
    ("loop_ms_per_frame", "{:.0f} ms/frame in the loop"),
    ("seconds", "{:.2f} s"),
    ("wall_s", "{:.1f} s wall with setup"),
    ("cpu_s", "{:.1f} CPU s"),
    ("cpu_busy", "cores {:.0%} busy"),
    ("peak_mem_mb", "mem {:.0f} MB"),
    ("loadavg_1m", "load {:.2f}"),
    ("params", "({})"),
)


def emit(record: Record, as_json: bool) -> None:
    """One line per workload, flushed at once so a long run shows progress."""
    if as_json:
        print(json.dumps(record), flush=True)
    else:
        parts = [fmt.format(record[key]) for key, fmt in HUMAN if record.get(key) is not None]
        print(f"{record['workload']:<41} " + "   ".join(parts), flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--only", default="", metavar="SUBSTRING", help="only workloads whose name contains this (the peak always runs)"
    )
    parser.add_argument(
        "--repeat", type=int, default=6, metavar="N",
        help="timed steps or frames of the ascent, render and e2e workloads (the comparisons have fixed sizes)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object per line per workload")
    parser.add_argument("--tiles-child", type=int, metavar="BUDGET", help=argparse.SUPPRESS)  # run_tiles_child's child
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        device = pick_device(args.device)
    except RenderError as error:
        sys.exit(f"bench: {error}")
    if args.tiles_child is not None:
        print(json.dumps(tiles_child(device, args.tiles_child)), flush=True)
        return
    peaks: Peaks = {}
    every = workloads(device, args.repeat, peaks)
    chosen = [(name, run) for name, run in every if args.only in name]
    if not chosen:
        sys.exit(f"bench: no workload name contains {args.only!r}; workloads: {', '.join(name for name, _ in every)}")
    if not args.json:
        memory = "torch.cuda.max_memory_allocated per workload" if device.type == "cuda" else "process max RSS so far"
        print(f"zoomdream {zoomdream.__version__}, torch {torch.__version__}, device {device}, "
              f"{torch.get_num_threads()} threads, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
              f"mem = {memory}", flush=True)
    for dtype in (torch.float32, autocast_dtype("auto", device)):
        if dtype is not None:
            record = matmul_peak(device, dtype, args.repeat)
            peaks[dtype] = record["gflops"]
            emit(finish(record, device), args.json)
    for name, run in chosen:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        emit(finish({"workload": name, **run()}, device), args.json)


if __name__ == "__main__":
    main()
