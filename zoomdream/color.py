"""Colour coherence: keep a long zoom from fading to grey or burning to saturated noise.

Each frame's per-channel mean and spread are pulled toward a reference's. The spread is
matched within a bounded ratio per frame (the contrast guard), so one odd frame cannot
swing the whole palette.
"""

from __future__ import annotations

import torch

MAX_CONTRAST_STEP = 2.0


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-lane, per-channel mean and standard deviation, each (B, 3, 1, 1)."""
    flat = x.float().flatten(2)
    return flat.mean(-1)[..., None, None], flat.std(-1)[..., None, None]


def match(
    x: torch.Tensor,
    reference: tuple[torch.Tensor, torch.Tensor],
    strength: torch.Tensor,
) -> torch.Tensor:
    """Move ``x`` toward the reference statistics by ``strength`` (B,) in [0, 1]."""
    ref_mean, ref_std = reference
    mean, std = channel_stats(x)
    gain = (ref_std / std.clamp_min(1e-4)).clamp(1 / MAX_CONTRAST_STEP, MAX_CONTRAST_STEP)
    matched = (x - mean) * gain + ref_mean
    s = strength.view(-1, 1, 1, 1).to(x)
    return (x + s * (matched - x)).clamp(0, 1)
