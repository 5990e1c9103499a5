"""The render folder: what may be replaced, where each lane's video and frames go, the records.

```
renders/<name>/<name>.mp4            one lane (.mov for prores and dnxhr)
renders/<name>/<variant>/<variant>.mp4   with variants, one folder per lane
renders/<name>/frames/000000.png     (or <variant>/frames/..., .exr, .tiff)
renders/<name>/config.yaml, render.json, state/
```
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, checkpoint, sinks
from .codecs import CODECS, EXTENSIONS
from .config import Config


RECORD = "render.json"


class OutputError(Exception):
    """The output folder cannot be used as asked; one line with the fix, and the flag that is the fix."""

    def __init__(self, message: str, flag: str | None = None):
        super().__init__(message)
        self.flag = flag


@dataclass
class RenderResult:
    """What a render wrote: one video and/or frames folder per lane."""

    folder: Path
    videos: list[Path] = field(default_factory=list)
    frame_dirs: list[Path] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0
    device: str = "cpu"

    @property
    def video(self) -> Path | None:
        return self.videos[0] if self.videos else None

    @property
    def frames_dir(self) -> Path | None:
        return self.frame_dirs[0] if self.frame_dirs else None


def lane_folders(config: Config) -> list[tuple[str, Path]]:
    """(file stem, folder) for each lane's video and frames."""
    folder = config.output_dir()
    names = [name for name, _ in config.lanes()]
    if names == [None]:
        return [(config.name, folder)]
    return [(str(name), folder / str(name)) for name in names]


def video_path(config: Config, stem: str, folder: Path) -> Path:
    """Where a lane's video goes (config.output.video set): the codec picks the container."""
    assert config.output.video is not None
    return folder / f"{stem}{CODECS[config.output.video.codec].extension}"


def check_outputs(config: Config) -> None:
    """What only ffmpeg can tell (its encoders, the sound file) is checked before any work."""
    if config.output.video is not None:
        sinks.check_codec(config.output.video.codec, config.frame_size)
    if config.audio is not None:
        sinks.Soundtrack.check(config.audio.file, config.audio.offset)


def prepare_folder(config: Config, overwrite: bool, resume: bool) -> str:
    """Refuse to clobber an earlier render, before any work and without touching the disk.

    Returns what the output folder holds: ``empty``, ``finished``, ``interrupted`` (a checkpoint)
    or ``unfinished`` (died before its first checkpoint). Every refusal names the one flag that
    gets the user to a finished render, so no two messages send them in a circle.
    """
    folder = config.output_dir()
    found = _found(config, folder)
    finished = _finished_frames(folder) if found == "finished" else None
    if resume and finished is not None and finished != config.frame_count:
        raise OutputError(
            f"{folder}: a finished render of {finished} frames cannot be extended (its checkpoint "
            "is removed when it finishes); render it again with --overwrite",
            "--overwrite",
        )
    if not resume and not overwrite and found != "empty":
        if found == "finished":
            raise OutputError(f"{folder}: holds a finished render; replace it with --overwrite, or change name", "--overwrite")
        raise OutputError(f"{folder}: holds an unfinished render; continue it with --resume", "--resume")
    check_outputs(config)
    return "empty" if overwrite else found


def make_writable(folder: Path) -> None:
    """Create the folder and prove it can be written, before the first frame is made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".zoomdream-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputError(f"{folder}: cannot write here ({error.strerror}); set output.dir to a writable folder") from None


def _found(config: Config, folder: Path) -> str:
    if checkpoint.path(folder).exists():
        return "interrupted"
    if (folder / RECORD).exists():
        return "finished"
    lanes = [lane for _, lane in lane_folders(config)]
    leftovers = [folder / checkpoint.STATE_DIR] + [lane / "frames" for lane in lanes]
    if any(p.exists() for p in leftovers) or any(p.name.endswith(EXTENSIONS) for lane in lanes for p in _files(lane)):
        return "unfinished"
    return "empty"


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []


def _finished_frames(folder: Path) -> int:
    try:
        return int(json.loads((folder / RECORD).read_text())["frames"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


def finished_result(config: Config) -> RenderResult:
    """What a finished render wrote, read back from its folder."""
    folder = config.output_dir()
    result = RenderResult(folder, frames=_finished_frames(folder))
    for stem, lane in lane_folders(config):
        result.videos += [p for p in sorted(_files(lane)) if p.name.startswith(f"{stem}.") and p.name.endswith(EXTENSIONS)]
        if (lane / "frames").is_dir():
            result.frame_dirs.append(lane / "frames")
    return result


def clear_earlier(config: Config) -> None:
    """Only after every check passed: remove what an earlier or unfinished render left behind."""
    folder = config.output_dir()
    shutil.rmtree(folder / checkpoint.STATE_DIR, ignore_errors=True)
    for name in (RECORD, "config.yaml"):
        (folder / name).unlink(missing_ok=True)
    for stem, lane in lane_folders(config):
        shutil.rmtree(lane / "frames", ignore_errors=True)
        for stale in _files(lane):
            if stale.name.startswith((f"{stem}.", f".{stem}.")) and stale.suffix in EXTENSIONS:
                stale.unlink(missing_ok=True)


class LaneSink(sinks.Sink):
    """One lane of a batch of frames (B, H, W, 3), passed on to a sink of that lane."""

    def __init__(self, lane: int, sink: sinks.Sink):
        self.lane, self.sink = lane, sink
        self.bit_depth = sink.bit_depth

    def write(self, index: int, frame: Any) -> None:
        self.sink.write(index, frame[self.lane])

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        self.sink.abort()


def open_sinks(config: Config, segments: list[list[str]], result: RenderResult) -> tuple[list[sinks.Sink], list[sinks.SegmentedVideo]]:
    """Every lane's sinks (for the writer thread) and its videos (for checkpoints to cut)."""
    opened: list[sinks.Sink] = []
    videos: list[sinks.SegmentedVideo] = []
    state = config.output_dir() / checkpoint.STATE_DIR / "segments"
    sound = sinks.Soundtrack(Path(config.audio.file), config.audio.offset) if config.audio else None
    for lane, (stem, folder) in enumerate(lane_folders(config)):
        if config.output.video is not None:
            video, path = config.output.video, video_path(config, stem, folder)
            done = segments[lane] if lane < len(segments) else []
            videos.append(
                sinks.SegmentedVideo(path, config.frame_size, config.fps, video.codec, video.crf, state / stem, done, sound)
            )
            opened.append(LaneSink(lane, videos[-1]))
            result.videos.append(path)
        if config.output.frames is not None:
            frames = config.output.frames
            sink = sinks.FrameSink(folder / "frames", frames.bit_depth, frames.format, frames.start_number)
            opened.append(LaneSink(lane, sink))
            result.frame_dirs.append(folder / "frames")
    return opened, videos


def write_records(config: Config, result: RenderResult, details: dict[str, Any]) -> None:
    """config.yaml and render.json beside the video, so every render says how it was made."""
    sinks.write_atomic(result.folder / "config.yaml", config.to_yaml())
    record = {
        "zoomdream": __version__,
        "python": platform.python_version(),
        "device": result.device,
        **details,
        "size": list(config.frame_size),
        "fps": config.fps,
        "frames": result.frames,
        "lanes": max(1, len(config.variants)),
        "seconds": round(result.seconds, 3),
        "seconds_per_frame": round(result.seconds / max(result.frames, 1), 4),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    sinks.write_atomic(result.folder / RECORD, json.dumps(record, indent=2) + "\n")
