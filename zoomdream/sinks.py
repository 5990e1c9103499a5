"""Everything that touches the disk: atomic files, the video, the image sequence, and the writer thread.

Every sink takes float32 (H, W, 3) frames in [0, 1] (or uint8 where no output needs more than
8 bits, see Sink.bit_depth) through write(index, frame) and converts them itself, so the
writer thread treats all sinks alike. A sink is a context manager: close() on
success, abort() on an exception, so a crash never finalises a half-written output.
"""

from __future__ import annotations

import functools
import io
import os
import queue
import re
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np

from .codecs import CODECS, Codec
from .sound import FORMATS_HINT


class SinkError(Exception):
    """An output that could not be written; the message is one line naming the file and the cause."""


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write through a temporary file in the same folder, so the final name never shows a half file."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise _write_error(path, err) from err


def quantize(frame: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float [0, 1] to uint8 or uint16, rounding to nearest so mid-tones do not drift darker.

    A uint8 frame for an 8-bit output was already quantized (on the device) and passes through.
    """
    if frame.dtype == np.uint8 and bit_depth == 8:
        return frame
    top = (1 << bit_depth) - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.rint(np.clip(unit(frame), 0.0, 1.0) * top).astype(dtype)


def unit(frame: np.ndarray) -> np.ndarray:
    """A frame as floats in [0, 1], whether it came as float or as uint8."""
    return frame / np.float32(255) if frame.dtype == np.uint8 else frame


class Closing:
    """Context manager: close() on success, abort() on an exception."""

    def close(self) -> None:
        """Finish the output under its final name."""

    def abort(self) -> None:
        """Stop after a failure; leave nothing half-written under a final name."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Sink(Closing):
    """What the writer thread needs from an output."""

    bit_depth = 8  # bits per channel it keeps: above 8 the renderer sends float frames

    def write(self, index: int, frame: np.ndarray) -> None:
        raise NotImplementedError


@functools.cache
def available_encoders() -> frozenset[str]:
    """The video encoders the bundled ffmpeg was built with (asked once per process)."""
    listing = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True
    ).stdout
    return frozenset(re.findall(r"^\s*V\S*\s+(\S+)", listing, flags=re.MULTILINE))


def check_codec(name: str, size: tuple[int, int]) -> Codec:
    """The codec for ``output.video.codec``, or a one-line error before any frame is made."""
    codec = CODECS.get(name)
    if codec is None:
        raise SinkError(f"output.video.codec: unknown codec {name!r}; use one of {', '.join(CODECS)}")
    if codec.encoder not in available_encoders():
        others = [other for other, c in CODECS.items() if c.encoder in available_encoders()]
        raise SinkError(
            f"output.video.codec: {name} needs ffmpeg's {codec.encoder} encoder, which "
            f"{imageio_ffmpeg.get_ffmpeg_exe()} lacks; use {' or '.join(others) or 'output.frames'} instead"
        )
    if size[0] < codec.min_size[0] or size[1] < codec.min_size[1]:
        raise SinkError(
            f"output.video.codec: {name} needs frames of at least {codec.min_size[0]}x{codec.min_size[1]} "
            f"(size is {size[0]}x{size[1]}); use prores instead"
        )
    return codec


