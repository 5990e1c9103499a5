"""The ``video:`` input section (``Footage``): a clip dreamed frame by frame. Not ``output.video``.

The clip is probed when the recipe is loaded (``loading.load_config``), like ``duration: audio``:
``fps``, ``frames`` and ``size`` the recipe leaves unset become the clip's rate (exact, 30000/1001
stays 30000/1001), its frame count between ``start`` and ``end`` and its display size, and its
sound becomes the ``audio`` section unless the recipe has one. Torch-free, like the whole config.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator
from typing_extensions import Annotated

from ..io import ffmpeg
from ..schedules.field import Sched
from ..schedules.keyframes import shown
from .errors import ConfigError
from .resume import FIXED
from .sections import MAX_FRAMES, MAX_SIDE, MIN_SIDE, Section

CLIP_HINT = "give a video file the bundled ffmpeg reads (mp4, mov, mkv, webm)"
Seconds = Union[float, str]


def clip_seconds(value: Any) -> float:
    """``12``, ``12.5``, ``'12.5s'``, ``'1:02.5'`` or ``'1:02:03'`` as seconds; NaN when it is none of these."""
    match = re.fullmatch(r"\s*(?:(\d+):)??(?:(\d+):)?(\d+(?:\.\d*)?|\.\d+)\s*(s?)\s*", str(value)[:100])
    if not match or (match.group(4) and (match.group(1) or match.group(2))):
        return math.nan
    hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups()[:3])
    return hours * 3600 + minutes * 60 + seconds


class Footage(Section):
    file: Annotated[str, FIXED] = Field(
        ..., min_length=1, description="the clip to dream over (mp4, mov, mkv, webm): one output frame per clip frame"
    )
    start: Annotated[Seconds, FIXED] = Field(0.0, description="the first frame shown at or after this time: seconds, '12.5s' or '1:02.5'")
    end: Optional[Seconds] = Field(None, description="stop before this time of the clip (unset: its end)")
    fit: Annotated[Literal["cover", "contain", "stretch"], FIXED] = Field(
        "cover", description="how the clip fills `size` (which defaults to the clip's display size)"
    )
    carry: Sched(ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.8, description="share of the last frame's dream carried onto the clip's next frame along its optical flow, the "
        "rest dreamed anew: 0 dreams every frame afresh, higher is steadier"
    )
    cuts: Optional[list[Union[int, str]]] = Field(
        None, description="the frames where a new shot starts (numbers, or times from `start` like '4.2s'); "
        "unset: found from the flow; [] for none"
    )
    sound: bool = Field(True, description="mux the clip's own sound and let formulas hear it (`audio` overrides it)")

    @field_validator("start", "end")
    @classmethod
    def _seconds(cls, value: Seconds | None) -> float | None:
        if value is None:
            return None
        seconds = clip_seconds(value)
        if not 0 <= seconds <= MAX_FRAMES:
            raise ValueError(f"must be a time like 12.5, '12.5s' or '1:02.5' (got {shown(value)})")
        return seconds

    @field_validator("cuts")
    @classmethod
    def _cut_marks(cls, cuts: list[int | str] | None) -> list[int | str] | None:
        for cut in cuts or []:
            if isinstance(cut, bool) or (isinstance(cut, int) and not 0 <= cut <= MAX_FRAMES):
                raise ValueError(f"give frame numbers ≥ 0 or times like '4.2s' (got {shown(cut)})")
            if isinstance(cut, str) and math.isnan(clip_seconds(cut)):
                raise ValueError(f"{shown(cut)} is not a time; write it like '4.2s' or '0:04.2'")
        return cuts

    @model_validator(mode="after")
    def _end_after_start(self) -> "Footage":
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end: {self.end:g} s is not after start {self.start:g} s")
        return self

    def cut_frames(self, fps: float) -> set[int] | None:
        """``cuts`` as frame numbers of the render (None: find them from the flow)."""
        if self.cuts is None:
            return None
        return {cut if isinstance(cut, int) else round(clip_seconds(cut) * fps) for cut in self.cuts}


@dataclass(frozen=True)
class Window:
    """The part of a clip a render shows: its frames ``first`` .. ``first + count - 1`` at ``rate``."""

    probe: ffmpeg.VideoProbe
    first: int
    count: int

    @property
    def rate(self) -> Fraction:
        return self.probe.rate

    def frame_of(self, t: int, fps: float) -> int:
        """The clip frame render frame ``t`` shows: the one on screen at ``t / fps`` seconds (the same
        frame number when ``fps`` is the clip's rate)."""
        return self.first + min(self.count - 1, math.floor(t * self.rate / exact_rate(fps)))

    def frames_at(self, fps: float) -> int:
        """How many render frames at ``fps`` the window fills."""
        return max(1, math.ceil(self.count * exact_rate(fps) / self.rate))

    def seek(self, frame: int) -> float | None:
        """``-ss`` seconds that start decoding exactly at clip frame ``frame`` (None for the first)."""
        times = self.probe.times
        return None if frame <= 0 else (times[frame - 1] + times[frame]) / 2


def exact_rate(fps: float) -> Fraction:
    """A frame rate as the fraction it stands for (29.97002997... is 30000/1001)."""
    return Fraction(fps).limit_denominator(1_000_000)


@functools.lru_cache(maxsize=16)
def _probe(path: str, stamp: tuple[int, int]) -> ffmpeg.VideoProbe:
    return ffmpeg.probe_video(Path(path))


def probe(file: str) -> ffmpeg.VideoProbe:
    """The clip's probe (asked of ffmpeg once per file version), or a one-line ConfigError."""
    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"video.file: {path} {'is a folder' if path.is_dir() else 'not found'}; {CLIP_HINT}")
    stat = path.stat()
    try:
        return _probe(str(path.resolve()), (stat.st_mtime_ns, stat.st_size))
    except ffmpeg.ProbeError as error:
        raise ConfigError(f"video.file: cannot use {path} ({error}); {CLIP_HINT}") from None


