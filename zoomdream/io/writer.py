"""The writer thread: frames are encoded while the next ones are dreamed."""

from __future__ import annotations

import queue
import threading
from typing import Callable

import numpy as np

from .errors import SinkError, as_sink_error
from .sink import Closing, Sink


class WriterThread(Closing):
    """Feeds frames to the sinks from a daemon thread behind a bounded queue.

    The render loop only blocks when the queue is full. The first sink error stops all writing;
    it is raised as SinkError at the next put() or at close(), and the thread keeps draining the
    queue meanwhile so put() never blocks forever.
    """

    def __init__(self, sinks: list[Sink], maxsize: int = 8):
        self._sinks = list(sinks)
        self._queue: queue.Queue[tuple[int, np.ndarray] | Callable[[], None] | None] = queue.Queue(maxsize)
        self._error: SinkError | None = None
        self._thread = threading.Thread(target=self._run, name="zoomdream-writer", daemon=True)
        self._thread.start()

    def put(self, index: int, frame: np.ndarray) -> None:
        """Queue one output frame (every lane: (B, H, W, 3), float in [0, 1] or uint8); it must not change afterwards."""
        if self._error is not None:
            raise self._error
        self._queue.put((index, frame))

    def call(self, task: Callable[[], None]) -> None:
        """Run ``task`` on the writer thread once every frame queued before it is written (checkpoints)."""
        if self._error is not None:
            raise self._error
        self._queue.put(task)

    def close(self) -> None:
        """Write what is queued, finish every sink, and raise the first error of any of them."""
        self._stop(clean=True)
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Write what is queued, then abort every sink: for when the render itself failed.

        Raises nothing, so the render's own error is the one the user sees.
        """
        self._stop(clean=False)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    if callable(item):
                        item()
                    else:
                        for sink in self._sinks:
                            sink.write(*item)
                except Exception as err:
                    self._error = as_sink_error(err)

    def _stop(self, clean: bool) -> None:
        self._queue.put(None)
        self._thread.join()
        clean = clean and self._error is None
        for sink in self._sinks:
            try:
                sink.close() if clean else sink.abort()
            except Exception as err:
                self._error = self._error or as_sink_error(err)
