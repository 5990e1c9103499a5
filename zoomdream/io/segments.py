"""A video that survives a crash: a short chain of finished segments, joined at the end.

The segments are what a checkpoint names, so a render that dies loses at most the segment in
flight, and the join (a stream copy, no re-encoding) also gives an interrupted render a playable
video, with its sound, of what it finished.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ffmpeg
from .atomic import write_atomic
from .codecs import Codec, check_codec
from .errors import SinkError, write_error
from .sink import Sink
from .video import VideoSink

@dataclass(frozen=True)
class Soundtrack:
    """A sound file muxed into the video when its segments are joined, from ``offset`` seconds on."""

    file: Path
    offset: float = 0.0

    @classmethod
    def check(cls, file: str | Path, offset: float = 0.0) -> "Soundtrack":
        """Refuse, before rendering, a sound file ffmpeg cannot decode or that holds no sound."""
        path = Path(file)
        if not path.is_file():
            raise SinkError(f"audio.file: {path} not found; {ffmpeg.SOUND_HINT}")
        readable, report = ffmpeg.probe(path)
        if not ffmpeg.streams(report, "Audio"):
            cause = "it holds no sound stream" if readable else ffmpeg.last_line(report)
            raise SinkError(f"audio.file: cannot use {path} ({cause}); {ffmpeg.SOUND_HINT}")
        return cls(path.resolve(), offset)

    def args(self, seconds: float, codec: Codec) -> list[str]:
        """ffmpeg arguments that add the sound, cut or padded with silence to exactly ``seconds``, in a
        layout every player plays (a clip's 7.1 or 2.1 comes out as stereo)."""
        return [
            "-ss", f"{self.offset:.6f}", "-i", str(self.file), "-map", "0:v", "-map", "1:a:0",
            "-af", f"apad=whole_dur={seconds:.6f},atrim=0:{seconds:.6f}", *ffmpeg.playable(self.file), *codec.audio,
        ]  # fmt: skip


SEGMENT_NAME = re.compile(r"^(\d+)-(\d+)\.\w+$")


def segment_frames(name: str) -> tuple[int, int]:
    """A segment file's frames, first and one past the last, from its name ``000010-000020.mp4``."""
    match = SEGMENT_NAME.match(name)
    if match is None:
        raise ValueError(f"not a segment name: {name}")
    return int(match.group(1)), int(match.group(2))


class SegmentedVideo(Sink):
    """The video as a short chain of finished segments, joined at the end without re-encoding.

    ``state()`` finishes the segment in flight, so a checkpoint can name every finished segment
    and a render that dies loses at most the segment in flight; ``--resume`` carries on with
    new segments. Segments are named for their frames (``000010-000020.mp4``) and neighbours
    are merged as the render goes, like a binary counter (one segment is kept at least twice
    as long as the next), so at most about log2(checkpoints) files exist and each frame is
    copied about log2 times. A merge writes a new file; the ones it replaced are deleted by
    ``saved()`` only after the checkpoint naming the merge is saved, and files a checkpoint
    does not name are deleted on opening, so the checkpoint always names files that exist.
    ``close()`` joins them all into ``path`` (atomically) with the soundtrack, which also makes
    an interrupted render leave a playable video, with sound, of what it finished.
    """

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: float,
        codec: str = "libx264",
        crf: int = 18,
        folder: Path | None = None,
        done: list[str] | tuple[str, ...] = (),
        sound: Soundtrack | None = None,
    ):
        self.path = Path(path)
        self.folder = Path(folder) if folder else self.path.parent / "segments"
        self.done = list(done)
        self.codec = check_codec(codec, size)
        self.bit_depth = 16 if self.codec.bit_depth > 8 else 8
        self._options = (size, fps, self.codec.part, crf)  # segments in the codec's own, or its lossless one
        self._fps = fps
        self._sound = sound
        self._current: VideoSink | None = None
        self._span = (0, 0)  # frames of the segment in flight
        self._saved = set(self.done)  # what the last saved checkpoint names
        self._replaced: list[str] = []
        if self.folder.is_dir():
            for stray in set(os.listdir(self.folder)) - set(self.done):
                (self.folder / stray).unlink(missing_ok=True)

    def write(self, index: int, frame: np.ndarray) -> None:
        if self._current is None:
            self._current = VideoSink(self.folder / f"{index:06d}{self.codec.part.extension}", *self._options)
            self._span = (index, index)
        self._current.write(index, frame)
        self._span = (self._span[0], index + 1)

    def state(self) -> list[str]:
        """Finish the segment in flight and merge neighbours; returns the segments a checkpoint names."""
        self._finish_segment()
        while len(self.done) >= 2 and _length(self.done[-2]) < 2 * _length(self.done[-1]):
            older, newer = self.done[-2:]
            merged = self._name(segment_frames(older)[0], segment_frames(newer)[1])
            join_videos([self.folder / older, self.folder / newer], self.folder / merged, faststart=False)
            self.done[-2:] = [merged]
            for name in (older, newer):
                if name in self._saved:
                    self._replaced.append(name)  # deleted by saved(), once no checkpoint names it
                else:
                    (self.folder / name).unlink(missing_ok=True)  # no checkpoint ever named it
        return list(self.done)

    def saved(self) -> None:
        """Delete the segments merged away, now that the checkpoint ``state()`` fed is saved."""
        for name in self._replaced:
            (self.folder / name).unlink(missing_ok=True)
        self._replaced.clear()
        self._saved = set(self.done)

    def close(self) -> None:
        self._finish_segment()
        if self.done:
            first, end = segment_frames(self.done[0])[0], segment_frames(self.done[-1])[1]
            sound = self._sound.args((end - first) / self._fps, self.codec) if self._sound and self.codec.audio else []
            join_videos([self.folder / name for name in self.done], self.path, sound, video=self.codec.join)

    def abort(self) -> None:
        if self._current is not None:
            self._current.abort()
            self._current = None

    def _finish_segment(self) -> None:
        if self._current is not None:
            current, self._current = self._current, None
            current.close()
            name = self._name(*self._span)
            try:
                os.replace(current.path, self.folder / name)
            except OSError as err:
                raise write_error(self.folder / name, err) from err
            self.done.append(name)

    def _name(self, first: int, end: int) -> str:
        return f"{first:06d}-{end:06d}{self.codec.part.extension}"


def _length(name: str) -> int:
    first, end = segment_frames(name)
    return end - first


def join_videos(
    parts: list[Path], path: Path, sound: list[str] = (), faststart: bool = True, video: tuple[str, ...] = ("-c:v", "copy")
) -> None:
    """Concatenate video segments with ffmpeg's concat demuxer (stream copy), atomically.

    ``sound`` adds an input and its mapping (Soundtrack.args); ``faststart`` moves the index
    to the front for players streaming the file, which costs a second pass; ``video`` encodes
    instead of copying (``Codec.join``: a GIF or WebP made from lossless segments).
    """
    listing = path.with_name(f".{path.stem}.segments.txt")
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    write_atomic(listing, "".join(f"file '{p.resolve()}'\n" for p in parts))
    done = ffmpeg.run(ffmpeg.concat_args(listing, tmp, sound, faststart, video))
    listing.unlink(missing_ok=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SinkError(f"cannot write {path}: ffmpeg: {ffmpeg.cause(done.stderr) or 'concat failed'}")
    try:
        os.replace(tmp, path)
    except OSError as err:
        raise write_error(path, err) from err