def window(footage: Footage) -> Window:
    """The frames between ``start`` and ``end``, or a one-line ConfigError when the cut is outside the clip."""
    clip = probe(footage.file)
    times, start = clip.times, float(footage.start)
    first = next((i for i, time in enumerate(times) if time >= start - 1e-6), len(times))
    if first == len(times):
        raise ConfigError(f"video.start: {start:g} s is past the clip's last frame ({times[-1]:.3f} s of {footage.file})")
    end, length = len(times), float(times[-1] + 1 / clip.rate)
    if footage.end is not None:
        stop = float(footage.end)
        if stop > length + 1 / clip.rate:
            raise ConfigError(f"video.end: {stop:g} s is past the clip's end ({length:.3f} s of {footage.file})")
        end = next((i for i, time in enumerate(times) if time >= stop - 1e-6), len(times))
        if end <= first:
            raise ConfigError(f"video: no frame of {footage.file} is shown between start {start:g} s and end {stop:g} s")
    return Window(clip, first, end - first)


def resolved(config: Any) -> dict[str, Any]:
    """What loading the recipe fills in from the clip, as keys of the recipe: ``fps``, ``frames`` and
    ``size`` where the recipe leaves them unset, and the clip's sound as ``audio``; checks that the
    render's frames lie inside the cut."""
    footage: Footage = config.video
    if config.start.image is not None or any(v.start and v.start.image for v in config.variants):
        raise ConfigError("start.image: a render over video starts from the clip's first frame; remove start.image")
    part = window(footage)
    given = config.model_fields_set
    fps = config.fps if "fps" in given else float(part.rate)
    if not 1 <= fps <= 240:
        raise ConfigError(f"video.file: its frame rate {part.rate} is outside 1-240 fps; set fps")
    values: dict[str, Any] = {"fps": fps}
    available = part.frames_at(fps)
    if "frames" in given or "duration" in given:
        if config.frame_count > available:
            raise ConfigError(
                f"frames: {config.frame_count} frames at {fps:g} fps need more of {footage.file} than start to end holds "
                f"({available} frames, {float(part.count / part.rate):.3f} s); lower frames or leave it unset"
            )
    else:
        values["frames"] = available
    if "size" not in given:
        width, height = part.probe.display
        if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
            raise ConfigError(f"video.file: its display size {width}x{height} is outside {MIN_SIDE}-{MAX_SIDE}; set size")
        values["size"] = [width, height]
    if "zoom" not in config.motion.model_fields_set:  # over footage the camera stands still unless told
        values["motion"] = {**config.motion.model_dump(mode="json"), "zoom": 1.0}
    if footage.sound and config.audio is None:
        if part.probe.audio:
            values["audio"] = {"file": footage.file, "offset": part.probe.times[part.first]}
        else:
            values["video"] = {**footage.model_dump(mode="json"), "sound": False}
    return values
