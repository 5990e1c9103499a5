"""Deforum's keyframe strings read as Deforum reads them, written back as zoomdream schedules.

zoomdream's schedules look like Deforum's, but Deforum's own reader (``FrameInterpolater`` in its
``animation_key_frames.py``) differs in ways that move the camera, so a string is copied only when
zoomdream reads it the same way, and otherwise written anew from what Deforum reads:

- it splits on commas, then each part on colons; the value is what stands between the first and
  the second colon (``"0: 0: (1.02)"`` is 0 at frame 0);
- a key may be a formula of ``max_f`` and ``s`` (the seed), like ``"max_f-2"``, cut to a whole frame;
- only frames 0..max_frames-1 are read: a key at or past max_frames is ignored and the last key
  inside the render holds to its end; a later key on the same frame replaces the earlier one;
- a plain decimal (``1.5``, ``-.5``, no exponent) is a number, interpolated linearly to the next
  key's value; anything else is a formula evaluated at every frame up to the next key, with ``t``
  the frame and ``s`` the seed (zoomdream's ``s`` is seconds, so the seed is written in).

A linear conversion (a copy, or a scale like the 3D pan) maps key by key. A non-linear one (the
3D zoom from translation_z, anything over a keyframed fov) is written as one formula per stretch
between keys, so it is Deforum's value at every frame and not only at the keys.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from ..schedules.keyframes import Clock, Schedule, ScheduleError
from .errors import DeforumError, shown

Spec = Union[float, str]
HINT = '"0: (1.02), 60: (1.05)"'
_DECIMAL = re.compile(r"^(?=.)[+-]?[0-9]*(\.[0-9]+)?$")  # what Deforum takes for a number
_SEED = re.compile(r"(?<![\w.])s(?!\w)")  # the name s in a formula, not the s of sin


def _unquoted(text: str) -> str:
    """What Deforum tests for a number: the text without quotes and parentheses."""
    return re.sub(r"[\"'()]", "", text)


@dataclass(frozen=True)
class Key:
    """One key Deforum reads: a number (interpolated) or a formula (evaluated at every frame)."""

    frame: int
    number: Optional[float]
    formula: Optional[str]  # zoomdream text that zoomdream reads as a formula


@dataclass(frozen=True)
class Track:
    """A Deforum schedule as Deforum reads it: the keys inside the render, in order."""

    name: str
    value: Any
    keys: tuple[Key, ...]
    verbatim: bool  # zoomdream reads ``value`` exactly as Deforum does

    @property
    def constant(self) -> Optional[float]:
        """The value at every frame, when it is one number."""
        numbers = {key.number for key in self.keys}
        return numbers.pop() if len(numbers) == 1 and None not in numbers else None


@dataclass(frozen=True)
class Stretch:
    """From ``start`` to the next stretch: a constant, or a zoomdream formula of ``t``."""

    start: int
    number: Optional[float] = None
    formula: Optional[str] = None


@dataclass
class Reader:
    """Reads Deforum schedules for one render: its length, its seed and the notes it explains."""

    frames: int
    seed: int
    fps: float
    notes: list[str]

    @property
    def clock(self) -> Clock:
        return Clock(self.fps, self.frames, {})

    def read(self, name: str, value: Any) -> Track:
        """A schedule string, or an older file's plain number (one key at frame 0)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return Track(name, value, (Key(0, float(value), None),), False)
        if not isinstance(value, str):
            raise DeforumError(f"{name}: expected a schedule string like {HINT} (got {shown(value)})")
        found: dict[int, Key] = {}
        verbatim, late = True, []
        for part in value.split(","):
            pieces = part.split(":")
            if len(pieces) < 2 or not pieces[1].strip():
                raise DeforumError(f"{name}: {shown(value)} is not a Deforum schedule like {HINT}")
            frame, text = self._frame(name, pieces[0]), pieces[1].strip()
            key = self._key(name, frame, text)
            if len(pieces) > 2:
                self.notes.append(f"{name}: Deforum reads {shown(part.strip())} as {text} at frame {frame} "
                                  "(the value between the first and the second colon); so does this recipe")
            if not 0 <= frame < self.frames:
                late.append(pieces[0].strip())
            elif frame in found:
                self.notes.append(f"{name}: two keys on frame {frame}; the later one counts, as in Deforum")
            verbatim = (verbatim and len(pieces) == 2 and pieces[0].strip().isdigit() and frame not in found
                        and 0 <= frame < self.frames and _reads_alike(text, key))
            if 0 <= frame < self.frames:
                found[frame] = key
        if not found:
            raise DeforumError(f"{name}: {shown(value)} has no key inside the render (frames 0 to "
                               f"{self.frames - 1}), so Deforum cannot read it either")
        keys = tuple(found[frame] for frame in sorted(found))
        if late:
            held = "" if keys[-1].formula else f"; its value at frame {keys[-1].frame} holds to the end"
            keys_lie, are = (f"key {late[0]} lies", "is") if len(late) == 1 else (f"keys {', '.join(late)} lie", "are")
            self.notes.append(f"{name}: {keys_lie} outside frames 0 to {self.frames - 1} "
                              f"(max_frames {self.frames}) and {are} ignored, as Deforum ignores them{held}")
        if _SEED.search(value):
            verbatim = False
        return Track(name, value, keys, verbatim)

    def _frame(self, name: str, text: str) -> int:
        """A key: a whole number, or a formula of max_f and s cut to a whole frame."""
        plain = _unquoted(text).strip()
        if _DECIMAL.match(plain):
            try:
                return int(plain)
            except ValueError:
                raise DeforumError(f"{name}: the key {shown(text.strip())} is not a whole frame number") from None
        formula = text.strip()
        for quote in ("'", '"'):  # Deforum drops one quote at each end: "max_f-2"
            formula = formula.replace(quote, "", 1)[::-1].replace(quote, "", 1)[::-1]
        frame = self.evaluate(name, formula, np.zeros(1))[0]
        if not math.isfinite(frame):
            raise DeforumError(f"{name}: the key {shown(text.strip())} is not a frame number")
        return int(frame)

    def _key(self, name: str, frame: int, text: str) -> Key:
        plain = _unquoted(text)
        if _DECIMAL.match(plain):
            try:
                return Key(frame, float(plain), None)
            except ValueError:
                raise DeforumError(f"{name}: {shown(text)} at frame {frame} is not a number") from None
        formula = _SEED.sub(str(self.seed), text)
        note = f"{name}: s in a Deforum formula is the seed; written in as {self.seed}"
        if formula != text and note not in self.notes:
            self.notes.append(note)
        return Key(frame, None, _as_formula(formula))

    def evaluate(self, name: str, formula: str, frames: np.ndarray) -> np.ndarray:
        """A formula at these frames, the way zoomdream evaluates it; ``s`` is the seed."""
        text = _SEED.sub(str(self.seed), formula)
        try:
            return Schedule.parse({0: text}).values(frames.astype(np.float64), self.clock)
        except ScheduleError as error:
            raise DeforumError(f"{name}: cannot carry {shown(formula)}: {error}") from None

    def at(self, track: Track, key: Key) -> float:
        """A key's own value at its frame."""
        if key.number is not None:
            return key.number
        return float(self.evaluate(track.name, str(key.formula), np.array([key.frame]))[0])

    def stretches(self, track: Track) -> list[Stretch]:
        """Deforum's series as constants, linear ramps and formulas, from frame 0 on."""
        keys = track.keys
        out = [Stretch(0, number=self.at(track, keys[0]))] if keys[0].frame > 0 else []
        for key, after in zip(keys, [*keys[1:], None]):
            if key.formula is not None:
                out.append(Stretch(key.frame, formula=key.formula))
                continue
            assert key.number is not None
            end = key.number if after is None else self.at(track, after)
            if end == key.number:
                out.append(Stretch(key.frame, number=key.number))
            else:
                slope = (end - key.number) / (after.frame - key.frame)  # type: ignore[union-attr]
                out.append(Stretch(key.frame, formula=_ramp(key.number, slope, key.frame)))
        return out

    def values(self, track: Track) -> np.ndarray:
        """Deforum's value at every frame 0..max_frames-1."""
        stretches = self.stretches(track)
        out = np.empty(self.frames)
        for stretch, end in zip(stretches, [*(s.start for s in stretches[1:]), self.frames]):
            if stretch.number is not None:
                out[stretch.start:end] = stretch.number
            else:
                out[stretch.start:end] = self.evaluate(track.name, str(stretch.formula), np.arange(stretch.start, end))
        return out

    def scaled(self, track: Track, factor: Optional[float] = None) -> Spec:
        """The schedule times ``factor`` (a copy without one), key by key: a linear map commutes
        with Deforum's interpolation, so only the keys Deforum reads need writing."""
        if track.constant is not None:
            return tidy(track.constant * (1.0 if factor is None else factor))
        if factor is None and track.verbatim:
            return track.value
        parts = []
        for key in track.keys:
            if key.number is not None:
                text = plain(key.number) if factor is None else f"{tidy(factor * key.number):g}"
            else:
                text = str(key.formula) if factor is None else f"{factor:.6g}*({key.formula})"
            parts.append(f"{key.frame}: ({text})")
        return ", ".join(parts)

    def mapped(self, tracks: Sequence[Track], number: Callable[..., float], formula: Callable[..., str]) -> Spec:
        """``number``/``formula`` of several schedules, stretch by stretch, so it is exact at every frame.

        ``formula`` gets each schedule's stretch as zoomdream text (a plain number where it is
        constant); where all are constant the result is computed, and must be finite.
        """
        lists = [self.stretches(track) for track in tracks]
        parts: list[tuple[int, str, bool]] = []
        for start in sorted({stretch.start for stretches in lists for stretch in stretches}):
            active = [next(s for s in reversed(stretches) if s.start <= start) for stretches in lists]
            if all(s.number is not None for s in active):
                try:
                    result = number(*(s.number for s in active))
                except (ZeroDivisionError, OverflowError, ValueError):
                    result = math.inf
                if not math.isfinite(result):
                    raise DeforumError(f"{tracks[0].name}: {active[0].number:g} has no zoomdream equivalent "
                                       "(the converted value is infinite)")
                text, constant = f"{tidy(result):g}", True
            else:
                text = formula(*(s.formula if s.formula is not None else plain(s.number) for s in active))
                constant = False
            if not parts or parts[-1][1] != text:
                parts.append((start, text, constant))
        if len(parts) == 1 and parts[0][2]:
            return float(parts[0][1]) + 0.0
        return ", ".join(f"{frame}: ({text})" for frame, text, _ in parts)


