"""Whether a render may start in its folder, decided before any work and without touching the disk.

Every refusal names the one flag that gets the user to a finished render, so no two messages
send them in a circle.
"""

from __future__ import annotations

from ..config import Config, differences
from .folder import OutputError, RenderFolder, State
from .outputs import check_outputs


def prepare(config: Config, folder: RenderFolder, overwrite: bool, resume: bool) -> State:
    """What the render starts from: ``new`` (also after --overwrite), ``finished`` (a --resume of
    the same recipe: nothing to do), ``interrupted`` or ``unfinished``."""
    state = folder.state()
    if state == "rendering":
        raise OutputError(f"{folder.path}: another zoomdream render is writing here; wait for it or set another output.dir")
    if state == "finished" and resume:
        _same_finished(config, folder)
    if not resume and not overwrite and state != "new":
        if state == "finished":
            raise OutputError(f"{folder.path}: holds a finished render; replace it with --overwrite, or change name", "--overwrite")
        raise OutputError(f"{folder.path}: holds an unfinished render; continue it with --resume", "--resume")
    check_outputs(config)
    return "new" if overwrite else state


def _same_finished(config: Config, folder: RenderFolder) -> None:
    """A finished render resumed: a no-op for the same recipe, refused for any other."""
    finished = folder.finished_frames()
    if finished != config.frame_count:
        raise OutputError(
            f"{folder.path}: a finished render of {finished} frames cannot be extended (its checkpoint "
            "is removed when it finishes); render it again with --overwrite",
            "--overwrite",
        )
    saved = folder.read_record().get("fingerprint")
    changed = differences(saved, config.fingerprint()) if isinstance(saved, dict) else []
    if changed:
        raise OutputError(
            f"{folder.path}: holds a finished render of another recipe ({'; '.join(changed)}); "
            "render it again with --overwrite",
            "--overwrite",
        )
