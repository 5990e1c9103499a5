"""The render folder as one object: every path, its state, its records, readable without rendering.

```
renders/<name>/<name>.mp4                 one lane (.mov for prores and dnxhr)
renders/<name>/<variant>/<variant>.mp4    with variants, one folder per lane
renders/<name>/frames/000000.png          (or <variant>/frames/..., .exr, .tiff)
renders/<name>/config.yaml                the resolved recipe, written before the first frame
renders/<name>/render.json                written when the render finished
renders/<name>/state/                     checkpoint.pt, progress.json, video segments
renders/<name>/preview/                   a --preview of the same recipe (a render folder too)
```

A page or a batch runner lists renders and their progress from here (``state``,
``progress``) without importing torch; only ``load_checkpoint`` reads tensors.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..config import Config, load_config
from ..errors import ZoomdreamError
from ..io.atomic import write_atomic
from ..io.codecs import CODECS, EXTENSIONS
from ..io.files import read_json
from ..io.frames import sequence
from .lock import FolderLock

State = Literal["new", "unfinished", "interrupted", "rendering", "finished"]
RECORD = "render.json"
RECIPE = "config.yaml"
STATE_DIR = "state"
LOCK_FILE = ".zoomdream.lock"


class OutputError(ZoomdreamError):
    """The output folder cannot be used as asked; one line with the fix, and the flag that is the fix."""


@dataclass(frozen=True)
class Lane:
    """Where one lane's files go: its file stem and folder, and the config that renders it."""

    stem: str
    folder: Path
    config: Config

    @property
    def video(self) -> Path | None:
        video = self.config.output.video
        return self.folder / f"{self.stem}{CODECS[video.codec].extension}" if video else None

    @property
    def frames(self) -> Path:
        return self.folder / "frames"


class RenderFolder:
    """One render's folder. ``config`` is the recipe that renders (or rendered) into it; without
    one, the folder's own ``config.yaml`` is read when a lane's paths are asked for."""

    def __init__(self, path: str | Path, config: Config | None = None):
        self.path = Path(path)
        self._config = config

    @classmethod
    def of(cls, config: Config) -> "RenderFolder":
        return cls(config.output_dir(), config)

    # -- paths ---------------------------------------------------------------------------
    @property
    def recipe(self) -> Path:
        return self.path / RECIPE

    @property
    def record(self) -> Path:
        return self.path / RECORD

    @property
    def state_dir(self) -> Path:
        return self.path / STATE_DIR

    @property
    def checkpoint(self) -> Path:
        return self.state_dir / "checkpoint.pt"

    @property
    def progress_file(self) -> Path:
        return self.state_dir / "progress.json"

    @property
    def segments(self) -> Path:
        return self.state_dir / "segments"

    @property
    def lock(self) -> Path:
        return self.path / LOCK_FILE

    @property
    def preview(self) -> "RenderFolder":
        return RenderFolder(self.path / "preview")

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.recipe, output__dir=str(self.path))
        return self._config

    def lanes(self) -> list[Lane]:
        """(file stem, folder, config) of each lane's video and frames."""
        config = self.config
        lanes = config.lanes()
        if [name for name, _ in lanes] == [None]:
            return [Lane(config.name, self.path, config)]
        return [Lane(str(name), self.path / str(name), lane) for name, lane in lanes]

    # -- state -----------------------------------------------------------------------------
    def state(self) -> State:
        """What the folder holds: ``new`` (nothing), ``rendering`` (a render holds its lock now),
        ``interrupted`` (a checkpoint to resume from), ``finished``, or ``unfinished`` (died
        before its first checkpoint)."""
        if FolderLock.held(self.lock):
            return "rendering"
        if self.checkpoint.exists():
            return "interrupted"
        if self.record.exists():
            return "finished"
        if not self.path.is_dir():
            return "new"
        leftovers = [self.state_dir, self.recipe] + [lane.frames for lane in self._known_lanes()]
        if any(p.exists() for p in leftovers) or any(self._videos()):
            return "unfinished"
        return "new"

    def progress(self) -> dict[str, Any]:
        """``{"done", "total", "seconds"}`` as of the last checkpoint (or the finished record)."""
        for source in (self.progress_file, self.record):
            data = read_json(source)
            if data:
                return {"done": data.get("done", data.get("frames", 0)), "total": data.get("total", data.get("frames", 0)),
                        "seconds": data.get("seconds", 0.0)}  # fmt: skip
        return {"done": 0, "total": 0, "seconds": 0.0}

    def read_record(self) -> dict[str, Any]:
        return read_json(self.record)

    def finished_frames(self) -> int:
        record = self.read_record()
        try:
            return int(record["frames"])
        except (KeyError, TypeError, ValueError):
            return -1

    def videos(self) -> list[Path]:
        return [lane.video for lane in self.lanes() if lane.video and lane.video.exists()]

    def frame_files(self, lane: Lane) -> list[Path]:
        return sequence(lane.frames)

    # -- changes ---------------------------------------------------------------------------
    def make_writable(self) -> None:
        """Create the folder and prove it can be written, before the first frame is made."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".zoomdream-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise OutputError(f"{self.path}: cannot write here ({error.strerror}); set output.dir to a writable folder") from None

    def clear(self) -> None:
        """Only after every check passed: remove what an earlier or unfinished render left behind."""
        shutil.rmtree(self.state_dir, ignore_errors=True)
        for name in (RECORD, RECIPE):
            (self.path / name).unlink(missing_ok=True)
        for lane in self.lanes():
            shutil.rmtree(lane.frames, ignore_errors=True)
            for stale in _files(lane.folder):
                if stale.name.startswith((f"{lane.stem}.", f".{lane.stem}.")) and stale.suffix in EXTENSIONS:
                    stale.unlink(missing_ok=True)

    def write_progress(self, done: int, total: int, seconds: float) -> None:
        write_atomic(self.progress_file, json.dumps({"done": done, "total": total, "seconds": round(seconds, 3)}) + "\n")

    def finish(self) -> None:
        """The render is whole: its checkpoint and segments are no longer needed."""
        shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------
    def _known_lanes(self) -> list[Lane]:
        if self._config is None and not self.recipe.exists():
            return []
        try:
            return self.lanes()
        except ZoomdreamError:
            return []

    def _videos(self) -> list[Path]:
        return [p for lane in self._known_lanes() for p in _files(lane.folder) if p.name.endswith(EXTENSIONS)]


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


def find(root: Path) -> list[RenderFolder]:
    """Every render folder under ``root`` (sweep cells and previews included), newest first."""
    found = [RenderFolder(p.parent) for p in Path(root).rglob(RECIPE) if STATE_DIR not in p.parts]
    return sorted(found, key=lambda f: f.recipe.stat().st_mtime, reverse=True)
