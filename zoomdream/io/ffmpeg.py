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
import tempfile
from dataclasses import dataclass
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


def concat_args(
    listing: Path, out: Path, extra: Sequence[str] = (), faststart: bool = True, video: Sequence[str] = ("-c:v", "copy")
) -> list[str]:
    """Join the files named in ``listing`` (the concat demuxer's format): without re-encoding, or
    through ``video`` (filters and an encoder) for a format made from lossless segments."""
    return [
        "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing), *extra,
        *video, *(["-movflags", "+faststart"] if faststart else []), str(out),
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


# -- a clip as input: probing (no ffprobe ships, so ffmpeg's own framecrc muxer answers) and streamed decoding --

DISCARD = 0x4  # AV_PKT_FLAG_DISCARD: a packet an edit list cuts away, which the decoder drops


@dataclass(frozen=True)
class VideoProbe:
    """What a video file holds, as exactly as ffmpeg knows it.

    ``rate``: the frame rate as a fraction (30000/1001, not 29.97), the decoder's own time base;
    ``size``: the decoded frame as ffmpeg delivers it, rotation metadata applied; ``sar``: its
    sample aspect ratio; ``times``: every frame's presentation time in seconds from the file's
    start, in order (``-ss`` counts from there); ``audio``: each sound stream's channel layout.
    """

    rate: Fraction
    size: tuple[int, int]
    sar: Fraction
    rotation: float
    times: tuple[float, ...]
    audio: tuple[str, ...]

    @property
    def display(self) -> tuple[int, int]:
        """The size a player shows: non-square pixels widened (or narrowed) to square ones."""
        return max(1, round(self.size[0] * self.sar)), self.size[1]

    @property
    def seconds(self) -> float:
        return len(self.times) / self.rate


class ProbeError(ValueError):
    """A file that is no usable video; the message is the reason, for the caller to put in one line."""


def _framecrc(args: Sequence[str]) -> tuple[dict[str, str], list[list[str]]]:
    """``ffmpeg ... -f framecrc -`` as its header (``#tb 0`` -> '1/30000') and its packet rows."""
    done = run(["-v", "error", "-nostdin", *args, "-f", "framecrc", "-"])
    if done.returncode != 0:
        raise ProbeError(cause(done.stderr) or f"ffmpeg exit code {done.returncode}")
    header, rows = {}, []
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
        elif line.strip():
            rows.append([part.strip() for part in line.split(",")])
    return header, rows


def probe_video(path: Path) -> VideoProbe:
    """Rate, size, rotation, every frame's time and the sound streams of a video file, or ProbeError.

    One decoded frame gives the exact rate (the raw encoder's time base is the stream's frame
    period), the rotated size and the SAR; a stream copy of the packets gives every frame's time
    without decoding, so a long 4K clip is probed in a moment.
    """
    readable, report = probe(path)
    if not readable:
        raise ProbeError(last_line(report) or "ffmpeg cannot read it")
    if not [line for line in streams(report, "Video") if "(attached pic)" not in line]:
        raise ProbeError("it holds no video stream" + (" (only sound)" if streams(report, "Audio") else ""))
    start = re.search(r"start: (-?\d+(?:\.\d+)?)", report)
    origin = float(start.group(1)) if start else 0.0
    rotation = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees", report)
    header, _ = _framecrc(["-i", str(path), "-map", "0:V:0", "-frames:v", "1"])
    packets_header, packets = _framecrc(["-i", str(path), "-map", "0:V:0", "-c", "copy"])
    try:
        period = Fraction(header["tb 0"])
        width, height = (int(side) for side in header["dimensions 0"].split("x"))
        sar = Fraction(header.get("sar 0", "1/1").replace(":", "/")) or Fraction(1)
        base = Fraction(packets_header["tb 0"])
    except (KeyError, ValueError, ZeroDivisionError):
        raise ProbeError("ffmpeg decodes no frame of it") from None
    kept = [row for row in packets if len(row) < 7 or not int(row[6].split("=")[-1], 16) & DISCARD]
    times = tuple(sorted(float(int(row[2]) * base) - origin for row in kept))
    if not times:
        raise ProbeError("its video stream holds no frames")
    rate = 1 / period if period > 0 else Fraction(0)
    if not 1 <= rate <= 1000 and len(times) > 1:  # no usable time base: the mean rate of the frames
        rate = Fraction(len(times) - 1) / Fraction(times[-1] - times[0]).limit_denominator(1_000_000)
    layouts = tuple(re.sub(r"\s*\(.*$", "", line.split(" Hz, ")[1].split(",")[0]) for line in streams(report, "Audio")
                    if " Hz, " in line)  # fmt: skip
    return VideoProbe(rate, (width, height), sar, float(rotation.group(1)) if rotation else 0.0, times, layouts)


def stream_video(path: Path, size: tuple[int, int], filters: str, seek: float | None = None,
                 count: int | None = None) -> Iterator[np.ndarray]:
    """Decoded frames of ``size`` (after ``filters``), uint8 (H, W, 3), read from a pipe one at a time,
    so a long 4K clip never sits in memory. ``seek``: start at the first frame shown at or after that
    many seconds from the file's start (an exact seek: ffmpeg decodes from the keyframe before and
    drops the frames before it). Closing the iterator ends ffmpeg."""
    width, height = size
    args = [exe(), "-v", "error", "-nostdin", *(["-ss", f"{seek:.9f}"] if seek else []), "-i", str(path),
            "-map", "0:V:0", "-an", "-sn", "-dn", "-fps_mode", "passthrough", "-vf", filters,
            *(["-frames:v", str(count)] if count is not None else []), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]  # fmt: skip
    log = tempfile.TemporaryFile()
    child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    frame = width * height * 3
    try:
        while True:
            data = child.stdout.read(frame)  # type: ignore[union-attr]
            if len(data) < frame:
                break
            yield np.frombuffer(data, np.uint8).reshape(height, width, 3)
        if child.wait() != 0:
            log.seek(0)
            raise ProbeError(cause(log.read()) or f"ffmpeg exit code {child.returncode}")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
        log.close()


PLAYABLE_LAYOUTS = ("mono", "stereo", "5.1", "5.1(side)")  # what every player plays; 5.1(side) is written as 5.1
MAX_SAMPLE_RATE = 48_000


def playable(path: Path) -> list[str]:
    """Output options that make the first sound stream of ``path`` play everywhere: other channel
    layouts (2.1, quad, 7.1, 16 channels) mixed down to stereo, rates over 48 kHz resampled."""
    found = streams(probe(path)[1], "Audio")
    if not found:
        return []
    layout = re.search(r" Hz, ([^,]+),", found[0])
    rate = re.search(r"(\d+) Hz", found[0])
    options = [] if layout and layout.group(1).strip() in PLAYABLE_LAYOUTS else ["-ac", "2"]
    return options + (["-ar", str(MAX_SAMPLE_RATE)] if rate and int(rate.group(1)) > MAX_SAMPLE_RATE else [])
