"""Keyframed values, the way animation tools write them.

A schedule is written as a plain number, a ``{key: value}`` mapping or a Deforum-style
string ``"0:(1.02), 120:(1.05)"``. Keys are frame numbers or times (``"2.5s"``), so a
schedule keeps its timing when ``fps`` changes. Values between keys are interpolated;
before the first key and after the last one the end values hold.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass
from typing import Union

import numpy as np

ScheduleSpec = Union[float, int, dict, str]
INTERPOLATIONS = ("linear", "cubic", "ease")

_KEY = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s?)\s*$")
_PAIR = re.compile(r"\s*([^:,]+?)\s*:\s*\(\s*([^()]*?)\s*\)\s*(?:,|$)")


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 2, 40, 40, 40


def shown(value: object) -> str:
    """A bounded repr: an aliased YAML bomb must not be expanded just to print an error."""
    return _SHORT.repr(value)


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class Keyframe:
    """One key: where (a frame number, or seconds when ``seconds`` is set) and the value."""

    at: float
    seconds: bool
    value: float

    def frame(self, fps: float) -> float:
        return self.at * fps if self.seconds else self.at


def _parse_key(key: object) -> tuple[float, bool]:
    if isinstance(key, bool):
        raise ScheduleError(f"keyframe {shown(key)} is not a frame number or a time like '2.5s'")
    if isinstance(key, (int, float)):
        number = _parse_value(key)
        if number < 0:
            raise ScheduleError(f"keyframe {shown(key)} must be a frame number ≥ 0")
        return number, False
    match = _KEY.match(str(key))
    if not match:
        raise ScheduleError(f"keyframe {shown(key)} is not a frame number or a time like '2.5s'")
    return float(match.group(1)), bool(match.group(2))


def _parse_value(value: object) -> float:
    if isinstance(value, bool):
        raise ScheduleError(f"value {shown(value)} is not a number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise ScheduleError(f"value {shown(value)} is too large") from None
    except (TypeError, ValueError):
        raise ScheduleError(f"value {shown(value)} is not a number") from None
    if not math.isfinite(number):
        raise ScheduleError(f"value {shown(value)} is not a finite number")
    return number


def _parse_string(text: str) -> list[tuple[object, object]]:
    stripped = text.strip()
    pairs = []
    position = 0
    for match in _PAIR.finditer(stripped):
        if match.start() != position:
            break
        pairs.append((match.group(1), match.group(2)))
        position = match.end()
    if not pairs or position != len(stripped):
        raise ScheduleError(
            f"cannot read schedule {shown(text)}: write keyframes as \"0:(1.02), 120:(1.05)\""
        )
    return pairs


def parse_keyframes(spec: ScheduleSpec) -> tuple[Keyframe, ...]:
    """Read any accepted spelling into sorted keyframes, rejecting duplicates."""
    if isinstance(spec, bool):
        raise ScheduleError(f"{shown(spec)} is not a number or a schedule")
    if isinstance(spec, (int, float)):
        return (Keyframe(0.0, False, _parse_value(spec)),)
    if isinstance(spec, str):
        try:
            return (Keyframe(0.0, False, _parse_value(spec)),)
        except ScheduleError:
            items = _parse_string(spec)
    elif isinstance(spec, dict):
        items = list(spec.items())
    else:
        raise ScheduleError(f"{shown(spec)} is not a number, a {{frame: value}} mapping or a keyframe string")
    if not items:
        raise ScheduleError("a schedule needs at least one keyframe")
    keys = [Keyframe(*_parse_key(k), _parse_value(v)) for k, v in items]
    return tuple(keys)


@dataclass(frozen=True)
class Schedule:
    """Keyframes plus the interpolation that joins them; evaluate with ``at(frame, fps)``."""

    keyframes: tuple[Keyframe, ...]
    interpolation: str = "linear"

    @classmethod
    def parse(cls, spec: ScheduleSpec, interpolation: str = "linear") -> "Schedule":
        if interpolation not in INTERPOLATIONS:
            raise ScheduleError(
                f"unknown interpolation {interpolation!r}: use one of {', '.join(INTERPOLATIONS)}"
            )
        return cls(parse_keyframes(spec), interpolation)

    def _points(self, fps: float) -> tuple[np.ndarray, np.ndarray]:
        frames = np.array([k.frame(fps) for k in self.keyframes], dtype=np.float64)
        values = np.array([k.value for k in self.keyframes], dtype=np.float64)
        order = np.argsort(frames, kind="stable")
        frames, values = frames[order], values[order]
        if np.any(np.diff(frames) == 0):
            raise ScheduleError("two keyframes fall on the same frame")
        return frames, values

    def values(self, frames: np.ndarray | list[float], fps: float) -> np.ndarray:
        """Values at many (possibly fractional) frames at once."""
        t = np.asarray(frames, dtype=np.float64)
        keys, vals = self._points(fps)
        if len(keys) == 1:
            return np.full_like(t, vals[0])
        t_clamped = np.clip(t, keys[0], keys[-1])
        i = np.clip(np.searchsorted(keys, t_clamped, side="right") - 1, 0, len(keys) - 2)
        u = (t_clamped - keys[i]) / (keys[i + 1] - keys[i])
        if self.interpolation == "linear":
            return vals[i] + u * (vals[i + 1] - vals[i])
        if self.interpolation == "ease":
            s = u * u * (3 - 2 * u)
            return vals[i] + s * (vals[i + 1] - vals[i])
        return _cubic_hermite(keys, vals, i, u)

    def at(self, frame: float, fps: float) -> float:
        return float(self.values([frame], fps)[0])


def _cubic_hermite(keys: np.ndarray, vals: np.ndarray, i: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Catmull-Rom style cubic through every key; flat at the ends so motion starts gently."""
    slopes = np.zeros_like(vals)
    slopes[1:-1] = (vals[2:] - vals[:-2]) / (keys[2:] - keys[:-2])
    width = keys[i + 1] - keys[i]
    m0, m1 = slopes[i] * width, slopes[i + 1] * width
    u2, u3 = u * u, u * u * u
    return (
        (2 * u3 - 3 * u2 + 1) * vals[i]
        + (u3 - 2 * u2 + u) * m0
        + (-2 * u3 + 3 * u2) * vals[i + 1]
        + (u3 - u2) * m1
    )
