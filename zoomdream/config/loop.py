"""``loop:``: a video that plays seamlessly repeated, and the checks that make it possible.

The loop's frames are numbered 0 .. length-1 like any video's, and every schedule is read at
the loop's own time: the warm-up before frame 0 (rendered, not written) reads the schedules at
``length - warmup .. length - 1`` and the frames past the end read them from 0 again, so the
frames before the loop's first one move exactly like the loop's last ones. For that the
schedules must end where they start (values, and slopes for smoothness); one that does not is
one line naming its key. ``periodic: true`` is for schedules written for the loop: keyframes
are joined cyclically (the last key runs into the first one a loop later) and only a jump where
the loop wraps is refused. Torch-free, like the rest of the config.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union

import numpy as np
from pydantic import Field, field_validator

from ..schedules.expressions import SOUND_NAMES
from ..schedules.keyframes import Clock, Keyframe, Schedule, ScheduleError, shown
from .sections import MAX_FRAMES, Section, parse_seconds

Length = Union[int, str]  # frames like 240, or a time like '8s'

# Defaults, chosen by measuring configs/loop.yaml at 320x180 (README, "Loops for VJ sets").
CROSSFADE = "2s"  # at most half the loop when left to the default
SETTLE = "3s"  # the warm-up before the crossfade's frames: noise has melted into motifs by then


class Loop(Section):
    """A seamless loop: the video is exactly ``length`` long and its last frame flows into its first."""

    length: Optional[Length] = Field(
        None, description="the loop's length, frames like 240 or a time like '8s' (default: the render's frames or duration)"
    )
    crossfade: Optional[Length] = Field(
        None, description=f"the last frames, drawn toward the first ones while the dream runs on (default {CROSSFADE}, at most half the loop)"
    )
    warmup: Optional[Length] = Field(
        None,
        description=f"frames rendered before the loop and not written, so it starts in the dream's steady state "
        f"(default {SETTLE} plus the crossfade, which renders the warm-up's last frames again)",
    )
    periodic: bool = Field(
        False, description="schedules written for the loop: keyframes join the last key to the first one a loop later"
    )

    @field_validator("length", "crossfade", "warmup", mode="before")
    @classmethod
    def _frames_or_time(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if not 1 <= value <= MAX_FRAMES:
                raise ValueError(f"must be between 1 and {MAX_FRAMES} frames (got {value})")
            return value
        if isinstance(value, str) and 0 < parse_seconds(value) <= MAX_FRAMES and value.strip().endswith("s"):
            return value
        raise ValueError(f"give frames like 240 or a time like '8s' (got {shown(value)})")


def frames_of(value: Length, fps: float) -> int:
    """A length as frames: an int is frames, '8s' is seconds at ``fps``."""
    if isinstance(value, int):
        return value
    return max(1, round(parse_seconds(value) * fps))


class Timing(NamedTuple):
    """A loop in frames: ``warmup`` frames before frame 0 (the first is frame -warmup), the last
    ``crossfade`` frames drawn toward the frames before frame 0, dreamed every ``every`` frames."""

    length: int
    warmup: int
    crossfade: int
    every: int


def _up(value: int, step: int, offset: int = 0) -> int:
    """The smallest n ≥ value with n ≡ offset (mod step)."""
    return value + (offset - value) % step


def timing(config: Any) -> Timing:
    """The loop of a config in frames. The crossfade is whole dream intervals, and the warm-up
    ends on a dreamed frame, so the frames before frame 0 are dreamed exactly as the loop's last
    ones. A ``dream_every`` that does not divide the loop (only a preview gets one: recipes are
    refused) becomes the largest one that does."""
    loop, length = config.loop, config.frame_count
    every = max(d for d in range(1, config.motion.dream_every + 1) if length % d == 0)
    fade = frames_of(loop.crossfade, config.fps) if loop.crossfade is not None else min(frames_of(CROSSFADE, config.fps), length // 2)
    fade = min(_up(max(fade, 1), every), length)
    warmup = frames_of(loop.warmup, config.fps) if loop.warmup is not None else frames_of(SETTLE, config.fps) + fade
    return Timing(length, _up(max(warmup, fade + 1), every, 1), fade, every)


def loop_times(frames: np.ndarray, length: int) -> np.ndarray:
    """The loop's time of render frames (negative in the warm-up, ≥ length past the end)."""
    return np.mod(frames, length)


def cyclic(schedule: Schedule, length: int, fps: float) -> Schedule:
    """Keyframes joined around the loop: every key wrapped into 0 .. length-1 and repeated a loop
    before and after, so the interpolation runs from the last key into the first (cubic sees its
    neighbours across the wrap); read it at the loop's time."""
    keys: dict[float, Keyframe] = {}
    for key in schedule.keyframes:
        frame = key.frame(fps) % length
        if frame in keys and keys[frame].value != key.value:
            raise ScheduleError(f"keyframe {key.at:g}{'s' if key.seconds else ''} wraps onto frame {frame:g} of the loop, "
                                f"which has another keyframe with another value")  # fmt: skip
        keys[frame] = Keyframe(frame, False, key.value)
    base = sorted(keys.values(), key=lambda k: k.at)
    wrapped = tuple(Keyframe(k.at + shift, False, k.value) for shift in (-length, 0, length) for k in base)
    return Schedule(wrapped, schedule.interpolation)


