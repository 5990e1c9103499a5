"""Keyframed values, the way animation tools write them.

A schedule is written as a plain number, a ``{key: value}`` mapping, a Deforum-style
string ``"0:(1.02), 120:(1.05)"`` or a formula of time and sound (see ``expressions``);
any keyframe's value may be a formula too. Keys are frame numbers or times (``"2.5s"``), so a
schedule keeps its timing when ``fps`` changes. Values between keys are interpolated;
before the first key and after the last one the end values hold.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass, field
from typing import Mapping, Union

import numpy as np

from .expressions import Expression, ExpressionError

ScheduleSpec = Union[float, int, dict, str]
INTERPOLATIONS = ("linear", "cubic", "ease")

_KEY = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s?)\s*$")
_FORMAT_HINT = 'write keyframes as "0:(1.02), 120:(1.05)" or a formula like "1 + 0.01*sin(t/10)"'


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 2, 40, 40, 40


def shown(value: object) -> str:
    """A bounded repr: an aliased YAML bomb must not be expanded just to print an error."""
    return _SHORT.repr(value)


class ScheduleError(ValueError):
    """A schedule that cannot be read; the message says what to write instead."""


@dataclass(frozen=True)
class Bounds:
    """The range a keyframed field must stay in: every number key at load, every frame of a formula at render."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    integer: bool = False

    def problem(self, value: float) -> str | None:
        """What is wrong with one value, as 'must be ...', or None when it fits."""
        if not math.isfinite(value):
            return "must be a finite number"
        if self.ge is not None and value < self.ge:
            return f"must be ≥ {self.ge:g}"
        if self.gt is not None and value <= self.gt:
            return f"must be > {self.gt:g}"
        if self.le is not None and value > self.le:
            return f"must be ≤ {self.le:g}"
        return None

    def first_problem(self, values: np.ndarray) -> tuple[int, str] | None:
        """The first frame whose value does not fit, and why."""
        bad = ~np.isfinite(values)
        for limit, outside in ((self.ge, np.less), (self.gt, np.less_equal), (self.le, np.greater)):
            if limit is not None:
                bad |= outside(values, limit)
        if not bad.any():
            return None
        frame = int(np.argmax(bad))
        return frame, str(self.problem(float(values[frame])))


@dataclass(frozen=True)
class Clock:
    """What a formula may read at each frame: time, the render's length and the sound."""

    fps: float
    frame_count: int
    sound: Mapping[str, np.ndarray] = field(default_factory=dict)

    def variables(self, frames: np.ndarray) -> dict[str, np.ndarray | float]:
        """Every name at these (possibly fractional) frames; sound tables are indexed by frame.
        ``max_f`` is the last frame's number, as in Deforum."""
        names: dict[str, np.ndarray | float] = {
            "t": frames, "s": frames / self.fps, "fps": self.fps, "max_f": self.frame_count - 1, "frames": self.frame_count,
        }  # fmt: skip
        for name, table in self.sound.items():
            names[name] = np.interp(frames, np.arange(len(table)), table, right=0.0)
        return names


@dataclass(frozen=True)
class Keyframe:
    """One key: where (a frame number, or seconds when ``seconds`` is set) and a number or formula."""

    at: float
    seconds: bool
    value: Union[float, Expression]

    def frame(self, fps: float) -> float:
        return self.at * fps if self.seconds else self.at


def _parse_key(key: object) -> tuple[float, bool]:
    if isinstance(key, bool):
        raise ScheduleError(f"keyframe {shown(key)} is not a frame number or a time like '2.5s'")
    if isinstance(key, (int, float)):
        number = _parse_number(key)
        if number < 0:
            raise ScheduleError(f"keyframe {shown(key)} must be a frame number ≥ 0")
        return number, False
    match = _KEY.match(str(key))
    if not match:
        raise ScheduleError(f"keyframe {shown(key)} is not a frame number or a time like '2.5s'")
    return float(match.group(1)), bool(match.group(2))


def _parse_number(value: object) -> float:
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


def _parse_value(value: object) -> Union[float, Expression]:
    """A number stays a number; any other string is a formula."""
    if isinstance(value, str):
        try:
            return _parse_number(value)
        except ScheduleError:
            try:
                return Expression.parse(value)
            except ExpressionError as error:
                raise ScheduleError(str(error)) from None
    return _parse_number(value)


