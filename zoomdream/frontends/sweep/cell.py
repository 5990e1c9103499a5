"""One cell rendered where it runs: the same function on a local worker thread and in a Ray task.

A cell always renders with ``resume=True``: a new folder starts at frame 0, an interrupted one
continues from its checkpoint (so a Ray retry after a lost worker costs at most one checkpoint
interval), and a finished one returns at once. After the render the cell is looked at
(``look.json``, ``sheet.jpg``) and given a browser-playable video, on the machine that rendered
it, so the driver only reads small files.
"""

from __future__ import annotations

import functools
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ...errors import ZoomdreamError
from .grid import Cell

SHEET_FRAMES = 8


@dataclass
class Outcome:
    """What one cell's turn did; plain data, so it travels back from a Ray worker."""

    name: str
    state: str  # finished | interrupted | failed
    done: int = 0
    total: int = 0
    resumed: int = 0  # the frame this turn continued from (0: from the start)
    seconds: float = 0.0  # wall time of this turn, look included
    device: str = ""
    host: str = ""
    error: str = ""


class FileStop:
    """A stop token every node sees: set while the sweep's stop file exists (on the shared folder)."""

    def __init__(self, path: str | Path):
        self.path = str(path)

    def is_set(self) -> bool:
        return os.path.exists(self.path)


def needs_turn(cell: Cell, overwrite: bool = False) -> bool:
    """Whether the cell must render, or only be looked at: anything but a finished, looked-at cell."""
    from ...run.folder import RenderFolder

    folder = RenderFolder(cell.output)
    if overwrite or folder.state() != "finished":
        return True
    return not all((lane.folder / "look.json").exists() and (lane.folder / "sheet.jpg").exists() for lane in folder.lanes())


def render_cell(
    cell: Cell,
    stop: Any = None,
    events: Sequence[Callable[[Any], Any]] = (),
    device: str | None = None,
    overwrite: bool = False,
    hooks: Sequence[Callable[[str, Any], Any]] = (),
) -> Outcome:
    """Render (or resume) one cell, then look at it; every failure becomes the outcome's error, so
    one bad cell never stops the others. ``hooks`` get ``(cell name, event)`` where the cell runs."""
    from ...api import Interrupted, look, render
    from ...run import events as kinds
    from ...run.folder import RenderFolder
    from ...run.proxy import playable

    began = time.perf_counter()
    outcome = Outcome(cell.name, "failed", total=cell.frames, host=socket.gethostname())

    def started(event: Any) -> None:
        if isinstance(event, kinds.Started):
            outcome.resumed = outcome.done = event.done
            outcome.device = event.device

    subscribers = [started, *events, *(functools.partial(hook, cell.name) for hook in hooks)]
    try:
        if stop is not None and stop.is_set():
            outcome.state, outcome.done = "interrupted", RenderFolder(cell.output).progress()["done"]
            return outcome
        config = cell.config(device)
        result = render(config, events=subscribers, stop=stop, resume=not overwrite, overwrite=overwrite, preview=cell.preview)
        outcome.done, outcome.device = result.frames, outcome.device or result.device
        folder = RenderFolder(result.folder)
        look(folder.path, SHEET_FRAMES)
        for lane in folder.lanes():
            playable(lane)
        outcome.state = "finished"
    except Interrupted as stopped:
        outcome.state, outcome.done = "interrupted", stopped.done
    except ZoomdreamError as error:
        outcome.error = str(error)
    except Exception as error:  # a bug or an out-of-memory in one cell is that cell's failure
        outcome.error = f"{type(error).__name__}: {error}"
    finally:
        outcome.seconds = time.perf_counter() - began
    return outcome



def ray_task(cell: Cell, stop_file: str, device: str | None, overwrite: bool, hooks: Sequence[Callable]) -> Outcome:
    """The body of a Ray task: torch gets the CPUs Ray gave the task, the stop token is the file."""
    import ray
    import torch

    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    if cpus:
        torch.set_num_threads(max(1, int(cpus)))
    return render_cell(cell, FileStop(stop_file), (), device, overwrite, hooks)
