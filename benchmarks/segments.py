"""How many segment files a long render keeps, and how long the final join takes (issue 9, item 3).

    .venv/bin/python benchmarks/segments.py                    # 20,000 frames, checkpoint every 10
    .venv/bin/python benchmarks/segments.py --frames 2000

A fast render (64x64, dream.steps 0: warp and encode only) at 60 fps, rendered twice: with the
segments merged as the render goes (what zoomdream does) and with one file per checkpoint (the
old way, by making ``state()`` only finish the segment in flight). For each it prints the most
segment files seen on disk during the render, the files joined at the end, the final join's
time and the whole render's time. Segment files counted during the render include merged-away
ones that wait for the next checkpoint before they are deleted.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from zoomdream.api import render
from zoomdream.io import segments as sinks
from zoomdream.run.folder import RenderFolder


def one_file_per_checkpoint(self: sinks.SegmentedVideo) -> list[str]:
    """The old checkpoint state: finish the segment in flight and keep every segment until the end."""
    self._finish_segment()
    return list(self.done)


def run(frames: int, every: int, folder: Path) -> dict[str, Any]:
    config = {
        "name": "segments", "size": [64, 64], "frames": frames, "fps": 60, "dream": {"steps": 0},
        "color": {"match": "none"}, "output": {"dir": str(folder), "checkpoint_every": every},
    }  # fmt: skip
    segments = RenderFolder(folder).segments / "segments"  # the lane's segments; its stem is the recipe's name
    most, finished = [0, 0], threading.Event()  # segment files; all files (with temporary ones)

    def watch() -> None:
        while not finished.wait(0.02):
            try:
                files = os.listdir(segments)
            except FileNotFoundError:  # not made yet, or removed with state/ at the end
                continue
            named = sum(1 for name in files if sinks.SEGMENT_NAME.match(name))
            most[:] = max(most[0], named), max(most[1], len(files))

    final: dict[str, Any] = {}
    join = sinks.join_videos

    def timed_join(parts: list[Path], path: Path, *args: Any, **kwargs: Any) -> None:
        began = time.perf_counter()
        join(parts, path, *args, **kwargs)
        if path.parent == folder:  # the final video, not a merge
            final.update(files=len(parts), seconds=time.perf_counter() - began)

    sinks.join_videos = timed_join
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    began = time.perf_counter()
    try:
        render(config)
    finally:
        sinks.join_videos = join
        finished.set()
        watcher.join()
    return {"most": most[0], "files_on_disk": most[1], **final, "render": time.perf_counter() - began}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=10, help="output.checkpoint_every")
    args = parser.parse_args()
    print(f"{args.frames} frames at 64x64, 60 fps, checkpoint every {args.every} frames ({args.frames // args.every} checkpoints)")
    merged = sinks.SegmentedVideo.state
    for label, state in (("merged (now)", merged), ("one per checkpoint (old)", one_file_per_checkpoint)):
        sinks.SegmentedVideo.state = state  # type: ignore[method-assign]
        try:
            with tempfile.TemporaryDirectory() as tmp:
                r = run(args.frames, args.every, Path(tmp) / "out")
        finally:
            sinks.SegmentedVideo.state = merged  # type: ignore[method-assign]
        print(
            f"{label:>26}: at most {r['most']:5d} segment files during the render ({r['files_on_disk']} files with "
            f"temporary ones), {r['files']:5d} joined at the end; "
            f"final join {r['seconds']:6.2f} s; render {r['render']:6.1f} s"
        )


if __name__ == "__main__":
    main()
