"""``sweep.json`` and ``index.html``: every cell's values, state, time and look, read from its folder.

Everything shown is read back from the cells' render folders (``render.json``, ``look.json``,
``sheet.jpg``, the playable video), so a page rewritten by a later run of the same sweep, or by
another machine, says the same. The page is one static file with its data inside it, because a
browser opening ``file://`` may not fetch ``sweep.json``; no server, no CDN.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from ...io.atomic import write_atomic
from ...io.files import read_json
from .grid import Cell, Sweep
from .template import PAGE

CURVES = ("luma", "saturation", "contrast", "clip", "boil", "centroid")  # look's curves, in its order


def _link(path: Path | None, root: Path) -> str | None:
    """A URL relative to the page, with the file's time so a refreshed page shows the new file."""
    if path is None or not path.exists():
        return None
    return f"{quote(path.relative_to(root).as_posix())}?v={int(path.stat().st_mtime)}"


def _lanes(cell: Cell, state: str, root: Path) -> list[dict[str, Any]]:
    from ...errors import ZoomdreamError
    from ...run.folder import RenderFolder
    from ...run.proxy import playable

    folder = RenderFolder(cell.output)
    if not folder.recipe.exists():
        return []
    try:
        lanes = folder.lanes()
    except ZoomdreamError:
        return []
    out = []
    for lane in lanes:
        video = None
        if state == "finished":
            try:
                video = playable(lane)
            except ZoomdreamError:
                video = None
        elif state != "rendering" and lane.video is not None and lane.config.output.video.codec == "libx264":  # type: ignore[union-attr]
            video = lane.video  # the video so far, joined when the cell stopped
        look = read_json(lane.folder / "look.json") if state == "finished" else {}
        verdicts = look.get("verdicts", [])
        out.append({
            "stem": lane.stem,
            "video": _link(video, root),
            "sheet": _link(lane.folder / "sheet.jpg", root) if look else None,
            "plot": _link(lane.folder / "look.png", root) if look else None,
            "verdicts": verdicts,
            "figures": {v["curve"]: v["figure"] for v in verdicts},
            "words": {v["curve"]: v["word"] for v in verdicts},
        })  # fmt: skip
    return out


def snapshot(sweep: Sweep, live: Mapping[str, dict[str, Any]], engine: str, running: bool) -> dict[str, Any]:
    """The sweep as data: ``live`` holds what the runner knows beyond the folders (a cell rendering
    now, a failure's message)."""
    from ...run.folder import RenderFolder

    cells = []
    for cell in sweep.cells:
        folder = RenderFolder(cell.output)
        known = live.get(cell.name, {})
        state = known.get("state") or folder.state()
        record = folder.read_record() if state == "finished" else {}
        progress = folder.progress()
        done = int(known.get("done", progress["done"] if state != "new" else 0))
        seconds = record.get("seconds", progress["seconds"] if state != "new" else None)
        label = cell.name
        for key, _ in cell.grid[1:]:  # a place to wrap before each value's key
            label = label.replace(f"_{key}=", f"_\u200b{key}=")
        cells.append({
            "name": cell.name,
            "label": label,
            "recipe": cell.recipe,
            "values": sweep.values.get(cell.name, {}),
            "grid": {key: value for key, value in cell.grid},
            "state": state,
            "done": record.get("frames", done),
            "total": cell.frames,
            "seconds": seconds,
            "seconds_per_frame": record.get("seconds_per_frame"),
            "device": record.get("device", known.get("device")),
            "error": known.get("error"),
            "folder": quote(cell.output.relative_to(sweep.folder).as_posix()),
            "command": cell.command(),
            "lanes": _lanes(cell, state, sweep.folder),
        })  # fmt: skip
    states = [c["state"] for c in cells]
    return {
        "sweep": sweep.name,
        "folder": str(sweep.folder),
        "preview": sweep.preview,
        "engine": engine,
        "running": running,
        "updated": time.strftime("%Y-%m-%d %H:%M:%S"),
        "keys": sweep.keys,
        "curves": list(CURVES),
        "counts": {state: states.count(state) for state in dict.fromkeys(states)},
        "cells": cells,
    }


def write(sweep: Sweep, data: dict[str, Any]) -> None:
    """sweep.json and index.html (preview.json and preview.html for a preview sweep), atomically."""
    sweep.folder.mkdir(parents=True, exist_ok=True)
    write_atomic(sweep.record, json.dumps(data, indent=1, default=str) + "\n")
    write_atomic(sweep.page, html(data))


def html(data: dict[str, Any]) -> str:
    """The page: the template with the data inside it (``</`` escaped, so no value ends the script)."""
    payload = json.dumps(data, default=str).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = str(data["sweep"]).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return PAGE.replace("{{title}}", title).replace("{{data}}", payload)
