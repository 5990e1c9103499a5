"""The look curves of a render, measured on the device as the frames go by."""

from __future__ import annotations

import math

import torch

from ..motion import field
from ..motion.field import MotionField
from . import figures


class LookRecorder(figures.Recorder):
    """Boil is measured along the render's own motion field: the camera, or a clip's flow."""

    def measure(self, motion: MotionField, t: int, frames: torch.Tensor, previous: torch.Tensor | None) -> None:
        """Frames t.. (n, B, 3, H, W); ``previous`` is the output frame before them (None at the start)."""
        n, lanes = frames.shape[:2]
        flat = frames.reshape(n * lanes, *frames.shape[2:])
        if previous is None:
            self.add(figures.measure(flat[:lanes]))
            flat, t, n = flat[lanes:], t + 1, n - 1
            previous = frames[0]
            if n == 0:
                return
        before = torch.cat([previous, flat[: (n - 1) * lanes]])
        carried, valid = figures.carry(before, field.cat([motion.move(t + i) for i in range(n)]))
        measured = figures.measure(flat, carried, valid)
        for i in range(n):
            self.add({name: value[i * lanes : (i + 1) * lanes] for name, value in measured.items()})

    def latest(self) -> dict[str, float | None]:
        """The newest frame's figures of the first lane, for a live view."""
        if not self.rows:
            return {}
        numbers = {name: float(value[0]) for name, value in self.rows[-1].items()}
        return {name: None if math.isnan(v) else v for name, v in numbers.items()}
