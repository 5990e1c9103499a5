"""The lock that keeps one render per folder, and the question whether a render holds it now.

An advisory ``flock``: the kernel drops it when the process dies, so it never sticks, and
asking whether it is held needs no torch (the studio lists renders with it).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import ZoomdreamError


class FolderLock:
    """An advisory lock on the output folder; the kernel drops it when the process dies, so it never sticks."""

    def __init__(self, file: Path):
        self.file = Path(file)
        self._fd: int | None = None

    def __enter__(self) -> "FolderLock":
        self._fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise ZoomdreamError(
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

    @staticmethod
    def held(file: Path) -> bool:
        """Whether a render (in this process or another) holds the lock on ``file`` now."""
        try:
            fd = os.open(file, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
