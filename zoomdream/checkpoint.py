"""What a render needs to continue after a crash, and the lock that keeps one writer per folder.

``state/checkpoint.pt`` holds a ``Checkpoint``: the last dreamed frame at full precision, the next
frame index, the random generator's state, the colour coherence state and the finished video
segments. It is written atomically, so whatever instant a render dies at, the last checkpoint is
whole; its version number turns a checkpoint from another zoomdream into a clear message.
"""

from __future__ import annotations

import fcntl
import io
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from .config import Config
from .sinks import write_atomic

STATE_DIR = "state"
FILE = "checkpoint.pt"
LOCK_FILE = ".zoomdream.lock"


class CheckpointError(Exception):
    """A checkpoint that cannot be used; one line saying why and what to do, and the flag that does it."""

    def __init__(self, message: str, flag: str | None = None):
        super().__init__(message)
        self.flag = flag


def fingerprint(config: Config) -> dict[str, Any]:
    """The settings a resumed render must share with the one it continues (the rest may change)."""
    data = config.model_dump(mode="json")
    return {
        "size": data["size"],
        "scale": data["scale"],
        "seed": data["seed"],
        "model": data["model"],
        "start": data["start"],
        "dream.objective": data["dream"]["objective"],
        "color": {key: data["color"][key] for key in ("mode", "space", "reference")},
        "variants": data["variants"],
        "output.video.codec": (data["output"]["video"] or {}).get("codec"),  # segments of one codec join
        "output.frames": data["output"]["frames"],  # the sequence keeps one format and numbering
    }


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [f"{key} was {saved.get(key)!r}, now {value!r}" for key, value in current.items() if saved.get(key) != value]


VERSION = 2


@dataclass
class Checkpoint:
    """Everything frame ``next_frame`` depends on, on the CPU at full precision."""

    next_frame: int
    frame: torch.Tensor  # the last dreamed frame, (B, 3, H, W)
    velocity: torch.Tensor | None  # the dream's change at that frame, carried on with dream.calm
    generators: list[torch.Tensor]  # the render's, then each lane's
    color: dict[str, Any]
    fingerprint: dict[str, Any]
    segments: list[list[str]] = field(default_factory=list)  # finished video segments, per lane
    look: dict[str, Any] = field(default_factory=dict)  # the look curves so far, per lane
    version: int = VERSION


def path(folder: Path) -> Path:
    return Path(folder) / STATE_DIR / FILE


def save(folder: Path, state: Checkpoint) -> None:
    """Atomically replace the checkpoint; called from the writer thread after the frames it covers."""
    target = path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({f.name: getattr(state, f.name) for f in fields(state)}, buffer)
    write_atomic(target, buffer.getvalue())


def load(folder: Path) -> Checkpoint | None:
    target = path(folder)
    if not target.exists():
        return None
    try:
        data = torch.load(target, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged disk, or a file that is not a checkpoint
        raise CheckpointError(f"{target}: cannot read the checkpoint ({type(error).__name__}); start again with --overwrite", "--overwrite") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or set(data) != {f.name for f in fields(Checkpoint)}:
        raise CheckpointError(f"{target}: the checkpoint is from another zoomdream version; start again with --overwrite", "--overwrite")
    return Checkpoint(**data)


class FolderLock:
    """An advisory lock on the output folder; the kernel drops it when the process dies, so it never sticks."""

    def __init__(self, folder: Path):
        self.file = Path(folder) / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        self._fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise CheckpointError(
                f"{self.file.parent}: another zoomdream render is writing here; wait for it or set another output.dir"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
