"""Run a planned sweep: skip what is finished, hand the rest to an engine, keep the page current.

The ``Board`` is the one view of every cell: engines report cells starting, their frames and
their outcomes to it (from worker threads, or from polling the cells' folders for Ray), and it
draws one progress bar for the whole sweep and rewrites ``sweep.json`` and ``index.html`` each
time a cell starts or ends.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import page
from .cell import Outcome, needs_turn
from .engines import ENGINES
from .grid import Cell, Sweep, SweepError

PAGE_SECONDS = 5.0  # the page's frame counts are this fresh while cells render


@dataclass
class Report:
    """What one run of the sweep did."""

    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # finished before this run

    def named(self, state: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.state == state]


class Never:
    def is_set(self) -> bool:
        return False


class Board:
    """Every cell's progress in one bar, a line per cell that ends, and the page refreshed."""

    def __init__(self, sweep: Sweep, todo: Sequence[Cell], stop: Any, engine: str, quiet: bool = False, say: Callable[[str], None] | None = None):
        from tqdm import tqdm

        self.sweep, self.engine, self.stop, self.stop_file = sweep, engine, stop or Never(), sweep.stop_file
        self.live: dict[str, dict[str, Any]] = {}
        self.done = {cell.name: 0 for cell in todo}
        self.lock = threading.RLock()
        self.report = Report()
        self.quiet = quiet
        self.bar = tqdm(total=sum(cell.frames for cell in todo), unit="frame", desc=f"{sweep.name} (0/{len(todo)} cells)",
                        disable=quiet or not todo, file=sys.stderr, dynamic_ncols=True)  # fmt: skip
        self.say = say or (lambda line: self.bar.write(line, file=sys.stderr))
        self.todo = len(todo)
        self.drawn = 0.0

    def begin(self, cell: Cell) -> None:
        with self.lock:
            self.live[cell.name] = {"state": "rendering"}
            self.refresh()

    def progress(self, cell: Cell, done: int, total: int) -> None:
        with self.lock:
            self.done[cell.name] = done
            self.live.setdefault(cell.name, {"state": "rendering"})["done"] = done
            self.bar.n = sum(self.done.values())
            self.bar.refresh()
            if time.monotonic() - self.drawn > PAGE_SECONDS:
                self.refresh()

    def notice(self, cell: Cell, message: str) -> None:
        with self.lock:
            self.say(f"zoomdream: {cell.name}: {message}")

    def end(self, outcome: Outcome) -> None:
        with self.lock:
            self.report.outcomes.append(outcome)
            self.done[outcome.name] = outcome.done
            self.live[outcome.name] = {"state": "failed", "error": outcome.error} if outcome.state == "failed" else {}
            self.bar.n = sum(self.done.values())
            self.bar.set_description(f"{self.sweep.name} ({len(self.report.named('finished'))}/{self.todo} cells)")
            if not self.quiet or outcome.state == "failed":
                self.say(self.line(outcome))
            self.refresh()

    def line(self, outcome: Outcome) -> str:
        if outcome.state == "failed":
            return f"zoomdream: {outcome.name}: failed: {outcome.error}"
        where = f" on {outcome.device}" + (f" ({outcome.host})" if self.engine == "ray" and outcome.host else "")
        if outcome.state == "interrupted" and not outcome.device:
            return f"zoomdream: {outcome.name}: not started, the sweep is stopping"
        if outcome.state == "interrupted":
            return f"zoomdream: {outcome.name}: stopped at frame {outcome.done} of {outcome.total}{where}"
        resumed = f", resumed at frame {outcome.resumed}" if outcome.resumed else ""
        return f"zoomdream: {outcome.name}: finished {outcome.total} frames in {outcome.seconds:.1f} s{where}{resumed}; look: {self.looked(outcome.name)}"

    def looked(self, name: str) -> str:
        from ...errors import ZoomdreamError
        from ...run.folder import RenderFolder

        cell = next(c for c in self.sweep.cells if c.name == name)
        words = []
        try:
            for lane in RenderFolder(cell.output).lanes():
                verdicts = json.loads((lane.folder / "look.json").read_text())["verdicts"]
                words += [f"{v['curve']} {v['word']}" for v in verdicts if v["word"] != "ok"]
        except (OSError, ValueError, KeyError, TypeError, ZoomdreamError):
            return "no look.json"
        return ", ".join(words) or "all ok"

    def refresh(self, running: bool = True) -> None:
        with self.lock:
            page.write(self.sweep, page.snapshot(self.sweep, self.live, self.engine, running))
            self.drawn = time.monotonic()

    def close(self) -> None:
        self.bar.close()


def run(
    sweep: Sweep,
    *,
    engine: str = "local",
    stop: Any = None,
    overwrite: bool = False,
    hooks: Sequence[Callable[[str, Any], Any]] = (),
    quiet: bool = False,
    say: Callable[[str], None] | None = None,
    **options: Any,
) -> Report:
    """Render every cell that is not finished (all of them with ``overwrite``) with ``engine``;
    ``hooks`` get ``(cell name, event)`` on the machine where the cell renders. ``options`` go
    to the engine (``address``, ``retries``, ``cpus_per_cell`` for Ray)."""
    if engine not in ENGINES:
        raise SweepError(f"--engine {engine}: use one of {', '.join(ENGINES)}")
    sweep.folder.mkdir(parents=True, exist_ok=True)
    sweep.stop_file.unlink(missing_ok=True)
    todo = [cell for cell in sweep.cells if needs_turn(cell, overwrite)]
    board = Board(sweep, todo, stop, engine, quiet, say)
    names = {cell.name for cell in todo}
    board.report.skipped = [cell.name for cell in sweep.cells if cell.name not in names]
    try:
        board.refresh(running=bool(todo))
        if todo:
            ENGINES[engine](todo, board, overwrite=overwrite, hooks=hooks, **options)
    finally:
        board.close()
        sweep.stop_file.unlink(missing_ok=True)
        board.live = {name: live for name, live in board.live.items() if live.get("state") == "failed"}
        board.refresh(running=False)
    return board.report