def _reads_alike(text: str, key: Key) -> bool:
    """Whether zoomdream reads ``(...)`` as Deforum does: one group, a number exactly when Deforum's is."""
    if not (text.startswith("(") and _closing(text) == len(text) - 1):
        return False
    try:
        zoomdream_number = math.isfinite(float(text[1:-1]))
    except ValueError:
        zoomdream_number = False
    return zoomdream_number == (key.number is not None)


def _closing(text: str) -> int:
    """Where the parenthesis that opens ``text`` closes, or -1."""
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i
    return -1


def _as_formula(text: str) -> str:
    """Deforum's formula text as zoomdream's: outer parentheses off, kept once where zoomdream
    would otherwise take it for a number it interpolates (``1e-3`` is a formula to Deforum)."""
    inner = text.strip()
    while inner.startswith("(") and _closing(inner) == len(inner) - 1:
        inner = inner[1:-1].strip()
    try:
        float(inner)
    except ValueError:
        return inner
    return f"({inner})"


def _ramp(start: float, slope: float, frame: int) -> str:
    """Deforum's linear interpolation from ``start`` at ``frame`` as a formula of t."""
    since = "t" if frame == 0 else f"(t-{frame})"
    sign = "-" if slope < 0 else "+"
    if start == 0:
        return f"{'-' if slope < 0 else ''}{plain(abs(slope))}*{since}"
    return f"{plain(start)}{sign}{plain(abs(slope))}*{since}"


def plain(value: Optional[float]) -> str:
    """A number in full (12 digits) without a sign on zero."""
    return f"{float(value) + 0.0:.12g}"  # type: ignore[arg-type]


def tidy(value: float) -> float:
    """Six significant digits: the formulas are approximations, and long floats hide the numbers."""
    return float(f"{value:.6g}") + 0.0
