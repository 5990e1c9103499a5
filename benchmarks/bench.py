"""How fast zoomdream dreams on this machine, against this machine's own peak (design §6).

    .venv/bin/python benchmarks/bench.py                      # every workload, one line each
    .venv/bin/python benchmarks/bench.py --json --only render --repeat 3

Workloads: a square fp32 matmul (the peak, measured in the same run so the fraction stays
honest on a busy or throttled machine), single ascent steps exactly as the renderer takes them,
the renderer's frame loop, and whole renders including encoding. Each line carries the load
average, because on a shared CPU that explains more of the spread than anything else.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import operator
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

import zoomdream
from zoomdream import models
from zoomdream.dream import Objective, Settings, activation, ascent_step, dream, octave_sizes
from zoomdream.render import Renderer, RenderError, autocast_dtype, pick_device

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
    return found


def finish(record: Record, device: torch.device) -> Record:
    """The keys every line has, with floats cut to 4 significant digits."""
    full = {"workload": record["workload"], "ms_per_step": None, "fps": None, "peak_fraction": None, **record}
    full.update(device=str(device), threads=torch.get_num_threads(), peak_mem_mb=peak_mem_mb(device),
                loadavg_1m=os.getloadavg()[0])
    return {key: float(f"{v:.4g}") if isinstance(v, float) else v for key, v in full.items()}


HUMAN: tuple[tuple[str, str], ...] = (
    ("fps", "{:.2f} fps"),
    ("ms_per_frame", "{:.0f} ms/frame"),
    ("ms_per_step", "{:.1f} ms/step"),
    ("steps_per_frame", "{:g} steps/frame"),
    ("gflop_per_step", "{:.2f} GFLOP/step"),
    ("gflops", "{:.1f} GFLOP/s"),
    ("peak_fraction", "{:.1%} of peak"),
    ("wall_s", "{:.1f} s wall with setup"),
    ("peak_mem_mb", "mem {:.0f} MB"),
    ("loadavg_1m", "load {:.2f}"),
)


def emit(record: Record, as_json: bool) -> None:
    """One line per workload, flushed at once so a long run shows progress."""
    if as_json:
        print(json.dumps(record), flush=True)
    else:
        parts = [fmt.format(record[key]) for key, fmt in HUMAN if record.get(key) is not None]
        print(f"{record['workload']:<42}" + "   ".join(parts), flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--only", default="", metavar="SUBSTRING", help="only workloads whose name contains this (the peak always runs)"
    )
    parser.add_argument("--repeat", type=int, default=6, metavar="N", help="timed steps or frames per workload")
    parser.add_argument("--json", action="store_true", help="one JSON object per line per workload")
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