class VideoSink(Sink):
    """One video file (a codec from codecs.CODECS) streamed to ffmpeg as frames arrive.

    ffmpeg writes ".<name>.part.<ext>" beside `path`; close() renames it to `path` only after
    ffmpeg exited cleanly. 4:2:0 and 4:2:2 need even sizes: an odd width or height is padded by
    repeating the last column or row, so the video is at most one pixel larger and never
    rescaled. Frames go to ffmpeg as 16-bit RGB for codecs that keep more than 8 bits. Frames
    are appended in call order; the index is not used.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, codec: str = "libx264", crf: int = 18):
        self.path = Path(path)
        self.codec = check_codec(codec, size)
        self.bit_depth = 16 if self.codec.bit_depth > 8 else 8
        self._size = size
        self._tmp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        width, height = size
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb48le" if self.bit_depth > 8 else "rgb24",
            "-s", f"{width + width % 2}x{height + height % 2}",
            "-r", str(Fraction(fps).limit_denominator()), "-i", "-", "-an",
            "-c:v", self.codec.encoder, *self.codec.args, "-pix_fmt", self.codec.pix_fmt,
            *(["-crf", str(crf)] if self.codec.crf else []),
            # Convert and tag as BT.709, so players show the colours of the PNG frames.
            "-vf", "scale=out_color_matrix=bt709:out_range=tv,setparams=color_primaries=bt709:color_trc=bt709",
            "-movflags", "+faststart", str(self._tmp),
        ]  # fmt: skip
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp.touch()  # fail here, not at the first frame, when the folder is not writable
        except OSError as err:
            raise _write_error(self.path, err) from err
        self._log = tempfile.TemporaryFile()  # a file, not a pipe: an unread pipe could stall ffmpeg
        # Its own session keeps Ctrl-C away from ffmpeg, so the render can still close the video.
        self._ffmpeg = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
            env={**os.environ, **self.codec.env},
        )

    def write(self, index: int, frame: np.ndarray) -> None:
        pixels = quantize(frame, self.bit_depth).astype(f"<u{self.bit_depth // 8}", copy=False)
        width, height = self._size
        if pixels.shape != (height, width, 3):
            raise ValueError(f"{self.path}: frame shape {pixels.shape} does not match size {self._size}")
        pixels = np.pad(pixels, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        try:
            self._ffmpeg.stdin.write(pixels.tobytes())
        except OSError as err:
            self._finish()
            raise self._ffmpeg_error(err) from err

    def close(self) -> None:
        if self._finish() != 0:
            raise self._ffmpeg_error(None)
        try:
            os.replace(self._tmp, self.path)
        except OSError as err:
            raise _write_error(self.path, err) from err

    def abort(self) -> None:
        """Let ffmpeg finish what it has: the partial video stays playable under its .part name."""
        self._finish()

    def _finish(self) -> int:
        if not self._ffmpeg.stdin.closed:
            try:
                self._ffmpeg.stdin.close()
            except OSError:
                pass  # ffmpeg already exited; its exit code and log tell why
        return self._ffmpeg.wait()

    def _ffmpeg_error(self, err: OSError | None) -> SinkError:
        """The first line ffmpeg logged is the cause; later ones are consequences."""
        self._log.seek(0)
        cause = _ffmpeg_cause(self._log.read())
        cause = cause or (err and err.strerror) or f"ffmpeg exited with code {self._ffmpeg.returncode}"
        return SinkError(f"cannot write {self.path}: ffmpeg: {cause}")


def _ffmpeg_cause(log: bytes) -> str | None:
    """The first line ffmpeg logged, without its [component] tag: later lines are consequences."""
    lines = (line.strip() for line in log.decode("utf-8", "replace").splitlines())
    return next((re.sub(r"^\[[^\]]*\]\s*", "", line) for line in lines if line), None)


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
            raise SinkError(f"audio.file: {path} not found; {FORMATS_HINT}")
        probe = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
        )
        if not re.search(r"^\s*Stream #.*: Audio:", probe.stderr, flags=re.MULTILINE):
            lines = [line for line in probe.stderr.splitlines() if line.strip()]
            readable = "Input #0" in probe.stderr
            cause = "it holds no sound stream" if readable else re.sub(r"^\[[^\]]*\]\s*", "", lines[-1] if lines else "")
            raise SinkError(f"audio.file: cannot use {path} ({cause}); {FORMATS_HINT}")
        return cls(path.resolve(), offset)

    def args(self, seconds: float, codec: Codec) -> list[str]:
        """ffmpeg arguments that add the sound, cut or padded with silence to exactly ``seconds``."""
        return [
            "-ss", f"{self.offset:.6f}", "-i", str(self.file), "-map", "0:v", "-map", "1:a:0",
            "-af", f"apad=whole_dur={seconds:.6f},atrim=0:{seconds:.6f}", *codec.audio,
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

    ``cut()`` finishes the segment in flight, so a checkpoint can name every finished segment
    and a render that dies loses at most the segment in flight; ``--resume`` carries on with
    new segments. Segments are named for their frames (``000010-000020.mp4``) and neighbours
    are merged as the render goes, like a binary counter (one segment is kept at least twice
    as long as the next), so at most about log2(checkpoints) files exist and each frame is
    copied about log2 times. A merge writes a new file; the ones it replaced are deleted by
    ``release()`` only after the checkpoint naming the merge is saved, and files a checkpoint
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
        self._options = (size, fps, codec, crf)
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
            self._current = VideoSink(self.folder / f"{index:06d}{self.codec.extension}", *self._options)
            self._span = (index, index)
        self._current.write(index, frame)
        self._span = (self._span[0], index + 1)

    def cut(self) -> list[str]:
        """Finish the segment in flight and merge neighbours; returns the segments a checkpoint names."""
        self._finish_segment()
        while len(self.done) >= 2 and _length(self.done[-2]) < 2 * _length(self.done[-1]):
            older, newer = self.done[-2:]
            merged = self._name(segment_frames(older)[0], segment_frames(newer)[1])
            join_videos([self.folder / older, self.folder / newer], self.folder / merged, faststart=False)
            self.done[-2:] = [merged]
            for name in (older, newer):
                if name in self._saved:
                    self._replaced.append(name)  # deleted by release(), once no checkpoint names it
                else:
                    (self.folder / name).unlink(missing_ok=True)  # no checkpoint ever named it
        return list(self.done)

    def release(self) -> None:
        """Delete the segments merged away; call it after saving the checkpoint ``cut()`` fed."""
        for name in self._replaced:
            (self.folder / name).unlink(missing_ok=True)
        self._replaced.clear()
        self._saved = set(self.done)

    def close(self) -> None:
        self._finish_segment()
        if self.done:
            first, end = segment_frames(self.done[0])[0], segment_frames(self.done[-1])[1]
            sound = self._sound.args((end - first) / self._fps, self.codec) if self._sound else []
            join_videos([self.folder / name for name in self.done], self.path, sound)

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
                raise _write_error(self.folder / name, err) from err
            self.done.append(name)

    def _name(self, first: int, end: int) -> str:
        return f"{first:06d}-{end:06d}{self.codec.extension}"


def _length(name: str) -> int:
    first, end = segment_frames(name)
    return end - first


def join_videos(parts: list[Path], path: Path, sound: list[str] = (), faststart: bool = True) -> None:
    """Concatenate video segments with ffmpeg's concat demuxer (stream copy), atomically.

    ``sound`` adds an input and its mapping (Soundtrack.args); ``faststart`` moves the index
    to the front for players streaming the file, which costs a second pass.
    """
    listing = path.with_name(f".{path.stem}.segments.txt")
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    write_atomic(listing, "".join(f"file '{p.resolve()}'\n" for p in parts))
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0",
        "-i", str(listing), *sound, "-c:v", "copy", *(["-movflags", "+faststart"] if faststart else []), str(tmp),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, start_new_session=True)
    listing.unlink(missing_ok=True)
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SinkError(f"cannot write {path}: ffmpeg: {_ffmpeg_cause(done.stderr) or 'concat failed'}")
    try:
        os.replace(tmp, path)
    except OSError as err:
        raise _write_error(path, err) from err


def srgb_to_linear(frame: np.ndarray) -> np.ndarray:
    """Decode the sRGB transfer curve (IEC 61966-2-1): what compositors expect in an EXR."""
    frame = np.clip(unit(frame), 0.0, 1.0)
    return np.where(frame <= 0.04045, frame / 12.92, ((frame + 0.055) / 1.055) ** 2.4)


# Rec.709 / sRGB primaries and D65 white as (red x, y, green x, y, blue x, y, white x, y).
REC709_CHROMATICITIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)


def encode_exr(frame: np.ndarray) -> bytes:
    """Half-float scene-linear OpenEXR, tagged with Rec.709 primaries so Resolve, Nuke and AE read it right."""
    import OpenEXR  # only renders that ask for EXR need it

    header = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "chromaticities": REC709_CHROMATICITIES,
    }
    buffer = io.BytesIO()
    pixels = np.ascontiguousarray(srgb_to_linear(frame), dtype=np.float16)  # the binding ignores strides
    with OpenEXR.File(header, {"RGB": pixels}) as exr:
        exr.write(buffer)
    return buffer.getvalue()


class FrameSink(Sink):
    """Image sequence for editors, each file written atomically as 000123.<format>.

    png and tiff are RGB at 8 or 16 bits (imageio's OpenCV plugin: Pillow cannot write 16-bit
    RGB); exr is half float and scene-linear. ``start_number`` is added to the frame index, for
    editors that count from 1 or 1001.
    """

    def __init__(self, folder: Path, bit_depth: int = 8, format: str = "png", start_number: int = 0):
        if bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
        if format not in ("png", "tiff", "exr"):
            raise ValueError(f"format must be png, tiff or exr, got {format}")
        self.folder = Path(folder)
        self.bit_depth = 16 if format == "exr" else bit_depth
        self.format = format
        self.start_number = start_number
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _write_error(self.folder, err) from err

    def write(self, index: int, frame: np.ndarray) -> None:
        if self.format == "exr":
            data = encode_exr(frame)
        else:
            extension = ".tif" if self.format == "tiff" else ".png"
            data = iio.imwrite("<bytes>", quantize(frame, self.bit_depth), extension=extension, plugin="opencv")
        write_atomic(self.folder / f"{index + self.start_number:06d}.{self.format}", data)


class WriterThread(Closing):
    """Feeds frames to the sinks from a daemon thread behind a bounded queue.

    The render loop only blocks when the queue is full. The first sink error stops all writing;
    it is raised as SinkError at the next put() or at close(), and the thread keeps draining the
    queue meanwhile so put() never blocks forever.
    """

    def __init__(self, sinks: list[Sink], maxsize: int = 8):
        self._sinks = list(sinks)
        self._queue: queue.Queue[tuple[int, np.ndarray] | Callable[[], None] | None] = queue.Queue(maxsize)
        self._error: SinkError | None = None
        self._thread = threading.Thread(target=self._run, name="zoomdream-writer", daemon=True)
        self._thread.start()

    def put(self, index: int, frame: np.ndarray) -> None:
        """Queue one output frame (every lane: (B, H, W, 3), float in [0, 1] or uint8); it must not change afterwards."""
        if self._error is not None:
            raise self._error
        self._queue.put((index, frame))

    def call(self, task: Callable[[], None]) -> None:
        """Run ``task`` on the writer thread once every frame queued before it is written (checkpoints)."""
        if self._error is not None:
            raise self._error
        self._queue.put(task)

    def close(self) -> None:
        """Write what is queued, finish every sink, and raise the first error of any of them."""
        self._stop(clean=True)
        if self._error is not None:
            raise self._error

    def abort(self) -> None:
        """Write what is queued, then abort every sink: for when the render itself failed.

        Raises nothing, so the render's own error is the one the user sees.
        """
        self._stop(clean=False)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    if callable(item):
                        item()
                    else:
                        for sink in self._sinks:
                            sink.write(*item)
                except Exception as err:
                    self._error = _as_sink_error(err)

    def _stop(self, clean: bool) -> None:
        self._queue.put(None)
        self._thread.join()
        clean = clean and self._error is None
        for sink in self._sinks:
            try:
                sink.close() if clean else sink.abort()
            except Exception as err:
                self._error = self._error or _as_sink_error(err)


def _write_error(path: Path, err: OSError) -> SinkError:
    return SinkError(f"cannot write {path}: {err.strerror or err}")


def _as_sink_error(err: Exception) -> SinkError:
    """Any failure inside a sink, as the one-line error the CLI shows."""
    if isinstance(err, SinkError):
        return err
    if isinstance(err, OSError) and err.filename:
        return _write_error(Path(err.filename), err)
    error = SinkError(f"writing output failed: {type(err).__name__}: {err}")
    error.__cause__ = err
    return error
