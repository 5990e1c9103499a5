"""Ctrl-C and SIGTERM set the render's stop token instead of killing it mid-write.

The first signal sets the token, which the render checks between frames; a second one stops at
once (KeyboardInterrupt), which is still safe because every file is written atomically and the
last checkpoint stays whole. Only a front-end on the main thread installs these handlers.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SignalStop:
    """Context manager: a stop token (``is_set()``) that the first SIGINT/SIGTERM sets."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def is_set(self) -> bool:
        return self.event.is_set()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum
        self.event.set()

    def __enter__(self) -> "SignalStop":
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()
