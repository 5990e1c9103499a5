"""One frame's dream settings as plain numbers (torch-free, so the planner stays numpy only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """The dream for one frame; the renderer evaluates the schedules into these numbers."""

    steps: int = 3
    step_size: float = 0.012
    octaves: int = 2
    octave_scale: float = 1.4
    jitter: int = 16
    tile: int = 768
