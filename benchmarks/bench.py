"""How fast zoomdream dreams on this machine, against this machine's own peak (design §6).

    .venv/bin/python benchmarks/bench.py                      # every workload, one line each (long on a CPU)
    .venv/bin/python benchmarks/bench.py --only ascent        # single ascent steps, fp32 and bf16, 1 and all threads
    .venv/bin/python benchmarks/bench.py --only threads_1 --repeat 10   # one thread: steadier on a shared CPU
    .venv/bin/python benchmarks/bench.py --only look --set dream.step_size=0.01   # strength and boil of a variant
    .venv/bin/python benchmarks/bench.py --json --only render --repeat 3

The matmul peaks always run first, in the same process: fp32 and the reduced precision (bf16 on
the CPU, autocast's choice on CUDA), on one thread and on all of them on the CPU, so every "% of
peak" is against what this machine gives right now at that dtype and thread count. Each line
carries the load average, because on a shared CPU that explains more of the spread than anything
else. measure.py holds the clocks and counters, workloads.py names the workloads, which live in
micro.py, end_to_end.py and strength.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

import torch

import zoomdream
from common import Bench, dtype_name, threads
from measure import Record, matmul_peak, matmul_size, peak_mem_mb
from micro import tiles_child
from workloads import named
from zoomdream.engine.device import autocast_dtype, pick_device
from zoomdream.errors import ZoomdreamError


def finish(record: Record, device: torch.device) -> Record:
    """The keys every line has, with floats cut to 4 significant digits."""
    full = {"workload": record["workload"], "ms_per_step": None, "fps": None, "peak_fraction": None,
            "threads": torch.get_num_threads(), **record}  # fmt: skip
    full.update(device=str(device), peak_mem_mb=peak_mem_mb(device), loadavg_1m=os.getloadavg()[0])
    return {key: float(f"{v:.4g}") if isinstance(v, float) else v for key, v in full.items()}


HUMAN: tuple[tuple[str, str], ...] = (
    ("error", "error: {}"),
    ("speedup", "{:.2f}x faster"),
    ("total_over_max", "total/max(compute, encode) {:.2f}"),
    ("total_over_sum", "total/(compute + encode) {:.2f}"),
    ("total_over_cpu_floor", "total/(all CPU work / cores) {:.2f}"),
    ("strength", "strength {:.3f}"),
    ("vs_still", "{:.0%} of the still"),
    ("strength_vs_fp32", "strength {:+.1%} vs fp32"),
    ("boil_vs_fp32", "boil {:+.1%} vs fp32"),
    ("trend", "{:+.1%} on the previous frames"),
    ("boil", "boil {:.4f}"),
    ("boil_steady", "boil {:.4f} in the steady state"),
    ("peak_gib", "peak {:.2f} GiB in its own process"),
    ("default_peak_gib", "{:.2f} GiB at the default budget"),
    ("budget_px", "budget {} px"),
    ("fps", "{:.2f} fps"),
    ("ms_per_frame", "{:.0f} ms/frame"),
    ("ms_per_step", "{:.1f} ms/step"),
    ("ms_min", "best {:.1f} ms"),
    ("cpu_ms_per_step", "{:.0f} CPU ms/step"),
    ("steps_per_frame", "{:g} steps/frame"),
    ("gflop_per_step", "{:.2f} GFLOP/step"),
    ("gflops", "{:.1f} GFLOP/s"),
    ("peak_fraction", "{:.1%} of peak"),
    ("grad_cosine", "gradient cosine to fp32 {:.4f}"),
    ("loop_ms_per_frame", "{:.0f} ms/frame in the loop"),
    ("seconds", "{:.2f} s"),
    ("wall_s", "{:.1f} s wall with setup"),
    ("vs_target", "{:.0%} of the target"),
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--only", default="", metavar="SUBSTRING", help="only workloads whose name contains this (the peak always runs)"
    )
    parser.add_argument(
        "--repeat", type=int, default=6, metavar="N",
        help="timed steps or frames of the ascent, render and e2e workloads (the comparisons have fixed sizes)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="one JSON object per line per workload")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
        help="config override for the look workload, as zoomdream render --set (repeatable)",
    )  # fmt: skip
    parser.add_argument("--tiles-child", type=int, metavar="BUDGET", help=argparse.SUPPRESS)  # workloads.run_tiles_child
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        device = pick_device(args.device)
    except ZoomdreamError as error:
        sys.exit(f"bench: {error}")
    bench = Bench(device, args.repeat, look_overrides=tuple(args.overrides))  # threads: all that torch has now
    if args.tiles_child is not None:
        print(json.dumps(tiles_child(bench, args.tiles_child)), flush=True)
        return
    every = named(bench)
    chosen = [(name, run) for name, run in every if args.only in name]
    if not chosen:
        sys.exit(f"bench: no workload name contains {args.only!r}; workloads: {', '.join(name for name, _ in every)}")
    if not args.json:
        memory = "torch.cuda.max_memory_allocated per workload" if device.type == "cuda" else "process max RSS so far"
        print(f"zoomdream {zoomdream.__version__}, torch {torch.__version__}, device {device}, "
              f"{torch.get_num_threads()} threads, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
              f"mem = {memory}", flush=True)  # fmt: skip
    for precision in bench.precisions.values():
        dtype = autocast_dtype(precision, device) or torch.float32
        for count in bench.thread_counts:
            with threads(count):
                bench.peaks[(dtype, count)] = gflops = matmul_peak(device, dtype, args.repeat)
            name = f"peak/matmul_{dtype_name(dtype)}_{matmul_size(device)}/threads_{count}"
            record = {"workload": name, "gflops": gflops, "peak_gflops": gflops, "dtype": dtype_name(dtype), "threads": count}
            emit(finish(record, device), args.json)
    failed = False
    for name, run in chosen:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        try:
            record = run()
        except ZoomdreamError as error:  # e.g. a --set the look workload cannot use
            record, failed = {"error": str(error)}, True
        emit(finish({"workload": name, **record}, device), args.json)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
