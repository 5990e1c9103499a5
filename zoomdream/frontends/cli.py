"""``zoomdream render | check | look | layers | schema | from-deforum``: the terminal's front-end.

The only place that prints errors and chooses exit codes: a user mistake (any
``ZoomdreamError``) is one line on stderr and exit 2, never a traceback. Its progress bar and
its notices are subscribers of the render's events, and SIGINT/SIGTERM set the stop token.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Sequence

from .. import __version__
from ..api import Interrupted, check, look, render
from ..config import json_schema
from ..config.reference import markdown, update
from ..errors import ZoomdreamError
from ..run import events
from .signals import SignalStop

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoomdream", description="DeepDream infinite-zoom videos from a YAML recipe.")
    parser.add_argument("--version", action="version", version=f"zoomdream {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.add_argument("config", help="YAML recipe")
        sub.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                         help="override a field, e.g. --set dream.steps=4 (repeatable; value read as YAML)")
        return sub

    run = with_config("render", "render a config to MP4 and/or an image sequence")
    run.add_argument("--overwrite", action="store_true", default=None, help="replace an earlier render of the same name")
    run.add_argument("--resume", action="store_true", help="continue an interrupted render from its checkpoint")
    run.add_argument("--quiet", action="store_true", help="no progress bar or closing line (what --resume did is still said)")
    run.add_argument("--preview", action="store_true",
                     help="a quick look: a quarter of the pixels, cheaper dreaming, same camera, into <output>/preview/")
    with_config("check", "validate a config without rendering")
    layers = commands.add_parser("layers", help="list a model's layers and their channel counts")
    layers.add_argument("model", help="bundled (inception_v3_tf, efficientnet_lite0, efficientnet_lite2) or a torchvision model name")
    layers.add_argument("--weights", help="a .pth state dict, for models whose weights are not cached")
    look = commands.add_parser("look", help="measure a finished render: look.png, sheet.jpg, look.json and a summary")
    look.add_argument("folder", help="the render's folder (or one variant's folder inside it)")
    look.add_argument("--frames", type=_positive, default=12, metavar="N", help="frames on the contact sheet (default 12)")
    schema = commands.add_parser("schema", help="print the config's JSON Schema (for editor completion)")
    schema.add_argument("--markdown", action="store_true", help="print the README's config reference table instead")
    schema.add_argument("--update-readme", metavar="README", help="rewrite the reference table inside this README")
    deforum = commands.add_parser("from-deforum", help="turn a Deforum *_settings.txt into a zoomdream config")
    deforum.add_argument("settings", type=Path, help="the settings file Deforum saved next to its frames")
    deforum.add_argument("-o", "--output", type=Path, help="write the config here instead of printing it")
    deforum.add_argument("--force", action="store_true", help="replace an existing --output file")
    studio = commands.add_parser("studio", help="a local web app and HTTP API: write, preview, watch, stop and resume renders")
    studio.add_argument("--dir", default="renders", help="the renders folder it shows and renders into (default renders)")
    studio.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other needs the token)")
    studio.add_argument("--port", type=int, default=8188, help="port to listen on (default 8188)")
    studio.add_argument("--token", help="the token for scripts and non-local hosts (default: a new one, printed)")
    studio.add_argument("--allow", action="append", default=[], metavar="DIR",
                        help="another folder a posted recipe may name files in (the project folder always is)")
    from .sweep.command import add_parser as add_sweep

    add_sweep(commands)
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


class Progress:
    """The render's events on the terminal: a tqdm bar, and notices as ``zoomdream: ...`` lines."""

    def __init__(self, quiet: bool):
        self.quiet, self.bar = quiet, None

    def __call__(self, event: events.Event) -> None:
        from tqdm import tqdm

        if isinstance(event, events.Notice):
            print(f"zoomdream: {event.message}", file=sys.stderr)  # said even under --quiet: what resume did
        elif isinstance(event, events.Started):
            self.bar = tqdm(total=event.total, initial=event.done, unit="frame", disable=self.quiet, desc=event.name)
        elif isinstance(event, events.Frames) and self.bar is not None:
            self.bar.update(event.count)
        elif isinstance(event, events.Finished):
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _render(args: argparse.Namespace) -> int:
    config = check(args.config, args.overrides)
    progress = Progress(args.quiet)
    with SignalStop() as stop:
        try:
            result = render(config, events=progress, stop=stop, overwrite=args.overwrite, resume=args.resume, preview=args.preview)
        except Interrupted as stopped:
            progress.close()
            print(f"zoomdream: {stopped}; continue with: {_command(args, stopped.flag)}", file=sys.stderr)
            return 128 + (stop.signal or 2)
        finally:
            progress.close()
    if not args.quiet:
        print(f"wrote {result.video or result.frames_dir} ({result.frames} frames in {result.seconds:.1f} s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "studio":
        from .studio import serve

        return serve(args.dir, args.host, args.port, args.token, args.allow)
    if args.command == "from-deforum":
        from ..deforum import convert_file, write_config

        text = convert_file(args.settings)
        if args.output:
            write_config(text, args.output, args.force)
            print(f"wrote {args.output}")
        else:
            print(text, end="")
    elif args.command == "schema" and args.update_readme:
        update(Path(args.update_readme))
    elif args.command == "schema":
        print(markdown() if args.markdown else json.dumps(json_schema(), indent=2))
    elif args.command == "layers":
        from ..dream.models import list_layers

        for name, channels in list_layers(args.model, args.weights):
            print(f"{name}\t{channels}")
    elif args.command == "look":
        print("\n".join(look(Path(args.folder), args.frames)))
    elif args.command == "sweep":
        from .sweep.command import main as sweep

        return sweep(args)
    elif args.command == "check":
        config = check(args.config, args.overrides)
        print(f"{args.config}: ok — {config.frame_count} frames at {config.size[0]}x{config.size[1]}, "
              f"{config.fps:g} fps, model {config.model.name}, output {config.output_dir()}")
    else:
        return _render(args)
    return 0


def _command(args: argparse.Namespace, flag: str) -> str:
    """The render command line the user ran, quoted for the shell, with ``flag`` in place of
    --resume/--overwrite: pasted back, it continues the same render (a preview stays a preview)."""
    words = ["zoomdream", "render", args.config, *(word for item in args.overrides for word in ("--set", item))]
    words += [name for name, given in (("--preview", args.preview), ("--quiet", args.quiet)) if given]
    return shlex.join([*words, flag])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except ZoomdreamError as error:
        fix = f": {_command(args, error.flag)}" if error.flag and args.command == "render" else ""
        print(f"zoomdream: error: {error}{fix}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("zoomdream: stopped at once; the last checkpoint is kept, continue with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
