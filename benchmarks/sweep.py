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
at a time with both threads), ``ray`` (the same: one cell per node) and ``ray`` with one CPU
per cell (two cells at once, one thread each: what "two renders only share the cores" measures).
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


def overhead(folder: Path) -> dict:
    recipe = folder / "tiny.yaml"
    recipe.write_text(TINY)
    grid = {"seed": [1, 2, 3, 4]}
    out = {"local": swept(plan([recipe], grid, folder=folder / "local"), "local")}
    import ray

    started = start_ray(os.cpu_count() or 2)
    try:
        out["ray"] = swept(plan([recipe], grid, folder=folder / "ray"), "ray")
    finally:
        ray.shutdown()
    out["ray"]["cluster_start_s"] = round(started, 2)
    out["ray_extra_per_cell_s"] = round(out["ray"]["overhead_per_cell_s"] - out["local"]["overhead_per_cell_s"], 2)
    return out


def throughput(folder: Path) -> dict:
    recipe, grid = ROOT / "configs" / "sweep.yaml", {"seed": [1, 2]}
    out = {"local": swept(plan([recipe], grid, preview=True, folder=folder / "local"), "local")}
    import ray

    for label, cpus in (("ray", None), ("ray, 1 CPU per cell (2 at once)", 1)):
        started = start_ray(os.cpu_count() or 2)
        try:
            out[label] = swept(plan([recipe], grid, preview=True, folder=folder / f"ray-{cpus or 'node'}"), "ray", cpus_per_cell=cpus)
        finally:
            ray.shutdown()
        out[label]["cluster_start_s"] = round(started, 2)
    return out


def paper(cells: int, frames: int, cpu_fps: float, gpu_fps: float, cell_s: float, ray_cell_s: float, start_s: float, gpus: int) -> dict:
    """A sweep's time on one GPU (local engine) and on ``gpus`` GPUs (Ray): cells in rounds of ``gpus``."""
    one_cell = frames / gpu_fps
    rounds = math.ceil(cells / gpus)
    return {
        "cells": cells, "frames_per_cell": frames,
        "this_cpu_h": round(cells * (frames / cpu_fps + cell_s) / 3600, 2),
        "one_gpu_h": round(cells * (one_cell + cell_s) / 3600, 2),
        f"{gpus}_gpus_h": round((start_s + rounds * (one_cell + ray_cell_s)) / 3600, 3),
        "speedup": round(cells * (one_cell + cell_s) / (start_s + rounds * (one_cell + ray_cell_s)), 1),
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
    parser.add_argument("--cpu-fps", type=float, default=2.02, help="quickstart frames/s end to end on this CPU (README's table)")
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
            results["overhead"] = overhead(folder / "overhead")
            print(f"overhead per cell (4 tiny cells): {json.dumps(results['overhead'])}", flush=True)
        if args.only in (None, "throughput"):
            results["throughput"] = throughput(folder / "throughput")
            print(f"8-cell preview sweep: {json.dumps(results['throughput'])}", flush=True)
        if args.only in (None, "paper"):
            # per-cell overheads of the InceptionV3 preview cells (the model the quickstart uses), else the tiny ones
            measured = results.get("throughput") or results.get("overhead", {})
            cell_s = measured.get("local", {}).get("overhead_per_cell_s", 3.0)
            ray_cell_s = measured.get("ray", {}).get("overhead_per_cell_s", 6.0)
            start_s = results.get("overhead", measured).get("ray", {}).get("cluster_start_s", 10.0)
            results["paper"] = paper(100, 96, args.cpu_fps, args.gpu_fps, cell_s, ray_cell_s, start_s, 16)
            print(f"100 quickstart cells on paper (GPU at an assumed {args.gpu_fps:g} frames/s): {json.dumps(results['paper'])}")
        results["machine"] += f"; {load()} at the end"
        print(json.dumps(results) if args.json else results["machine"])


if __name__ == "__main__":
    sys.exit(main())
