"""Evaluate a config's schedules into plain numbers for each frame.

The renderer asks for frame ``t`` and gets the dream settings, the camera move, the
sharpening and the colour strength for that frame, already converted to per-frame rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..config import Config, ConfigError, ScheduleField
from ..config.loop import cyclic, loop_times, timing
from ..dream.settings import Settings
from ..motion.camera import per_frame
from ..motion.path import CameraPath
from ..schedules.keyframes import Clock, Schedule, ScheduleError
from ..schedules.sound import features

LOOKAHEAD = 64  # frames past the end that the camera path may read (motion.dream_every ≤ 64)


@dataclass(frozen=True)
class CameraRates:
    """The camera between frame t-1 and frame t, per frame (``motion.path.Rates``)."""

    zoom: float
    rotate: float
    pan_x: float
    pan_y: float
    tilt_x: float
    tilt_y: float
    center_x: float
    center_y: float
    sharpen: float


@dataclass(frozen=True)
class FramePlan:
    settings: Settings
    move: CameraRates
    weights: tuple[float, ...]
    color_strength: float
    noise: float
    calm: float


MOVES = ("zoom", "rotate", "pan_x", "pan_y", "tilt_x", "tilt_y")


def sound_features(config: Config) -> dict[str, np.ndarray]:
    """The audio track's per-frame features for formulas (none without ``audio``), once per render."""
    audio = config.audio
    if audio is None:
        return {}
    return features(audio.file, audio.offset, audio.decay, config.fps, config.frame_count + LOOKAHEAD)


class Planner:
    """Evaluates every schedule for every frame once (formulas included), then answers per frame.

    Formulas are checked here, for every frame the render uses, so a value out of range stops
    the render before its first frame instead of part way through.
    """

    def __init__(self, config: Config, sound: Mapping[str, np.ndarray] | None = None):
        self.fps = config.fps
        self.per_second = config.motion.per == "second"
        self.scale = config.scale  # jitter is in the recipe's pixels
        clock = Clock(config.fps, config.frame_count, sound or {})
        # A loop renders from frame -warmup, and reads every schedule at the loop's time (config.loop).
        self.first, self.period = (-timing(config).warmup, config.frame_count) if config.loop else (0, None)
        frames = np.arange(self.first, config.frame_count + LOOKAHEAD, dtype=np.float64)
        frames = loop_times(frames, self.period) if self.period else frames
        cycle = self.period if config.loop and config.loop.periodic else None
        used = config.frame_count - self.first + config.motion.dream_every
        self.tables = {field.path: _table(field, frames, clock, used, cycle) for field in config.schedules()}
        self.weights = sorted((p for p in self.tables if p.startswith("dream.objective.")), key=lambda p: int(p.split(".")[2]))

    def dreams_at_all(self, frames: int) -> bool:
        """False when steps are 0 everywhere: a motion preview that needs no network."""
        return frames > 0 and bool(self.tables["dream.steps"][: frames - self.first].max() > 0)

    def at(self, t: int) -> FramePlan:
        i = (t - self.first) % self.period if self.period else min(t, len(self.tables["dream.steps"]) - 1)
        value = {path: float(table[i]) for path, table in self.tables.items()}
        settings = Settings(
            steps=round(value["dream.steps"]),
            step_size=value["dream.step_size"],
            octaves=round(value["dream.octaves"]),
            octave_scale=value["dream.octave_scale"],
            jitter=round(value["dream.jitter"] * self.scale),
            tile=round(value["dream.tile"]),
        )
        rates = [value[f"motion.{name}"] for name in MOVES]
        if self.per_second:
            rates = list(per_frame(*rates[:4], self.fps, *rates[4:]))
        move = CameraRates(
            *rates,
            center_x=value["motion.center.0"],
            center_y=value["motion.center.1"],
            sharpen=value["motion.sharpen"],
        )
        weights = tuple(value[path] for path in self.weights)
        return FramePlan(settings, move, weights, value["color.strength"], value["dream.noise"], value["dream.calm"])


def camera_path(planners: "list[Planner]", size: tuple[int, int]) -> CameraPath:
    """Every lane's camera as one motion field, built for the recipe's ``size`` so a scaled
    render (a preview) moves exactly the same."""
    return CameraPath(lambda t: [planner.at(t).move for planner in planners], size)


def _table(field: ScheduleField, frames: np.ndarray, clock: Clock, used: int, cycle: int | None = None) -> np.ndarray:
    """One schedule's value at every frame; a formula that leaves the field's range at a used
    frame is a one-line error naming the key and the frame. ``cycle``: keyframes joined around
    a loop of that many frames (``loop.periodic``)."""
    try:
        schedule = Schedule.parse(field.spec, field.interpolation)
        schedule = cyclic(schedule, cycle, clock.fps) if cycle else schedule
        values = schedule.values(frames, clock)
    except ScheduleError as error:
        raise ConfigError(f"{field.path}: {error}") from None
    if field.bounds.integer:
        values = np.round(values)
    if schedule.expressions:
        problem = field.bounds.first_problem(values[:used])
        if problem:
            frame, why = problem
            raise ConfigError(f"{field.path}: at frame {frames[frame]:g} the expression gives {values[frame]:.6g}; {why}")
    return values
