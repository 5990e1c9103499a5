"""What the pages and the API say about a render, read from its folder (and its job, while the
studio renders it): the folder is the truth, so renders made by the CLI, a sweep or an earlier
studio show the same way, and a restarted studio finds its interrupted renders."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ...errors import ZoomdreamError
from ...io.files import read_json
from ...run.folder import Lane, RenderFolder
from .jobs import Job

PICTURES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
THUMB_SIDE = 320
_thumbs: dict[tuple[str, float], bytes] = {}


def file_url(root: Path, path: Path | None) -> str | None:
    """The /files/ address of a file in the renders folder (None for one that is not there, or leads out)."""
    if path is None or not path.exists() or not path.resolve().is_relative_to(root.resolve()):
        return None
    stamp = int(path.stat().st_mtime)
    return "/files/" + quote(path.resolve().relative_to(root.resolve()).as_posix()) + f"?v={stamp}"


def summary(root: Path, rid: str, folder: RenderFolder | None, job: Job | None) -> dict[str, Any]:
    """One row of the renders page."""
    config = _config(folder) if folder else (job.config if job else None)
    state = folder.state() if folder else "new"
    progress = folder.progress() if folder else {"done": 0, "total": 0, "seconds": 0.0}
    record = folder.read_record() if folder else {}
    total = progress["total"] or (config.frame_count if config else 0)
    row: dict[str, Any] = {
        "id": rid, "name": config.name if config else Path(rid).name, "state": state,
        "done": progress["done"] if state != "finished" else total, "total": total, "seconds": progress["seconds"],
        "eta": _eta(progress) if state == "rendering" else None, "fps": config.fps if config else None,
        "size": record.get("size") or (list(config.frame_size) if config else None),
        "length": round(total / config.fps, 2) if config else None, "device": record.get("device"),
        "seconds_per_frame": record.get("seconds_per_frame") or _per_frame(progress),
        "is_preview": rid.endswith("/preview") or rid == "preview", "error": None, "queue": None,
        "thumb": f"/api/renders/{quote(rid)}/thumb.jpg", "modified": _modified(folder),
    }  # fmt: skip
    if job is not None and (job.active or job.state == "failed"):
        row.update(state=job.state, done=job.done, total=job.total or total, eta=job.eta, error=job.error, fps_now=job.fps,
                   device=row["device"] or job.device)
        if job.state == "rendering" and job.fps:
            row["seconds_per_frame"] = round(1 / job.fps, 4)
    return row


def detail(root: Path, project: Path, rid: str, folder: RenderFolder | None, job: Job | None) -> dict[str, Any]:
    """A render's page: the summary, its lanes (video, sheet, look), its recipe and what it said."""
    from ...run.proxy import playable
    from .recipes import editable

    row = summary(root, rid, folder, job)
    config = _config(folder) if folder else None
    row["lanes"] = []
    for lane in _lanes(folder):
        try:
            video = playable(lane) if row["state"] in ("finished", "interrupted") else None
        except ZoomdreamError as error:
            video, row["error"] = None, str(error)
        verdicts, curves = _look(lane, folder)
        row["lanes"].append({"name": lane.stem, "video": file_url(root, video), "sheet": file_url(root, lane.folder / "sheet.jpg"),
                             "look_png": file_url(root, lane.folder / "look.png"), "verdicts": verdicts, "curves": curves})  # fmt: skip
    row["recipe"] = folder.recipe.read_text() if folder and folder.recipe.exists() else None
    parent = RenderFolder(folder.path.parent) if folder and row["is_preview"] else None
    base = _config(parent) if parent and parent.recipe.exists() else config
    row["editable"] = editable(base, project) if base else (editable(job.config, project) if job else None)
    row["preview_id"] = f"{rid}/preview" if folder and folder.preview.recipe.exists() else None
    row["parent_id"] = rid.rsplit("/", 1)[0] if parent and parent.recipe.exists() else None
    row["record"] = {k: v for k, v in (folder.read_record() if folder else {}).items() if k not in ("look", "fingerprint")}
    if job is not None:
        row["job"] = job.status()
    return row


def _look(lane: Lane, folder: RenderFolder | None) -> tuple[list[dict], dict[str, list]]:
    """The verdicts of ``zoomdream look`` (look.json), and the curves (look.json's, else the record's)."""
    data = read_json(lane.folder / "look.json")
    curves = data.get("curves") or ((folder.read_record().get("look") or {}).get(lane.stem, {}) if folder else {})
    return data.get("verdicts", []), curves


def _lanes(folder: RenderFolder | None) -> list[Lane]:
    if folder is None or not folder.recipe.exists():
        return []
    try:
        return folder.lanes()
    except ZoomdreamError:
        return []


def _config(folder: RenderFolder | None) -> Any:
    if folder is None or not folder.recipe.exists():
        return None
    try:
        return folder.config
    except ZoomdreamError:
        return None


def _eta(progress: dict[str, Any]) -> float | None:
    done, total, seconds = progress["done"], progress["total"], progress["seconds"]
    return round(seconds / done * (total - done), 1) if done and seconds else None


def _per_frame(progress: dict[str, Any]) -> float | None:
    return round(progress["seconds"] / progress["done"], 4) if progress["done"] and progress["seconds"] else None


def _modified(folder: RenderFolder | None) -> float:
    try:
        return folder.recipe.stat().st_mtime if folder else 0.0
    except OSError:
        return 0.0


def thumbnail(folder: RenderFolder | None, job: Job | None) -> bytes | None:
    """A small JPEG of the render: the live frame, else its newest frame file, contact sheet or video."""
    if job is not None and job.frame and job.active:
        return job.frame
    for lane in _lanes(folder)[:1]:
        pictures = [p for p in sorted(lane.frames.glob("*")) if p.suffix.lower() in PICTURES] if lane.frames.is_dir() else []
        for source in (pictures[-1] if pictures else None, lane.video, lane.folder / "sheet.jpg"):
            if source is not None and source.exists() and source.resolve().is_relative_to(folder.path.resolve()):  # type: ignore[union-attr]
                key = (str(source), source.stat().st_mtime)
                if key not in _thumbs:
                    picture = _picture(source)
                    if picture is None:
                        continue
                    if len(_thumbs) > 512:  # a studio left running for weeks keeps only recent ones
                        _thumbs.clear()
                    _thumbs[key] = picture
                return _thumbs[key]
    return job.frame if job is not None else None


def _picture(source: Path) -> bytes | None:
    from PIL import Image

    try:
        if source.suffix.lower() not in PICTURES:  # a video: its last frame, one ffmpeg call
            from ...io import ffmpeg

            done = ffmpeg.run(["-v", "error", "-nostdin", "-sseof", "-0.3", "-i", str(source), "-update", "1",
                               "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"])  # fmt: skip
            if done.returncode != 0 or not done.stdout:
                return None
            source = io.BytesIO(done.stdout)  # type: ignore[assignment]
        image = Image.open(source)
        image.load()
        image = image.convert("RGB")
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        return buffer.getvalue()
    except Exception:  # a half-written or unreadable file: no thumbnail, never an error page
        return None