def _split_keyframes(text: str) -> list[tuple[str, str]]:
    """``"0:(1), 60:(1 + 0.01*cos(t/10))"`` into (key, value) pairs; values may nest parentheses."""
    pairs, i, n = [], 0, len(text)
    while True:
        colon = text.find(":", i)
        if colon < 0 or "(" in text[i:colon] or ")" in text[i:colon]:
            raise ScheduleError(f"cannot read schedule {shown(text)}: {_FORMAT_HINT}")
        key, i = text[i:colon], colon + 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "(":
            raise ScheduleError(f"cannot read schedule {shown(text)}: the value after {key.strip()!r}: needs (...)")
        depth, open_at = 0, i
        while i < n:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
            if depth == 0:
                break
        if depth:
            raise ScheduleError(f"cannot read schedule {shown(text)}: a '(' after {key.strip()!r}: is not closed")
        pairs.append((key, text[open_at + 1 : i - 1]))
        rest = text[i:].lstrip()
        if not rest:
            return pairs
        if not rest.startswith(","):
            raise ScheduleError(f"cannot read schedule {shown(text)}: separate keyframes with commas")
        i = n - len(rest) + 1


def _parse_string(text: str) -> list[tuple[object, object]]:
    """A keyframe string when it has a ``key:`` outside parentheses, else one formula for all frames."""
    depth, keyed = 0, False
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        keyed = keyed or (char == ":" and depth == 0)
    if keyed:
        return _split_keyframes(text)
    return [(0, text)]


def parse_keyframes(spec: ScheduleSpec) -> tuple[Keyframe, ...]:
    """Read any accepted spelling into keyframes."""
    if isinstance(spec, bool):
        raise ScheduleError(f"{shown(spec)} is not a number or a schedule")
    if isinstance(spec, (int, float)):
        return (Keyframe(0.0, False, _parse_number(spec)),)
    if isinstance(spec, str):
        items = _parse_string(spec)
    elif isinstance(spec, dict):
        items = list(spec.items())
    else:
        raise ScheduleError(f"{shown(spec)} is not a number, a {{frame: value}} mapping or a keyframe string")
    if not items:
        raise ScheduleError("a schedule needs at least one keyframe")
    return tuple(Keyframe(*_parse_key(k), _parse_value(v)) for k, v in items)


@dataclass(frozen=True)
class Schedule:
    """Keyframes plus the interpolation that joins them; evaluate with ``values(frames, clock)``.

    As in Deforum, a formula key holds from its frame up to the next key, evaluated at every
    frame; numbers are interpolated, and a formula next to a number meets it with its own
    value at its key.
    """

    keyframes: tuple[Keyframe, ...]
    interpolation: str = "linear"

    @classmethod
    def parse(cls, spec: ScheduleSpec, interpolation: str = "linear") -> "Schedule":
        if interpolation not in INTERPOLATIONS:
            raise ScheduleError(
                f"unknown interpolation {interpolation!r}: use one of {', '.join(INTERPOLATIONS)}"
            )
        return cls(parse_keyframes(spec), interpolation)

    @property
    def expressions(self) -> list[Expression]:
        return [k.value for k in self.keyframes if isinstance(k.value, Expression)]

    def _sorted(self, fps: float) -> tuple[np.ndarray, list[Keyframe]]:
        frames = np.array([k.frame(fps) for k in self.keyframes], dtype=np.float64)
        order = np.argsort(frames, kind="stable")
        frames = frames[order]
        if np.any(np.diff(frames) == 0):
            raise ScheduleError("two keyframes fall on the same frame")
        return frames, [self.keyframes[i] for i in order]

    def values(self, frames: np.ndarray | list[float], clock: Clock) -> np.ndarray:
        """Values at many (possibly fractional) frames at once."""
        t = np.asarray(frames, dtype=np.float64)
        keys, keyframes = self._sorted(clock.fps)
        anchors = np.array([_evaluate(k.value, np.array([at]), clock)[0] for at, k in zip(keys, keyframes)])
        out = _interpolate(keys, anchors, t, self.interpolation)
        ends = np.append(keys[1:], np.inf)
        for start, end, key in zip(keys, ends, keyframes):
            inside = (t >= start) & (t < end)
            if isinstance(key.value, Expression) and inside.any():
                out[inside] = _evaluate(key.value, t[inside], clock)
        return out


def _evaluate(value: Union[float, Expression], frames: np.ndarray, clock: Clock) -> np.ndarray:
    if isinstance(value, Expression):
        try:
            return value.evaluate(clock.variables(frames), len(frames))
        except ExpressionError as error:
            raise ScheduleError(str(error)) from None
    return np.full(len(frames), value)


def _interpolate(keys: np.ndarray, vals: np.ndarray, t: np.ndarray, interpolation: str) -> np.ndarray:
    if len(keys) == 1:
        return np.full_like(t, vals[0])
    t_clamped = np.clip(t, keys[0], keys[-1])
    i = np.clip(np.searchsorted(keys, t_clamped, side="right") - 1, 0, len(keys) - 2)
    u = (t_clamped - keys[i]) / (keys[i + 1] - keys[i])
    if interpolation == "linear":
        return vals[i] + u * (vals[i + 1] - vals[i])
    if interpolation == "ease":
        s = u * u * (3 - 2 * u)
        return vals[i] + s * (vals[i + 1] - vals[i])
    return _cubic_hermite(keys, vals, i, u)


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