SLOPE = 1e-5  # frames: the slopes at the two ends are read this close to them (an eased key is flat there)
JUMP = 2.0  # periodic: a step where the loop wraps more than twice the steps beside it is a jump


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-9 + 1e-6 * scale


def wrap_problem(path: str, spec: Any, interpolation: str, length: int, fps: float, periodic: bool) -> str | None:
    """Why a schedule would not loop smoothly, as the line naming its key; None when it loops.

    Sound reads as silence here: the track is the loop's own (``duration: audio``), so what it
    does at the wrap is the music's, not the recipe's.
    """
    clock = Clock(fps, length, {name: np.zeros(1) for name in SOUND_NAMES})
    try:
        schedule = Schedule.parse(spec, interpolation)
        if periodic:
            schedule = cyclic(schedule, length, fps)
            before, last, first, after = schedule.values([length - 2, length - 1, 0, 1], clock)
            step, around = first - last, max(abs(last - before), abs(after - first))
            if abs(step) > JUMP * around + 1e-9 + 1e-6 * max(abs(first), abs(last)):
                return (f"{path}: jumps from {last:.6g} to {first:.6g} where the loop wraps (frame {length - 1} -> 0); "
                        f"write it periodic over the loop (e.g. sin(2*pi*t/frames)) or as keyframes")  # fmt: skip
            return None
        start, second, before_end, end = schedule.values([0, SLOPE, length - SLOPE, length], clock)
    except ScheduleError as error:
        return f"{path}: {error}"
    scale = max(abs(start), abs(end), 1.0)
    if not _close(end, start, scale):
        return (f"{path}: the loop ends at {end:.6g} (frame {length}) but starts at {start:.6g}; a loop's schedules must "
                f"end where they start: end it on {start:.6g}, or set loop.periodic: true to join it around")  # fmt: skip
    into, out = (end - before_end) / SLOPE, (second - start) / SLOPE
    if not _close(into, out, scale):
        return (f"{path}: changes by {into:+.3g}/frame into the loop's end but {out:+.3g}/frame out of its start, a kink "
                f"at the seam; use interpolation: ease (or cubic with loop.periodic: true)")  # fmt: skip
    return None


def check_loop(config: Any) -> None:
    """A recipe's loop, checked when it is loaded: one ValueError naming the key and the fix."""
    loop = config.loop
    if loop is None:
        return
    if loop.length is not None and (config.frames is not None or config.duration is not None):
        given = "frames" if config.frames is not None else "duration"
        raise ValueError(f"loop.length: the video's length is given twice ({given} and loop.length); give one of them")
    if getattr(config, "video", None) is not None:
        raise ValueError("loop: a clip (video) does not come back to its first frame, so it cannot loop; render it without loop")
    if config.duration == "audio":
        return  # measured when the config is loaded, then checked again with its length
    length, every = config.frame_count, config.motion.dream_every
    if length < 2:
        raise ValueError(f"loop.length: a loop needs at least 2 frames (got {length})")
    if length % every:
        low, high = length - length % every, length + every - length % every
        raise ValueError(f"loop.length: {length} frames is not a multiple of motion.dream_every ({every}), so the "
                         f"dreamed frames would not repeat; make it {low or high} or {high} frames")  # fmt: skip
    fade = timing(config).crossfade
    if loop.crossfade is not None and fade > length // 2:
        raise ValueError(f"loop.crossfade: {fade} frames is more than half the loop ({length} frames)")
    if loop.warmup is not None and frames_of(loop.warmup, config.fps) <= fade:
        raise ValueError(f"loop.warmup: {frames_of(loop.warmup, config.fps)} frames must be longer than the crossfade "
                         f"({fade} frames): the crossfade renders the warm-up's last frames again")  # fmt: skip
    for field in config.schedules():
        problem = wrap_problem(field.path, field.spec, field.interpolation, length, config.fps, loop.periodic)
        if problem:
            raise ValueError(problem)


def describe(t: Timing, fps: float) -> str:
    """The loop in words, for notices and the record."""
    return (f"a {t.length}-frame loop ({t.length / fps:.3g} s) after {t.warmup} warm-up frames, "
            f"the last {t.crossfade} drawn toward the first")  # fmt: skip


__all__ = ["CROSSFADE", "Loop", "SETTLE", "Timing", "check_loop", "cyclic", "frames_of", "loop_times", "timing", "wrap_problem"]
