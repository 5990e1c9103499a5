"""Seeded noise to start from: the same seed always gives the same first frame."""

from __future__ import annotations

import torch

NOISE_KINDS = ("uniform", "gaussian")

# A gaussian of std 0.25 puts ±2 std inside [0, 1] at scale 1, like uniform noise's full range.
GAUSSIAN_STD = 0.25


def noise(
    kind: str, scale: float, size: tuple[int, int], generator: torch.Generator, batch: int = 1
) -> torch.Tensor:
    """Seeded noise as float32 (batch, 3, H, W), centred on 0.5 and clamped to [0, 1].

    uniform: 0.5 ± scale/2, so scale 1 spans the full range; gaussian: std = 0.25 * scale.
    Drawn from the given CPU generator, so a seed always gives the same start.
    """
    width, height = size
    shape = (batch, 3, height, width)
    if kind == "uniform":
        offset = torch.rand(shape, generator=generator) - 0.5
    elif kind == "gaussian":
        offset = torch.randn(shape, generator=generator) * GAUSSIAN_STD
    else:
        raise ValueError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}")
    return (0.5 + scale * offset).clamp_(0.0, 1.0)
