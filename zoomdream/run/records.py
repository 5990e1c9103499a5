"""What a render wrote, and the records beside it that say how it was made."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config
from ..io.atomic import write_atomic
from .folder import RenderFolder


@dataclass
class RenderResult:
    """What a render wrote: one video and/or frames folder per lane."""

    folder: Path
    videos: list[Path] = field(default_factory=list)
    frame_dirs: list[Path] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    device: str = "cpu"

    @property
    def video(self) -> Path | None:
        return self.videos[0] if self.videos else None

    @property
    def frames_dir(self) -> Path | None:
        return self.frame_dirs[0] if self.frame_dirs else None


def finished_result(folder: RenderFolder) -> RenderResult:
    """What a finished render wrote, read back from its folder."""
    result = RenderResult(folder.path, frames=folder.finished_frames(), device=str(folder.read_record().get("device", "cpu")))
    for lane in folder.lanes():
        if lane.video is not None and lane.video.exists():
            result.videos.append(lane.video)
        if lane.frames.is_dir():
            result.frame_dirs.append(lane.frames)
    return result


def write_recipe(folder: RenderFolder, config: Config) -> None:
    """config.yaml: the resolved recipe, so the folder says what renders into it from the first frame."""
    write_atomic(folder.recipe, config.to_yaml(relative_to=folder.path))


def write_record(folder: RenderFolder, config: Config, result: RenderResult, details: dict[str, Any], fingerprint: dict[str, Any]) -> None:
    """render.json beside the video: how the render was made, and the fixed settings it was made
    with (so a later --resume of a changed recipe is refused, not called finished)."""
    record = {
        "zoomdream": __version__,
        "python": platform.python_version(),
        "device": result.device,
        **details,
        "size": list(config.frame_size),
        "fps": config.fps,
        "frames": result.frames,
        "lanes": max(1, len(config.variants)),
        "seconds": round(result.seconds, 3),
        "seconds_per_frame": round(result.seconds / max(result.frames, 1), 4),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "fingerprint": fingerprint,
    }
    write_atomic(folder.record, json.dumps(record, indent=2) + "\n")
