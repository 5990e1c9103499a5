"""Atomic files: written beside their final name and renamed, so no reader ever sees half a file."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import write_error


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write through a temporary file in the same folder, so the final name never shows a half file."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise write_error(path, err) from err
