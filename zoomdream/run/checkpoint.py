"""What a render needs to continue after a crash, and the lock that keeps one writer per folder.

``state/checkpoint.pt`` holds a ``Checkpoint``: the engine's state (the last dreamed frame at
full precision, the next frame index, the random generators, the colour references), the
fixed settings it was made with, each sink's own state (a video's finished segments) and the
look curves so far. It is written atomically, so whatever instant a render dies at, the last
checkpoint is whole; its version number turns a checkpoint from another zoomdream into a clear
message.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from ..errors import ZoomdreamError
from ..io.atomic import write_atomic

VERSION = 3


class CheckpointError(ZoomdreamError):
    """A checkpoint that cannot be used; one line saying why and what to do, and the flag that does it."""


@dataclass
class Checkpoint:
    """Everything frame ``engine["next_frame"]`` depends on, on the CPU at full precision."""

    engine: dict[str, Any]  # Renderer.state_dict()
    fingerprint: dict[str, Any]  # config.fingerprint() of the render it continues
    sinks: list[Any] = field(default_factory=list)  # each sink's state(), in the order they were opened
    look: dict[str, Any] = field(default_factory=dict)  # the look curves so far, per lane
    version: int = VERSION

    @property
    def next_frame(self) -> int:
        return int(self.engine["next_frame"])


def save(target: Path, state: Checkpoint) -> None:
    """Atomically replace the checkpoint; called from the writer thread after the frames it covers."""
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({f.name: getattr(state, f.name) for f in fields(state)}, buffer)
    write_atomic(target, buffer.getvalue())


def load(target: Path) -> Checkpoint | None:
    if not target.exists():
        return None
    try:
        data = torch.load(target, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged disk, or a file that is not a checkpoint
        raise CheckpointError(f"{target}: cannot read the checkpoint ({type(error).__name__}); start again with --overwrite", "--overwrite") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or set(data) != {f.name for f in fields(Checkpoint)}:
        raise CheckpointError(f"{target}: the checkpoint is from another zoomdream version; start again with --overwrite", "--overwrite")
    return Checkpoint(**data)
