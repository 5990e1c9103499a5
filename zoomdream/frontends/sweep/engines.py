"""Where cells render: each engine is one entry of ``ENGINES``, given the cells and a ``Board``.

``local`` runs one worker per GPU, each pinned to its device; on a CPU one cell at a time with
every core (``cpus_per_cell`` makes it several at once: see ``benchmarks/sweep.py`` for what
each costs). ``ray`` makes each cell a task of a Ray cluster, one GPU per task
where the cluster has GPUs; Ray retries a task whose worker died, and the retry resumes the
cell from its checkpoint. Neither engine schedules anything itself beyond handing out cells.
"""

from __future__ import annotations

import logging
import multiprocessing
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


def local(
    cells: Sequence[Cell],
    board: Board,
    *,
    overwrite: bool = False,
    hooks: Sequence[Callable] = (),
    cpus_per_cell: int | None = None,
    **_: Any,
) -> None:
    """One worker per GPU (``cuda:N``); on a CPU one, or one per ``cpus_per_cell`` cores. A single
    worker is a thread of this process; several are processes each, because building a model
    traces it with torch.fx, which patches torch for every thread of its process."""
    import torch

    gpus = torch.cuda.device_count()
    count = max(1, (os.cpu_count() or 1) // cpus_per_cell) if cpus_per_cell and not gpus else 1
    slots: list[str | None] = ([f"cuda:{i}" for i in range(gpus)] or [None] * count)[: len(cells)]
    threads = cpus_per_cell if cpus_per_cell and not gpus else None
    context = multiprocessing.get_context("spawn")
    index, by_name, begun = context.Value("i", 0), {cell.name: cell for cell in cells}, set()
    told: Any
    if len(slots) == 1:  # no start-up, and hooks need not pickle
        told, stop, before = queue.SimpleQueue(), board.stop, torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        workers: list[Any] = [threading.Thread(target=work, args=(cells, index, told, stop, slots[0], None, overwrite, hooks, False), daemon=True)]
    else:
        told, stop, before = context.Queue(), context.Event(), None
        workers = [context.Process(target=work, args=(cells, index, told, stop, slot, threads, overwrite, list(hooks), True), daemon=True)
                   for slot in slots]  # fmt: skip
    for worker in workers:
        worker.start()
    running = len(workers)
    try:
        while running:
            if board.stop.is_set() and not stop.is_set():
                stop.set()
            try:
                kind, name, *rest = told.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not any(worker.is_alive() for worker in workers):  # a worker process killed (an OOM kill)
                    for name in begun:
                        board.end(Outcome(name, "failed", total=by_name[name].frames, error="its worker process died"))
                    break
                continue
            if kind == "begin":
                begun.add(name)
                board.begin(by_name[name])
            elif kind == "progress":
                board.progress(by_name[name], *rest)
            elif kind == "notice":
                board.notice(by_name[name], *rest)
            elif kind == "end":
                begun.discard(name)
                board.end(rest[0])
            else:
                running -= 1
    finally:
        if before is not None:
            torch.set_num_threads(before)
        for worker in workers:
            if running and isinstance(worker, multiprocessing.process.BaseProcess):
                worker.terminate()  # a second Ctrl-C: leave at once, as `zoomdream render` does (every file is atomic)
            worker.join(timeout=None if not running else 5)


def work(cells: Sequence[Cell], index: Any, told: Any, stop: Any, slot: str | None, threads: int | None,
         overwrite: bool, hooks: Sequence[Callable], child: bool) -> None:  # fmt: skip
    """One local worker (a thread, or a spawned process): the next cell until none is left or the
    sweep stops; what it hears goes to the driver through ``told``."""
    from ...run import events

    if child:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the stop token stops us
        if threads:
            import torch

            torch.set_num_threads(threads)

    def relay(cell: Cell) -> Callable[[Any], None]:
        def hear(event: Any) -> None:
            if isinstance(event, (events.Started, events.Frames)):
                told.put(("progress", cell.name, event.done, event.total))
            elif isinstance(event, events.Notice) and "already finished" not in event.message:
                told.put(("notice", cell.name, event.message))

        return hear

    try:
        while not stop.is_set():
            with index.get_lock():
                i, index.value = index.value, index.value + 1
            if i >= len(cells):
                break
            told.put(("begin", cells[i].name))
            told.put(("end", cells[i].name, render_cell(cells[i], stop, [relay(cells[i])], slot, overwrite, hooks)))
    finally:
        told.put(("exit", ""))


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
