"""The camera as a motion field: each frame's move built once, from that frame's rates."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from .camera import camera
from .field import Homography

# What a lane's rates between two frames hold, per frame (``engine.plan.CameraRates``).
RATE_NAMES = ("zoom", "rotate", "pan_x", "pan_y", "tilt_x", "tilt_y", "center_x", "center_y")


def matrices(rates: Sequence[Any], size: tuple[int, int]) -> torch.Tensor:
    """Lanes' rates as the camera's sampling matrices, composed in float64 on the CPU (MPS has none)."""
    columns = [torch.tensor([getattr(r, name) for r in rates], dtype=torch.float64) for name in RATE_NAMES]
    return camera(*columns, size=size)


class CameraPath:
    """Every lane's camera move into frame t, built for the recipe's ``size`` (so a scaled render,
    a preview, moves exactly the same), once per frame however often it is asked for."""

    def __init__(self, rates: Callable[[int], Sequence[Any]], size: tuple[int, int]):
        self.rates, self.size = rates, size
        self._cache: dict[int, Homography] = {}

    def move(self, t: int) -> Homography:
        if t not in self._cache:
            if len(self._cache) > 256:  # frames are asked for in order: the old ones are done with
                self._cache.clear()
            self._cache[t] = Homography(matrices(self.rates(t), self.size))
        return self._cache[t]
