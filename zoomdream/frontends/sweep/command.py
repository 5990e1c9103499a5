"""``zoomdream sweep``: the subcommand's arguments and what it prints; the work is ``plan`` and ``run``.

Ctrl-C (or SIGTERM) sets the sweep's stop token: every running cell finishes its frame, saves its
checkpoint and joins its video, and the command prints the line that continues the sweep, which
is the same command: finished cells are skipped and interrupted ones resume.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from .engines import ENGINES
from .grid import SweepError, parse_grid, plan
from .runner import run


def add_parser(commands: "argparse._SubParsersAction") -> None:
    sub = commands.add_parser("sweep", help="render every combination of values (or several recipes), compared on one page")
    sub.add_argument("configs", nargs="+", metavar="CONFIG", help="YAML recipe(s): several are a sweep of recipes")
    sub.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                     help="sweep a field over these YAML values, e.g. --grid motion.zoom=1.01,1.03 (repeatable: every combination)")
    sub.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a field in every cell, e.g. --set frames=48 (repeatable)")
    sub.add_argument("--preview", action="store_true", help="preview every cell (a quarter of the pixels, cheaper dreaming)")
    sub.add_argument("--engine", choices=list(ENGINES), default="local",
                     help="local: this machine, one cell per GPU (one at a time on a CPU); ray: one Ray task per cell")
    sub.add_argument("--address", metavar="ADDR", help="ray: join this cluster (auto, or ray://host:port); default: start one here")
    sub.add_argument("--retries", type=int, default=3, metavar="N",
                     help="ray: times a cell whose worker died is retried, resuming from its checkpoint (default 3)")
    sub.add_argument("--cpus-per-cell", type=int, metavar="N",
                     help="on CPUs: render each cell with N cores, as many cells at once as that fits (default: all cores, one cell)")
    sub.add_argument("--dir", metavar="DIR", help="the sweep's folder (default renders/<name>-sweep); on a cluster, one every node mounts")
    sub.add_argument("--name", help="the sweep's name (default: the recipe's name)")
    sub.add_argument("--overwrite", action="store_true", help="render every cell again from the first frame")
    sub.add_argument("--list", action="store_true", help="check every cell and list them with their render commands; render nothing")
    sub.add_argument("--quiet", action="store_true", help="no progress bar; only failures and the closing line")


def continue_command(args: argparse.Namespace) -> str:
    """The command that continues this sweep: the same one, without --overwrite."""
    words = ["zoomdream", "sweep", *args.configs]
    words += [word for item in args.grid for word in ("--grid", item)]
    words += [word for item in args.overrides for word in ("--set", item)]
    words += [flag for flag, given in (("--preview", args.preview), ("--quiet", args.quiet)) if given]
    words += [word for flag, value in (("--engine", args.engine if args.engine != "local" else None), ("--address", args.address),
                                       ("--cpus-per-cell", args.cpus_per_cell and str(args.cpus_per_cell)), ("--dir", args.dir),
                                       ("--name", args.name)) if value for word in (flag, value)]  # fmt: skip
    return shlex.join(words)


def main(args: argparse.Namespace) -> int:
    from ..signals import SignalStop

    if args.address and args.engine != "ray":
        raise SweepError("--address: only with --engine ray")
    if args.retries < 0:
        raise SweepError(f"--retries {args.retries}: give 0 or more")
    if args.cpus_per_cell is not None and args.cpus_per_cell < 1:
        raise SweepError(f"--cpus-per-cell {args.cpus_per_cell}: give 1 or more")
    sweep = plan(args.configs, parse_grid(args.grid), args.overrides, preview=args.preview, folder=args.dir, name=args.name,
                 overwrite=args.overwrite)  # fmt: skip
    if args.list:
        for cell in sweep.cells:
            print(f"{cell.name}\t{cell.frames} frames\t{cell.command()}")
        print(f"{len(sweep.cells)} cells into {sweep.folder}; keys that differ: {', '.join(sweep.keys) or 'none'}")
        return 0
    with SignalStop() as stop:
        report = run(sweep, engine=args.engine, stop=stop, overwrite=args.overwrite, quiet=args.quiet,
                     address=args.address, retries=args.retries, cpus_per_cell=args.cpus_per_cell)  # fmt: skip
    finished, failed = report.named("finished"), report.named("failed")
    stopped = len(sweep.cells) - len(report.skipped) - len(finished) - len(failed)
    parts = [f"{len(finished) + len(report.skipped)} of {len(sweep.cells)} cells finished"]
    parts += [f"{len(report.skipped)} before this run"] if report.skipped else []
    parts += [f"{len(failed)} failed"] if failed else []
    parts += [f"{stopped} stopped or not started"] if stopped else []
    print(f"wrote {sweep.page}: {', '.join(parts)}")
    if stop.signal is not None:
        print(f"zoomdream: sweep stopped; continue with: {continue_command(args)}", file=sys.stderr)
        return 128 + stop.signal
    if failed:
        first = failed[0]
        raise SweepError(f"{len(failed)} of {len(sweep.cells)} cells failed (first: {first.name}: {first.error}); see {sweep.page}")
    return 0
