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


class OutputError(Exception):
    """The output folder cannot be used as asked; one line with the fix."""


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


def check_outputs(config: Config) -> None:
    """What only ffmpeg can tell (its encoders, the sound file) is checked before any work."""
    if config.output.video is not None:
        sinks.check_codec(config.output.video.codec, config.size)
    if config.audio is not None:
        sinks.Soundtrack.check(config.audio.file, config.audio.offset)


def prepare_folder(config: Config, overwrite: bool, resume: bool) -> Path:
    """Refuse to clobber an earlier render; make sure the folder can be written before any work."""
    folder = config.output_dir()
    interrupted = checkpoint.path(folder).exists()
    finished = (folder / "render.json").exists()
    earlier = finished or any(
        (lane / "frames").exists() or any((lane / f"{stem}{ext}").exists() for ext in EXTENSIONS)
        for stem, lane in lane_folders(config)
    )
    if resume and not interrupted:
        done = "it is already complete" if finished else "there is no checkpoint"
        raise OutputError(f"{folder}: nothing to resume ({done}); render without --resume")
    if not resume and not overwrite and (interrupted or earlier):
        if interrupted:
            raise OutputError(f"{folder}: holds an interrupted render; pass --resume to continue it or --overwrite to start again")
        raise OutputError(f"{folder}: holds an earlier render; pass --overwrite (or output.overwrite: true) or change name")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".zoomdream-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise OutputError(f"{folder}: cannot write here ({error.strerror}); set output.dir to a writable folder") from None
    check_outputs(config)
    return folder


def clear_earlier(config: Config) -> None:
    """Only after every check passed: remove what an overwritten render leaves behind."""
    folder = config.output_dir()
    shutil.rmtree(folder / checkpoint.STATE_DIR, ignore_errors=True)
    for name in ("render.json", "config.yaml"):
        (folder / name).unlink(missing_ok=True)
    for stem, lane in lane_folders(config):
        shutil.rmtree(lane / "frames", ignore_errors=True)
        for ext in EXTENSIONS:
            (lane / f"{stem}{ext}").unlink(missing_ok=True)


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
            video = config.output.video
            path = folder / f"{stem}{CODECS[video.codec].extension}"  # the codec picks the container
            done = segments[lane] if lane < len(segments) else []
            videos.append(
                sinks.SegmentedVideo(path, config.size, config.fps, video.codec, video.crf, state / stem, done, sound)
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
        "size": list(config.size),
        "fps": config.fps,
        "frames": result.frames,
        "lanes": max(1, len(config.variants)),
        "seconds": round(result.seconds, 3),
        "seconds_per_frame": round(result.seconds / max(result.frames, 1), 4),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    sinks.write_atomic(result.folder / "render.json", json.dumps(record, indent=2) + "\n")
