"""What a sweep costs under each engine (issue 16): Ray's overhead per cell against ``local``, the
throughput of an 8-cell preview sweep, and a 100-cell sweep on one GPU against 16, on paper.

    .venv/bin/python benchmarks/sweep.py                       # everything (a few minutes on 2 cores)
    .venv/bin/python benchmarks/sweep.py --only overhead       # or: throughput, paper
    .venv/bin/python benchmarks/sweep.py --gpu-fps 20          # the assumed GPU frame rate for the paper sums
    .venv/bin/python benchmarks/sweep.py --screenshot docs/sweep-index.png [--dir renders/zooms-sweep]  # the README's picture

Overhead: the same 4 tiny cells (64x48, 3 frames) rendered by each engine; a cell's overhead is
the sweep's wall time less the frame loops' own seconds (``render.json``), per cell. It holds
what both engines pay (the model built per cell, look, the proxy check) and, for Ray, the task's
scheduling and its worker process (which imports torch once). Ray's cluster start is timed apart.
Throughput: ``configs/sweep.yaml --grid seed=1,2 --preview`` (8 cells) under ``local`` (one cell
at a time with both threads), ``ray`` (the same: one cell per node), and both with one CPU per
cell (two cells at once, one thread each: what "two renders only share the cores" measures).
Each engine runs ``--rounds`` times (2), the engines' order alternating from round to round, and
its fastest run is printed with every run's wall time and load: on a machine shared with other
work, a single run measures the neighbours as much as the engine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from zoomdream.frontends.sweep import plan, run
from zoomdream.frontends.sweep.engines import start_local
from zoomdream.run.folder import RenderFolder

ROOT = Path(__file__).resolve().parents[1]
TINY = """name: tiny
size: [64, 48]
frames: 3
fps: 12
model: {name: efficientnet_lite0}
dream: {steps: 1, octaves: 1}
output: {frames: {bit_depth: 8}}
"""


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def render_seconds(sweep) -> float:
    return sum(float(RenderFolder(cell.output).read_record().get("seconds", 0.0)) for cell in sweep.cells)


def swept(sweep, engine: str, **options) -> dict:
    began = time.perf_counter()
    report = run(sweep, engine=engine, quiet=True, **options)
    wall = time.perf_counter() - began
    states = {o.state for o in report.outcomes}
    assert states == {"finished"}, [(o.name, o.state, o.error) for o in report.outcomes]
    frames = sum(cell.frames for cell in sweep.cells)
    loops = render_seconds(sweep)
    return {"wall_s": round(wall, 2), "frame_loops_s": round(loops, 2), "cells": len(sweep.cells), "frames": frames,
            "overhead_per_cell_s": round((wall - loops) / len(sweep.cells), 2), "frames_per_s": round(frames / wall, 3),
            "cells_per_min": round(60 * len(sweep.cells) / wall, 2)}  # fmt: skip


def start_ray(cpus: int) -> float:
    """The local cluster ``--engine ray`` starts without --address; its start-up time."""
    began = time.perf_counter()
    start_local(cpus)
    return time.perf_counter() - began


RUNS = {"local": ("local", None), "ray": ("ray", None), "local, 1 CPU per cell (2 at once)": ("local", 1),
        "ray, 1 CPU per cell (2 at once)": ("ray", 1)}  # fmt: skip


def measure(label: str, make) -> dict:
    """One run of a fresh sweep under one engine (a fresh local Ray cluster for Ray)."""
    engine, cpus = RUNS[label]
    if engine == "local":
        result = swept(make(), "local", cpus_per_cell=cpus)
    else:
        import ray

        started = start_ray(os.cpu_count() or 2)
        try:
            result = swept(make(), "ray", cpus_per_cell=cpus)
        finally:
            ray.shutdown()
        result["cluster_start_s"] = round(started, 2)
    result["load"] = round(os.getloadavg()[0], 1)
    return result


def compare(labels: list[str], make, rounds: int) -> dict:
    """Every engine ``rounds`` times, their order alternating so that a change in the machine's
    load falls on each; each engine's fastest run, with every run's wall time and load."""
    runs: dict[str, list[dict]] = {label: [] for label in labels}
    for r in range(rounds):
        for label in labels if r % 2 == 0 else labels[::-1]:
            runs[label].append(measure(label, lambda: make(f"{RUNS[label][0]}-{RUNS[label][1] or 'all'}-{r}")))
    out = {}
    for label, results in runs.items():
        best = min(results, key=lambda x: x["wall_s"])
        out[label] = {**best, "walls_s": [x["wall_s"] for x in results], "loads": [x["load"] for x in results]}
    return out


def overhead(folder: Path, rounds: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    recipe = folder / "tiny.yaml"
    recipe.write_text(TINY)
    out = compare(["local", "ray"], lambda name: plan([recipe], {"seed": [1, 2, 3, 4]}, folder=folder / name), rounds)
    out["ray_extra_per_cell_s"] = round(out["ray"]["overhead_per_cell_s"] - out["local"]["overhead_per_cell_s"], 2)
    return out


def throughput(folder: Path, rounds: int) -> dict:
    recipe = ROOT / "configs" / "sweep.yaml"
    return compare(list(RUNS), lambda name: plan([recipe], {"seed": [1, 2]}, preview=True, folder=folder / name), rounds)


def paper(cells: int, frames: int, cpu_fps: float, gpu_fps: float, cell_s: float, ray_extra_s: float, start_s: float, gpus: int) -> dict:
    """A sweep's hours on this CPU and one GPU (local engine, one cell after another) and on ``gpus``
    GPUs (Ray: the cluster starts, then the cells go in rounds of ``gpus``, each paying Ray's extra)."""
    on_gpu = frames / gpu_fps + cell_s
    rounds = math.ceil(cells / gpus)
    cluster = start_s + rounds * (on_gpu + ray_extra_s)
    return {
        "cells": cells, "frames_per_cell": frames,
        "this_cpu_h": round(cells * (frames / cpu_fps + cell_s) / 3600, 2),
        "one_gpu_h": round(cells * on_gpu / 3600, 2),
        f"{gpus}_gpus_h": round(cluster / 3600, 3),
        "speedup": round(cells * on_gpu / cluster, 1),
    }  # fmt: skip


def screenshot(path: Path, folder: Path) -> None:
    """Render configs/sweep.yaml (4 cells) and photograph its index.html in headless Chromium."""
    from playwright.sync_api import sync_playwright

    sweep = plan([ROOT / "configs" / "sweep.yaml"], folder=folder)
    run(sweep, engine="local")  # cells finished there before are kept
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})  # the whole table, four cards a row
        page.goto(sweep.page.as_uri() + "#sort=curve%3Aboil&dir=asc")
        page.wait_for_function("[...document.querySelectorAll('video')].every(v => v.readyState >= 2 && !v.seeking)", timeout=30_000)
        page.wait_for_timeout(4000)  # the controls show a spinner a moment after the seek to a late frame
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    print(f"wrote {path} from {sweep.page}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["overhead", "throughput", "paper"])
    parser.add_argument("--gpu-fps", type=float, default=20.0, help="assumed frames/s of one GPU for the paper sums (not measured)")
    parser.add_argument("--cpu-fps", type=float, default=1.11,
                        help="quickstart frames/s on this CPU (README, bf16 on the CPU: 0.90 s/frame, one thread)")
    parser.add_argument("--cell-s", type=float, default=9.8, help="--only paper: seconds per cell besides its frames (measured: 9.8)")
    parser.add_argument("--ray-extra-s", type=float, default=0.9, help="--only paper: Ray's extra seconds per cell (measured: 0.9)")
    parser.add_argument("--ray-start-s", type=float, default=10.3, help="--only paper: seconds to start the Ray cluster (measured: 10.3)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each engine, alternating (the fastest is kept)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--screenshot", type=Path, help="render configs/sweep.yaml and save its page's picture here")
    parser.add_argument("--dir", type=Path, help="--screenshot: the sweep's folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        folder = Path(tmp)
        if args.screenshot:
            return screenshot(args.screenshot.resolve(), args.dir or folder / "zooms-sweep")
        results: dict = {"machine": f"{os.cpu_count()} CPUs, {load()} at start"}
        if args.only in (None, "overhead"):
            results["overhead"] = overhead(folder / "overhead", args.rounds)
            print(f"overhead per cell (4 tiny cells): {json.dumps(results['overhead'])}", flush=True)
        if args.only in (None, "throughput"):
            results["throughput"] = throughput(folder / "throughput", args.rounds)
            print(f"8-cell preview sweep: {json.dumps(results['throughput'])}", flush=True)
        if args.only in (None, "paper"):
            # the per-cell overhead of the InceptionV3 preview cells (the quickstart's model), Ray's extra from the tiny ones
            cell_s = results.get("throughput", {}).get("local", {}).get("overhead_per_cell_s", args.cell_s)
            extra = max(0.0, results.get("overhead", {}).get("ray_extra_per_cell_s", args.ray_extra_s))
            start_s = results.get("overhead", {}).get("ray", {}).get("cluster_start_s", args.ray_start_s)
            for frames in (96, 960):
                results[f"paper_{frames}"] = paper(100, frames, args.cpu_fps, args.gpu_fps, cell_s, extra, start_s, 16)
                print(f"100 cells of {frames} quickstart frames on paper (CPU {args.cpu_fps:g} frames/s, GPU an assumed "
                      f"{args.gpu_fps:g} frames/s, {cell_s:g} s per cell, Ray {extra:g} s more and {start_s:g} s to start): "
                      f"{json.dumps(results[f'paper_{frames}'])}")  # fmt: skip
        results["machine"] += f"; {load()} at the end"
        print(json.dumps(results) if args.json else results["machine"])


if __name__ == "__main__":
    sys.exit(main())
