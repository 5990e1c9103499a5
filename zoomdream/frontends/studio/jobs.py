"""The studio's render queue: one worker thread per device renders one job at a time.

Renders run in the studio's process, not the page's, so closing the browser changes nothing; a
second render on the same device waits instead of halving the first one's speed. A job is a
subscriber of its render's events (newest frame as a JPEG, progress, ETA, the look so far) and
holds the stop token that the Stop button sets. Nothing is kept only here that a restart would
need: an interrupted render is found again from its folder's checkpoint.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ...api import Interrupted, look, render
from ...config import Config
from ...errors import ZoomdreamError
from ...run import events

log = logging.getLogger("zoomdream.studio")
ACTIVE = ("queued", "rendering", "stopping", "measuring")


def jpeg(picture: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


class Job:
    """One render the studio was asked for, and what its events said so far."""

    def __init__(self, rid: str, folder: Path, config: Config, device: str, *, preview: bool = False,
                 resume: bool = False, overwrite: bool | None = None):  # fmt: skip
        self.id, self.folder, self.config, self.device = rid, folder, config, device
        self.preview, self.resume, self.overwrite = preview, resume, overwrite
        self.state = "queued"
        self.stop = threading.Event()
        self.done, self.total = 0, config.frame_count
        self.fps: float | None = None
        self.eta: float | None = None
        self.frame: bytes | None = None  # the newest frame of the first lane, as a JPEG
        self.frame_index = -1
        self.frame_time = 0.0  # when the render reported it (time.time()), for the page's latency
        self.look: list[dict[str, Any]] = []  # {"frame": n, "luma": ..., ...} per Frames event
        self.notices: list[str] = []
        self.error: str | None = None
        self.queued_at, self.started_at, self.ended_at = time.time(), None, None
        self.version = 0  # counts changes, so a live page sends only what is new
        self._listeners: set[Callable[[], None]] = set()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    # -- the render's events ---------------------------------------------------------------
    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.Started):
            self.done, self.total = event.done, event.total
        elif isinstance(event, events.Frames):
            self.done, self.total, self.fps, self.eta = event.done, event.total, event.fps, event.eta
            if event.previews:
                self.frame = jpeg(event.previews[0])
                self.frame_index, self.frame_time = event.first + event.count - 1, time.time()
            if event.look:
                self.look.append({"frame": event.first + event.count - 1, **event.look})
        elif isinstance(event, events.Notice):
            self.notices.append(event.message)
        self.changed()

    def listen(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` (from the render's thread) on every change; returns the unsubscribe."""
        self._listeners.add(wake)
        return lambda: self._listeners.discard(wake)

    def changed(self) -> None:
        self.version += 1
        for wake in list(self._listeners):
            try:
                wake()
            except Exception:  # a page that went away
                self._listeners.discard(wake)

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "done": self.done, "total": self.total, "fps": self.fps, "eta": self.eta,
                "error": self.error, "notices": self.notices[-5:], "preview": self.preview,
                "queued_at": self.queued_at, "started_at": self.started_at, "ended_at": self.ended_at}  # fmt: skip


class Worker:
    """Jobs by render id, and one thread per device that renders that device's queue in order."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self._pending: dict[str, list[Job]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._cond = threading.Condition()
        self._closing = False

    def submit(self, job: Job) -> Job:
        with self._cond:
            current = self.jobs.get(job.id)
            if current is not None and current.active:
                raise ZoomdreamError(f"{job.id} is already {current.state}; stop it first or wait for it")
            self.jobs[job.id] = job
            self._pending.setdefault(job.device, []).append(job)
            if job.device not in self._threads:
                thread = threading.Thread(target=self._run, args=(job.device,), name=f"studio-{job.device}", daemon=True)
                self._threads[job.device] = thread
                thread.start()
            self._cond.notify_all()
        job.changed()
        return job

    def position(self, job: Job) -> int | None:
        """How many jobs wait before this queued one (0: it is next), or None."""
        with self._cond:
            queue = self._pending.get(job.device, [])
            return queue.index(job) if job in queue else None

    def stop(self, job: Job) -> None:
        """Set the stop token: a queued job leaves the queue; a running one stops after its frame."""
        job.stop.set()
        with self._cond:
            queue = self._pending.get(job.device, [])
            if job in queue:
                queue.remove(job)
                self.jobs.pop(job.id, None)
                job.state = "cancelled"
            elif job.state == "rendering":
                job.state = "stopping"
        job.changed()

    def close(self, timeout: float = 60.0) -> None:
        """Stop every job (each keeps its checkpoint and playable video) and end the threads."""
        with self._cond:
            self._closing = True
            for queue in self._pending.values():
                for job in queue:
                    job.stop.set()
                queue.clear()
            running = [job for job in self.jobs.values() if job.active]
            self._cond.notify_all()
        for job in running:
            job.stop.set()
        deadline = time.time() + timeout
        for thread in list(self._threads.values()):
            thread.join(max(0.0, deadline - time.time()))

    def _next(self, device: str) -> Job | None:
        with self._cond:
            while not self._closing and not self._pending.get(device):
                self._cond.wait()
            if self._closing:
                return None
            return self._pending[device].pop(0)

    def _run(self, device: str) -> None:
        while (job := self._next(device)) is not None:
            self._render(job)

    def _render(self, job: Job) -> None:
        job.state, job.started_at = ("stopping" if job.stop.is_set() else "rendering"), time.time()
        job.changed()
        try:
            render(job.config, events=job, stop=job.stop, resume=job.resume, overwrite=job.overwrite, preview=job.preview)
            job.state = "measuring"
            job.changed()
            self._look(job)
            job.state = "finished"
        except Interrupted as stopped:
            job.state = "interrupted"
            job.notices.append(str(stopped))
        except ZoomdreamError as error:
            job.state, job.error = "failed", str(error)
        except Exception as error:  # the studio keeps serving; the traceback goes to its log
            log.exception("render %s failed", job.id)
            job.state, job.error = "failed", f"internal error: {type(error).__name__}: {error}"
        job.ended_at = time.time()
        job.changed()

    @staticmethod
    def _look(job: Job) -> None:
        """look.json, look.png and the contact sheet, so the render's page shows its verdicts."""
        try:
            look(job.folder)
        except Exception as error:  # a render without a readable video still finished
            job.notices.append(f"look: {error}")
