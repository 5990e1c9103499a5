"""The studio's actions, apart from HTTP: list, start, stop, resume and preview renders inside one
renders folder. The routes only translate; these checks hold for every front-end of them."""

from __future__ import annotations

import base64
import functools
import time
from pathlib import Path
from typing import Any

from ...config import Config
from ...errors import ZoomdreamError
from ...run.folder import RenderFolder, find
from . import recipes, views
from .jobs import ACTIVE, Job, Worker
from .security import Refused, contained, inside


class Conflict(ZoomdreamError):
    """The render is in a state where the action makes no sense (HTTP 409)."""


class NotFound(ZoomdreamError):
    """No render by that id (HTTP 404)."""


@functools.cache
def device_key(name: str) -> str:
    """The queue a recipe's device renders on: ``auto`` and ``cuda`` name the device they pick."""
    if name == "auto":
        import torch

        name = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    return "cuda:0" if name == "cuda" else name


def resumable(folder: RenderFolder) -> Config:
    """The folder's recipe with the fixed settings its checkpoint was made with.

    ``config.yaml`` holds the resolved recipe (the model's default objective written out), while
    the checkpoint keeps the fingerprint of the recipe as given (``dream.objective: null``): both
    render the same frames, so the checkpoint's values are taken where they differ, and any
    render folder (the CLI's too) can be resumed from the page.
    """
    from ...config import differences, load_config
    from ...config.loading import set_dotted
    from ...run import checkpoint

    config = folder.config
    saved = checkpoint.load(folder.checkpoint) if folder.checkpoint.exists() else None
    if saved is None or not differences(saved.fingerprint, config.fingerprint()):
        return config
    raw = config.model_dump(mode="json")
    for key, value in saved.fingerprint.items():
        if config.fingerprint().get(key) != value:
            set_dotted(raw, key, value)
    try:
        adopted = load_config(raw)
    except ZoomdreamError:
        return config  # the render says which setting changed
    return adopted if not differences(saved.fingerprint, adopted.fingerprint()) else config


