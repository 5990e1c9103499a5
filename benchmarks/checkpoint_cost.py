"""What one checkpoint costs at 320x180, 960x540 and 1920x1080 (for choosing output.checkpoint_every).

    .venv/bin/python benchmarks/checkpoint_cost.py [--frames 12] [--repeat 3]

A checkpoint is two things on the writer thread: ``checkpoint.save`` (the last frame at full
precision, generator and colour state, written atomically with fsync) and cutting the video
segment (``SegmentedVideo.state()``: ffmpeg finishes the segment, neighbours are merged, and the
next frame starts a new one; ``saved()`` then deletes what was merged away). Cutting moves encoding
work rather than adding it, so its cost is measured as a difference: the same frames written as
one segment, then with a cut every 3 frames; the extra time divided by the extra cuts.
Frames come from the real renderer (no dream, so the network's time does not dilute the figure).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from zoomdream.config import load_config
from zoomdream.engine.renderer import Renderer
from zoomdream.io.segments import SegmentedVideo
from zoomdream.run import checkpoint
from zoomdream.run.loop import to_host

SIZES = [(320, 180), (960, 540), (1920, 1080)]


def frames_at(size: tuple[int, int], count: int) -> tuple[Renderer, list]:
    config = load_config({"size": list(size), "frames": count, "dream": {"steps": 0}, "motion": {"zoom": 1.02}})
    renderer = Renderer(config)
    with torch.no_grad():
        frames = [frame[0] for t, batch in renderer.frames() for frame in to_host(batch, exact=False)]
    return renderer, frames


def write_video(folder: Path, size: tuple[int, int], frames: list, cut_every: int) -> float:
    video = SegmentedVideo(folder / "v.mp4", size, 30, folder=folder / "segments")
    began = time.perf_counter()
    for i, frame in enumerate(frames):
        video.write(i, frame)
        if (i + 1) % cut_every == 0:
            video.state()
            video.saved()
    video.state()
    return time.perf_counter() - began


def measure(size: tuple[int, int], count: int, repeat: int) -> dict[str, float]:
    renderer, frames = frames_at(size, count)
    saves, whole, cut = [], [], []
    state = checkpoint.Checkpoint(renderer.state_dict(), renderer.config.fingerprint())
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "state" / "checkpoint.pt"
        for r in range(repeat):
            began = time.perf_counter()
            checkpoint.save(file, state)
            saves.append(time.perf_counter() - began)
            whole.append(write_video(Path(tmp) / f"whole{r}", size, frames, cut_every=count))
            cut.append(write_video(Path(tmp) / f"cut{r}", size, frames, cut_every=3))
        kib = file.stat().st_size / 1024
    cuts = count // 3 - 1
    extra = (statistics.median(cut) - statistics.median(whole)) / cuts
    return {"save": statistics.median(saves), "cut": extra, "kib": kib, "encode": statistics.median(whole) / count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12, help="frames per video (a multiple of 3)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, torch {torch.__version__}")
    print("size        checkpoint.pt   save    cut    save+cut   (encoding: s/frame)")
    for size in SIZES:
        m = measure(size, args.frames, args.repeat)
        print(f"{size[0]}x{size[1]:<6} {m['kib']:8.0f} KiB {m['save']:6.3f} s {m['cut']:6.3f} s {m['save'] + m['cut']:6.3f} s"
              f"   ({m['encode']:.3f})")


if __name__ == "__main__":
    main()
