"""Evaluate a config's schedules into plain numbers for each frame.

The renderer asks for frame ``t`` and gets the dream settings, the camera move, the
sharpening and the colour strength for that frame, already converted to per-frame rates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from .config import Config
from .dream import Settings
from .motion import camera, per_frame
from .schedule import Schedule


@dataclass(frozen=True)
class Move:
    """The camera between frame t-1 and frame t, per frame."""

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
    move: Move
    weights: tuple[float, ...]
    color_strength: float
    noise: float


MOVES = ("zoom", "rotate", "pan_x", "pan_y", "tilt_x", "tilt_y")


def matrices(moves: Sequence[Move], size: tuple[int, int]) -> torch.Tensor:
    """Lanes' moves as the camera's sampling matrices, composed in float64 on the CPU (MPS has none)."""
    names = (*MOVES, "center_x", "center_y")
    columns = [torch.tensor([getattr(m, name) for m in moves], dtype=torch.float64) for name in names]
    return camera(*columns, size=size)


class Planner:
    """Parses every schedule once, then answers per frame."""

    def __init__(self, config: Config):
        self.fps = config.fps
        self.per_second = config.motion.per == "second"
        dream, motion = config.dream, config.motion
        self.dream = {name: config.schedule(getattr(dream, name), "dream") for name in Settings.__dataclass_fields__}
        self.motion = {
            name: config.schedule(getattr(motion, name), "motion") for name in MOVES + ("sharpen",)
        }
        self.center = tuple(config.schedule(spec, "motion") for spec in motion.center)
        self.weights = [config.schedule(term.weight, "dream") for term in dream.objective or []]
        self.color = Schedule.parse(config.color.strength, "linear")
        self.noise = config.schedule(dream.noise, "dream")

    def dreams_at_all(self, frames: int) -> bool:
        """False when steps are 0 everywhere: a motion preview that needs no network."""
        steps = self.dream["steps"]
        return any(k.value > 0 for k in steps.keyframes) and frames > 0

    def at(self, t: int) -> FramePlan:
        value = {name: schedule.at(t, self.fps) for name, schedule in self.dream.items()}
        settings = Settings(
            steps=round(value["steps"]),
            step_size=value["step_size"],
            octaves=round(value["octaves"]),
            octave_scale=value["octave_scale"],
            jitter=round(value["jitter"]),
            tile=round(value["tile"]),
        )
        rates = [self.motion[name].at(t, self.fps) for name in MOVES]
        if self.per_second:
            rates = list(per_frame(*rates[:4], self.fps, *rates[4:]))
        move = Move(
            *rates,
            center_x=self.center[0].at(t, self.fps),
            center_y=self.center[1].at(t, self.fps),
            sharpen=self.motion["sharpen"].at(t, self.fps),
        )
        weights = tuple(w.at(t, self.fps) for w in self.weights)
        return FramePlan(settings, move, weights, self.color.at(t, self.fps), self.noise.at(t, self.fps))
