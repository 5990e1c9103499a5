"""Everything that touches the disk: atomic files, the MP4, the PNG sequence, and the writer thread.

Every sink takes float32 (H, W, 3) frames in [0, 1] through write(index, frame) and converts them
itself, so the writer thread treats all sinks alike. A sink is a context manager: close() on
success, abort() on an exception, so a crash never finalises a half-written output.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import tempfile
import threading
from fractions import Fraction
from pathlib import Path
from typing import Callable

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np


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
    return np.rint(np.clip(frame, 0.0, 1.0) * top).astype(dtype)


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

    def write(self, index: int, frame: np.ndarray) -> None:
        raise NotImplementedError


class VideoSink(Sink):
    """H.264 MP4 (yuv420p, CRF, faststart) streamed to ffmpeg as frames arrive.

    ffmpeg writes ".<name>.part.mp4" beside `path`; close() renames it to `path` only after
    ffmpeg exited cleanly. yuv420p needs even sizes: an odd width or height is padded by
    repeating the last column or row, so the video is at most one pixel larger and never
    rescaled. Frames are appended in call order; the index is not used.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, codec: str = "libx264", crf: int = 18):
        self.path = Path(path)
        self._size = size
        self._tmp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        width, height = size
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width + width % 2}x{height + height % 2}",
            "-r", str(Fraction(fps).limit_denominator()), "-i", "-", "-an",
            "-c:v", codec, "-pix_fmt", "yuv420p", "-crf", str(crf),
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
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True
        )

    def write(self, index: int, frame: np.ndarray) -> None:
        pixels = quantize(frame, 8)
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


class SegmentedVideo(Sink):
    """The MP4 as a chain of finished segments joined at the end without re-encoding.

    ``cut()`` finishes the segment in flight; a checkpoint records the finished ones, so a
    render that dies loses at most the segment in flight and ``--resume`` carries on with new
    segments. ``close()`` joins them all into ``path`` (atomically), which also makes an
    interrupted render leave a playable video of what it finished.
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
    ):
        self.path = Path(path)
        self.folder = Path(folder) if folder else self.path.parent / "segments"
        self.done = list(done)
        self._options = (size, fps, codec, crf)
        self._current: VideoSink | None = None

    def write(self, index: int, frame: np.ndarray) -> None:
        if self._current is None:
            self._current = VideoSink(self.folder / f"{index:06d}.mp4", *self._options)
        self._current.write(index, frame)

    def cut(self) -> list[str]:
        """Finish the segment in flight; returns the names of every finished segment."""
        if self._current is not None:
            current, self._current = self._current, None
            current.close()
            self.done.append(current.path.name)
        return list(self.done)

    def close(self) -> None:
        self.cut()
        if self.done:
            join_videos([self.folder / name for name in self.done], self.path)

    def abort(self) -> None:
        if self._current is not None:
            self._current.abort()
            self._current = None


def join_videos(parts: list[Path], path: Path) -> None:
    """Concatenate MP4 segments with ffmpeg's concat demuxer (stream copy), atomically."""
    listing = path.with_name(f".{path.stem}.segments.txt")
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    write_atomic(listing, "".join(f"file '{p.resolve()}'\n" for p in parts))
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "concat", "-safe", "0",
        "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(tmp),
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


class FrameSink(Sink):
    """PNG sequence for editors, 8- or 16-bit RGB, each file written atomically as 000123.png.

    Pillow cannot write 16-bit RGB PNG, so PNGs are encoded with imageio's OpenCV plugin.
    """

    def __init__(self, folder: Path, bit_depth: int = 8):
        if bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
        self.folder = Path(folder)
        self.bit_depth = bit_depth
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise _write_error(self.folder, err) from err

    def write(self, index: int, frame: np.ndarray) -> None:
        png = iio.imwrite("<bytes>", quantize(frame, self.bit_depth), extension=".png", plugin="opencv")
        write_atomic(self.folder / f"{index:06d}.png", png)


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
        """Queue a float32 (H, W, 3) frame in [0, 1]; it must not be modified afterwards."""
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
