"""One video file streamed to ffmpeg as frames arrive."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from . import ffmpeg
from .codecs import Codec, check_codec
from .errors import SinkError, write_error
from .sink import Sink, quantize


class VideoSink(Sink):
    """One video file (a codec from ``codecs.CODECS``) streamed to ffmpeg as frames arrive.

    ffmpeg writes ".<name>.part.<ext>" beside ``path``; close() renames it to ``path`` only after
    ffmpeg exited cleanly. A size the codec cannot take (odd sides for 4:2:0) is padded by
    repeating the last column or row (the codec's entry says how far), so the video is never
    rescaled. Frames go to ffmpeg as 16-bit RGB for codecs that keep more than 8 bits. Frames
    are appended in call order; the index is not used.
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float, codec: str | Codec = "libx264", crf: int = 18):
        self.path = Path(path)
        self.codec = codec.check(size) if isinstance(codec, Codec) else check_codec(codec, size)
        self.bit_depth = 16 if self.codec.bit_depth > 8 else 8
        self._size = size
        self._tmp = self.path.with_name(f".{self.path.stem}.part{self.path.suffix}")
        args = ffmpeg.encode_args(self._tmp, self.codec.padded(size), fps, self.bit_depth > 8, self.codec.encoder_args(crf))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp.touch()  # fail here, not at the first frame, when the folder is not writable
        except OSError as err:
            raise write_error(self.path, err) from err
        self._log = tempfile.TemporaryFile()
        self._ffmpeg = ffmpeg.start(args, self._log, self.codec.env)

    def write(self, index: int, frame: np.ndarray) -> None:
        pixels = quantize(frame, self.bit_depth).astype(f"<u{self.bit_depth // 8}", copy=False)
        width, height = self._size
        if pixels.shape != (height, width, 3):
            raise ValueError(f"{self.path}: frame shape {pixels.shape} does not match size {self._size}")
        padded_width, padded_height = self.codec.padded(self._size)
        pixels = np.pad(pixels, ((0, padded_height - height), (0, padded_width - width), (0, 0)), mode="edge")
        try:
            self._ffmpeg.stdin.write(pixels.tobytes())
        except OSError as err:
            self._finish()
            raise self._error(err) from err

    def close(self) -> None:
        if self._finish() != 0:
            raise self._error(None)
        try:
            os.replace(self._tmp, self.path)
        except OSError as err:
            raise write_error(self.path, err) from err

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

    def _error(self, err: OSError | None) -> SinkError:
        self._log.seek(0)
        cause = ffmpeg.cause(self._log.read()) or (err and err.strerror) or f"ffmpeg exited with code {self._ffmpeg.returncode}"
        return SinkError(f"cannot write {self.path}: ffmpeg: {cause}")
