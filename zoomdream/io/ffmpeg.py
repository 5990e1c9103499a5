"""Every ffmpeg command line zoomdream runs, and one way to read what went wrong.

The binary is the one imageio-ffmpeg ships, so nothing else needs installing. Each child runs in
its own session: a Ctrl-C meant for the render never reaches ffmpeg, which can then still finish
the video so far.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import IO, Iterator, Sequence

import imageio_ffmpeg
import numpy as np

SOUND_HINT = "give an mp3, wav, flac, aac or ogg file"  # what the bundled ffmpeg decodes for sure

# Convert and tag as BT.709, so players show the colours of the PNG frames.
BT709 = "scale=out_color_matrix=bt709:out_range=tv,setparams=color_primaries=bt709:color_trc=bt709"


def exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def cause(log: bytes | str) -> str | None:
    """The first line ffmpeg logged, without its ``[component]`` tag: later lines are consequences."""
    text = log.decode("utf-8", "replace") if isinstance(log, bytes) else log
    lines = (line.strip() for line in text.splitlines())
    return next((re.sub(r"^\[[^\]]*\]\s*", "", line) for line in lines if line), None)


def run(args: Sequence[str]) -> subprocess.CompletedProcess:
    """Run ffmpeg to the end with ``args``; stdout and stderr captured as bytes."""
    return subprocess.run([exe(), *args], capture_output=True, start_new_session=True)


def start(args: Sequence[str], log: IO[bytes], env: dict[str, str] | None = None) -> subprocess.Popen:
    """ffmpeg reading frames on stdin; its log goes to a file (an unread pipe could stall it)."""
    return subprocess.Popen(
        [exe(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
        env={**os.environ, **(env or {})},
    )


@functools.cache
def encoders() -> frozenset[str]:
    """The video encoders the bundled ffmpeg was built with (asked once per process)."""
    listing = run(["-hide_banner", "-encoders"]).stdout.decode("utf-8", "replace")
    return frozenset(re.findall(r"^\s*V\S*\s+(\S+)", listing, flags=re.MULTILINE))


def rate(fps: float | Fraction) -> str:
    """A frame rate as ffmpeg's exact fraction (30000/1001 stays 30000/1001)."""
    return str(Fraction(fps).limit_denominator(1_000_000) if not isinstance(fps, Fraction) else fps)


def encode_args(
    out: Path, size: tuple[int, int], fps: float | Fraction, deep: bool, codec_args: Sequence[str], filters: str = BT709
) -> list[str]:
    """Raw RGB frames of ``size`` on stdin (16-bit when ``deep``) encoded to ``out``."""
    width, height = size
    vf = ["-vf", filters] if filters else []
    return [
        "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb48le" if deep else "rgb24",
        "-s", f"{width}x{height}", "-r", rate(fps), "-i", "-", "-an", *codec_args, *vf, str(out),
    ]  # fmt: skip


def concat_args(listing: Path, out: Path, extra: Sequence[str] = (), faststart: bool = True) -> list[str]:
    """Join the files named in ``listing`` (the concat demuxer's format) without re-encoding."""
    return [
        "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing), *extra,
        "-c:v", "copy", *(["-movflags", "+faststart"] if faststart else []), str(out),
    ]  # fmt: skip


def probe(path: Path) -> tuple[bool, str]:
    """(readable by ffmpeg, its report on the streams), from ``ffmpeg -i`` with no output."""
    done = subprocess.run([exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return "Input #0" in done.stderr, done.stderr


def streams(report: str, kind: str) -> list[str]:
    """The lines of a probe report describing the ``kind`` (Audio, Video) streams."""
    return re.findall(rf"^\s*Stream #.*: {kind}:.*$", report, flags=re.MULTILINE)


def last_line(report: str) -> str:
    """The reason a probe gives for refusing a file: its last line, untagged."""
    lines = [line for line in report.splitlines() if line.strip()]
    return re.sub(r"^\[[^\]]*\]\s*", "", lines[-1]) if lines else ""


def decode_audio(path: Path, offset: float, sample_rate: int) -> tuple[np.ndarray | None, str]:
    """Mono float32 samples from ``offset`` seconds on, or (None, the reason)."""
    done = run(["-v", "error", "-nostdin", "-ss", f"{offset:.6f}", "-i", str(path),
                "-vn", "-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "-"])  # fmt: skip
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, lines[-1][:200] if lines else f"ffmpeg exit code {done.returncode}"
    return np.frombuffer(done.stdout, dtype=np.float32), ""


def decode_video(path: Path) -> Iterator[np.ndarray]:
    """The frames of a video as stored, uint8 (H, W, 3): no conversion to a constant rate, which
    could repeat or drop a frame at a segment join."""
    reader = imageio_ffmpeg.read_frames(str(path), output_params=["-fps_mode", "passthrough"])
    width, height = next(reader)["size"]
    for data in reader:
        yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
