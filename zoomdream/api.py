"""``render``, ``check`` and ``look``: the one entry of every front-end (CLI, studio, sweep).

Nothing below prints, draws a progress bar or installs a signal handler: a render reports
through ``events`` and stops when ``stop`` is set, from any thread, exactly as Ctrl-C stops
the CLI: the frame in flight finishes, the checkpoint is saved, the video so far is joined
into a playable file, and ``Interrupted`` is raised. ``render(..., resume=True)`` continues
to frames identical to an uninterrupted render (bit for bit on the CPU).
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Any, Sequence

from .config import Config, differences, load_config
from .run.events import Bus, Finished, Notice, Started, Subscriber
from .run.folder import RenderFolder
from .run.loop import Stop
from .run.records import RenderResult, finished_result

__all__ = ["Interrupted", "RenderResult", "check", "look", "render"]


class Interrupted(Exception):
    """A render stopped by its stop token after saving its checkpoint; ``flag`` continues it."""

    flag = "--resume"

    def __init__(self, done: int, total: int, folder: Path):
        super().__init__(f"stopped at frame {done} of {total}; the video so far is in {folder}")
        self.done, self.total, self.folder = done, total, folder


def check(config: Config | str | Path | dict, overrides: Sequence[str] = (), **values: Any) -> Config:
    """The validated recipe, or a ``ConfigError`` naming the key and the fix (torch-free)."""
    if isinstance(config, Config) and not overrides and not values:
        return config
    source = config.model_dump(mode="json") if isinstance(config, Config) else config
    return load_config(source, overrides, **values)


def render(
    config: Config | str | Path | dict,
    *,
    events: Subscriber | Sequence[Subscriber] | None = None,
    stop: Stop | None = None,
    resume: bool = False,
    overwrite: bool | None = None,
    preview: bool = False,
    **overrides: Any,
) -> RenderResult:
    """Render a recipe (a Config, a YAML path or a mapping) to its output folder.

    With ``resume`` it continues an unfinished render from its checkpoint (or from the first
    frame when it died before its first checkpoint); a finished render of the same recipe is
    left as it is. ``preview`` renders the recipe cheaper into ``<output>/preview/``.
    """
    import torch  # the engine's layers import torch; checking a recipe does not

    from .engine.preview import preview_config
    from .engine.renderer import Renderer, with_objective
    from .look.recorder import LookRecorder
    from .run import checkpoint
    from .run.lock import FolderLock
    from .run.loop import drive
    from .run.outputs import open_sinks
    from .run.prepare import prepare
    from .run.records import write_recipe, write_record

    config = check(config, **overrides)
    if preview:
        config = preview_config(config)
    if not config.variants:  # the recipe written beside the render names the objective it dreamed
        config = with_objective(config)
    bus = Bus(events)
    overwrite = bool(config.output.overwrite if overwrite is None else overwrite) and not resume
    folder = RenderFolder.of(config)
    state = prepare(config, folder, overwrite, resume)
    if state == "finished":
        bus(Notice(f"{folder.path} is already finished; nothing to resume"))
        result = finished_result(folder)
        bus(Finished(result))
        return result
    renderer = Renderer(config)  # checks every frame's formulas and the objective before the folder is touched
    with closing(renderer):  # a clip's decoder and flow thread end with the render, however it ends
        folder.make_writable()
        fingerprint = config.fingerprint()
        with FolderLock(folder.lock):
            saved = checkpoint.load(folder.checkpoint) if state == "interrupted" else None
            if saved:
                changed = differences(saved.fingerprint, fingerprint)
                if changed:
                    raise checkpoint.CheckpointError(
                        f"cannot resume: the config changed ({'; '.join(changed)}); render with --overwrite to start again", "--overwrite"
                    )
                renderer.load_state_dict(saved.engine)
            else:
                if state == "unfinished":
                    bus(Notice(f"{folder.path} has no checkpoint yet; rendering from the first frame"))
                folder.clear()
            write_recipe(folder, config)
            sinks, written = open_sinks(config, folder, saved.sinks if saved else [])
            result = RenderResult(folder.path, written["video"], written["frames"], config.frame_count, device=str(renderer.device))
            recorder = LookRecorder([lane.stem for lane in folder.lanes()], saved.look if saved else None)
            rendered = config.frame_count - renderer.first  # a loop's warm-up is rendered too (not written)
            bus(Started(config.name, folder.path, rendered, renderer.next_frame - renderer.first, result.device, config.frame_size))
            result.seconds = drive(renderer, folder, sinks, recorder, fingerprint, bus, stop)
            if renderer.next_frame < config.frame_count:
                raise Interrupted(renderer.next_frame - renderer.first, rendered, folder.path)
            details = {"model": config.model.name, "precision": str(renderer.dtype or torch.float32).replace("torch.", ""),
                       "torch": torch.__version__, "look": recorder.curves()}  # fmt: skip
            if renderer.seamless is not None:
                details["loop"] = renderer.seamless.timing._asdict()
            write_record(folder, config, result, details, fingerprint)
            folder.finish()
    bus(Finished(result))
    return result


def look(folder: str | Path, frames: int = 12) -> list[str]:
    """Measure a finished render: look.png, sheet.jpg, look.json in its folder; returns the summary lines."""
    from .look.report import look_at

    return look_at(Path(folder), frames)