class Studio:
    """One renders folder, the folders recipes may name files in, and the worker that renders."""

    def __init__(self, renders: Path, allowed: list[Path] | None = None):
        self.renders = Path(renders).resolve()
        self.renders.mkdir(parents=True, exist_ok=True)
        self.project = self.renders.parent
        self.allowed = [self.project, *(Path(p).resolve() for p in allowed or [])]
        self.worker = Worker()
        self.closing = False

    # -- finding ---------------------------------------------------------------------------
    def rid(self, path: Path) -> str:
        return Path(path).resolve().relative_to(self.renders).as_posix()

    def lookup(self, rid: str) -> tuple[RenderFolder | None, Job | None]:
        """The render folder and job of ``rid``; ``Refused`` for a path that leaves the folder,
        ``NotFound`` for a folder that holds no render."""
        path = contained(self.renders, rid, "render")
        job = self.worker.jobs.get(rid)
        folder = RenderFolder(path)
        if folder.recipe.is_file():
            if not inside(folder.recipe, [self.renders]):
                raise Refused(403, f"render {rid!r} refused: its config.yaml leads outside the renders folder")
            return folder, job
        if job is not None:
            return (folder if path.is_dir() else None), job
        raise NotFound(f"no render {rid!r} in {self.renders}")

    def listing(self) -> list[dict[str, Any]]:
        rows, seen = [], set()
        for folder in find(self.renders):
            if not inside(folder.recipe, [self.renders]) or any(p.startswith(".") for p in folder.path.relative_to(self.renders).parts):
                continue
            rid = self.rid(folder.path)
            seen.add(rid)
            rows.append(views.summary(self.renders, rid, folder, self.worker.jobs.get(rid)))
        waiting = [job for rid, job in list(self.worker.jobs.items()) if rid not in seen and job.active]
        rows = [views.summary(self.renders, job.id, None, job) for job in waiting] + rows
        for row in rows:
            job = self.worker.jobs.get(row["id"])
            row["queue"] = self.worker.position(job) if job and job.state == "queued" else None
        return rows

    def detail(self, rid: str) -> dict[str, Any]:
        folder, job = self.lookup(rid)
        row = views.detail(self.renders, self.project, rid, folder, job)
        row["queue"] = self.worker.position(job) if job and job.state == "queued" else None
        return row

    # -- actions ---------------------------------------------------------------------------
    def start(self, raw: dict, preview: bool = False, overwrite: bool = False) -> dict[str, Any]:
        """Queue a render (or its preview) of a posted recipe; ``ConfigError`` for a bad one."""
        config = recipes.prepare(raw, self.renders, self.project, self.allowed)
        target = Path(config.output_dir()) / "preview" if preview else Path(config.output_dir())
        state = self._free(self.rid(target), RenderFolder(target))
        if not preview and state != "new" and not (overwrite or config.output.overwrite):
            raise Conflict(f"{self.rid(target)} already holds a {state} render; replace it with overwrite, "
                           f"{'resume it, ' if state == 'interrupted' else ''}or give the recipe another name")  # fmt: skip
        return self._queue(Job(self.rid(target), target, config, device_key(config.device), preview=preview,
                               overwrite=True if overwrite else None))  # fmt: skip

    def resume(self, rid: str) -> dict[str, Any]:
        folder, _ = self.lookup(rid)
        if folder is None or not folder.recipe.is_file():
            raise Conflict(f"{rid} has not started yet; nothing to resume")
        state = self._free(rid, folder)
        if state not in ("interrupted", "unfinished"):
            raise Conflict(f"{rid} is {state}; only an interrupted render can be resumed")
        config = resumable(folder)
        job = Job(rid, folder.path, config, device_key(config.device), resume=True)
        job.done = folder.progress()["done"]
        return self._queue(job)

    def preview(self, rid: str) -> dict[str, Any]:
        folder, _ = self.lookup(rid)
        if folder is None or not folder.recipe.is_file():
            raise Conflict(f"{rid} has no recipe yet; preview it from the editor")
        if views.summary(self.renders, rid, folder, None)["is_preview"] and RenderFolder(folder.path.parent).recipe.is_file():
            folder = RenderFolder(folder.path.parent)
        base: Config = folder.config
        target = folder.path / "preview"
        self._free(self.rid(target), RenderFolder(target))
        return self._queue(Job(self.rid(target), target, base, device_key(base.device), preview=True))

    def stop(self, rid: str) -> dict[str, Any]:
        folder, job = self.lookup(rid)
        if job is not None and job.active:
            self.worker.stop(job)
            return self.detail(rid) if job.state != "cancelled" or (folder and folder.recipe.is_file()) else {"id": rid, "state": "cancelled"}
        state = folder.state() if folder else "new"
        if state == "rendering":
            raise Conflict(f"{rid} is being rendered by another process; stop it there (Ctrl-C)")
        raise Conflict(f"{rid} is not rendering ({state}); nothing to stop")

    def look(self, rid: str) -> list[str]:
        from ...api import look

        folder, job = self.lookup(rid)
        if folder is None or (job is not None and job.active) or folder.state() != "finished":
            raise Conflict(f"{rid} is not finished; look measures a finished render")
        return look(folder.path)

    def live(self, rid: str, job: Job | None, folder: RenderFolder | None, since: int, frame: int) -> dict[str, Any]:
        """One message of the live view: the state, and the frame and look points it has not sent."""
        if job is None:
            row = views.summary(self.renders, rid, folder, None)
            return {"id": rid, **{k: row[k] for k in ("state", "done", "total", "eta")}, "look": [], "sent": time.time()}
        message = {"id": rid, **job.status(), "look": job.look[since:], "look_count": len(job.look), "sent": time.time()}
        if job.frame is not None and job.frame_index != frame:
            message.update(frame="data:image/jpeg;base64," + base64.b64encode(job.frame).decode(),
                           frame_index=job.frame_index, t=job.frame_time)  # fmt: skip
        return message

    # -- helpers ---------------------------------------------------------------------------
    def _free(self, rid: str, folder: RenderFolder) -> str:
        """The folder's state, or ``Conflict`` while something renders into it."""
        job = self.worker.jobs.get(rid)
        if job is not None and job.active:
            raise Conflict(f"{rid} is already {job.state}; stop it first or wait for it")
        state = folder.state()
        if state == "rendering":
            raise Conflict(f"{rid} is being rendered by another process; wait for it or stop it there")
        return state

    def _queue(self, job: Job) -> dict[str, Any]:
        self.worker.submit(job)
        row = views.summary(self.renders, job.id, None, job)
        row["queue"] = self.worker.position(job)
        return row

    def close(self) -> None:
        self.closing = True
        self.worker.close()


ACTIVE_STATES = ACTIVE
__all__ = ["ACTIVE_STATES", "Conflict", "NotFound", "Refused", "Studio", "device_key"]
