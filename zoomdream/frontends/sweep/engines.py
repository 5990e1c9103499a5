"""Where cells render: each engine is one entry of ``ENGINES``, given the cells and a ``Board``.

``local`` runs one worker thread per GPU, each pinned to its device; on a CPU one cell at a
time, since a render already keeps every core busy (two at once only share them: see
``benchmarks/sweep.py``). ``ray`` makes each cell a task of a Ray cluster, one GPU per task
where the cluster has GPUs; Ray retries a task whose worker died, and the retry resumes the
cell from its checkpoint. Neither engine schedules anything itself beyond handing out cells.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from typing import Any, Callable, Protocol, Sequence

from .cell import Outcome, ray_task, render_cell
from .grid import Cell, SweepError

POLL_SECONDS = 1.0


class Board(Protocol):
    """What an engine reports to (``runner.Board``): thread-safe."""

    stop: Any  # the sweep's stop token (``is_set()``)
    stop_file: Any  # the same stop, as a file every node can see

    def begin(self, cell: Cell) -> None: ...
    def progress(self, cell: Cell, done: int, total: int) -> None: ...
    def notice(self, cell: Cell, message: str) -> None: ...
    def end(self, outcome: Outcome) -> None: ...


def local(cells: Sequence[Cell], board: Board, *, overwrite: bool = False, hooks: Sequence[Callable] = (), **_: Any) -> None:
    """One worker thread per GPU (``cuda:N``), or one on a CPU; each takes the next cell."""
    import torch

    from ...run import events

    slots: list[str | None] = [f"cuda:{i}" for i in range(torch.cuda.device_count())] or [None]
    todo: queue.SimpleQueue[Cell] = queue.SimpleQueue()
    for cell in cells:
        todo.put(cell)
    told: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()

    def subscriber(cell: Cell) -> Callable[[Any], None]:
        def hear(event: Any) -> None:
            if isinstance(event, (events.Started, events.Frames)):
                board.progress(cell, event.done, event.total)
            elif isinstance(event, events.Notice) and "already finished" not in event.message:
                board.notice(cell, event.message)

        return hear

    def work(slot: str | None) -> None:
        try:
            while not board.stop.is_set():
                try:
                    cell = todo.get_nowait()
                except queue.Empty:
                    break
                told.put(("begin", cell))
                told.put(("end", render_cell(cell, board.stop, [subscriber(cell)], slot, overwrite, hooks)))
        finally:
            told.put(("exit", None))

    # daemon threads: a second Ctrl-C leaves at once, as `zoomdream render` does (every file is atomic)
    workers = [threading.Thread(target=work, args=(slot,), daemon=True, name=f"sweep-{slot or 'cpu'}") for slot in slots[: len(cells)]]
    for worker in workers:
        worker.start()
    running = len(workers)
    while running:
        try:
            kind, item = told.get(timeout=POLL_SECONDS)
        except queue.Empty:
            continue
        if kind == "begin":
            board.begin(item)
        elif kind == "end":
            board.end(item)
        else:
            running -= 1


def start_local(cpus: int | None = None) -> None:
    """A Ray cluster on this machine. Its workers run at the driver's priority, not Ray's default
    nice 15, so a cell renders as fast as under ``local`` on a machine that is busy otherwise."""
    import ray as cluster

    cluster.init(num_cpus=cpus or os.cpu_count(), include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False, _system_config={"worker_niceness": 0})  # fmt: skip


def ray(
    cells: Sequence[Cell],
    board: Board,
    *,
    overwrite: bool = False,
    hooks: Sequence[Callable] = (),
    address: str | None = None,
    retries: int = 3,
    cpus_per_cell: float | None = None,
    **_: Any,
) -> None:
    """Each cell one Ray task (``max_retries``: a lost worker's cell resumes elsewhere); progress
    is read from the cells' folders, which every node writes to the shared output."""
    try:
        import ray as cluster
    except ImportError:
        raise SweepError('--engine ray needs Ray: pip install "zoomdream[ray]"') from None
    from ...run.folder import RenderFolder

    started = not cluster.is_initialized()
    if started:
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if address:
                cluster.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            else:
                start_local()
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise SweepError(f"--address {address}: cannot reach the Ray cluster ({str(error).splitlines()[0]})") from None
        finally:
            if threading.current_thread() is threading.main_thread():
                for number, handler in handlers.items():  # ray.init takes SIGTERM; the sweep stops cleanly on it
                    signal.signal(number, handler)
    try:
        gpus = cluster.cluster_resources().get("GPU", 0)
        options: dict[str, Any] = {"max_retries": retries, "retry_exceptions": False}
        if gpus:
            options["num_gpus"] = 1
        else:  # a CPU render uses every core of its node: one cell per node unless told otherwise
            nodes = [n["Resources"].get("CPU", 0) for n in cluster.nodes() if n.get("Alive") and n["Resources"].get("CPU")]
            options["num_cpus"] = cpus_per_cell or (min(nodes) if nodes else 1)
        task = cluster.remote(ray_task).options(**options)
        device = "cuda" if gpus else None  # Ray shows each task its own GPU as cuda:0
        refs = {task.remote(cell, str(board.stop_file), device, overwrite, list(hooks)): cell for cell in cells}
        pending, flagged, running = list(refs), False, set()
        while pending:
            if board.stop.is_set() and not flagged:
                board.stop_file.touch()  # every running cell finishes its frame, checkpoints and joins its video
                flagged = True
            ready, pending = cluster.wait(pending, num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                cell = refs[ref]
                try:
                    outcome = cluster.get(ref)
                except cluster.exceptions.RayError as error:
                    outcome = Outcome(cell.name, "failed", total=cell.frames,
                                      error=f"Ray gave up on the task after {retries} retries ({type(error).__name__})")  # fmt: skip
                if cell.name not in running:
                    board.begin(cell)
                board.end(outcome)
                running.discard(cell.name)
            for ref in pending:
                cell = refs[ref]
                folder = RenderFolder(cell.output)
                if folder.state() == "rendering":
                    if cell.name not in running:
                        running.add(cell.name)
                        board.begin(cell)
                    done = folder.progress()
                    board.progress(cell, done["done"], done["total"] or cell.frames)
    finally:
        if started:
            cluster.shutdown()


ENGINES: dict[str, Callable[..., None]] = {"local": local, "ray": ray}
