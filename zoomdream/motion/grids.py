"""Sampling grids themselves: what a grid's sub-pixel phases blur, what it reveals, how two compose.

A grid (B, H, W, 2) holds, for every output pixel, where it samples the earlier frame in
``grid_sample``'s normalised coordinates (``align_corners=False``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def identity(shape: list[int], device: torch.device | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The grid that samples every pixel where it is."""
    eye = torch.eye(2, 3, dtype=dtype, device=device).expand(shape[0], 2, 3)
    return F.affine_grid(eye, list(shape), align_corners=False)


def compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """``outer`` after ``inner``: the grid that samples where ``outer`` samples, at the points
    ``inner`` gives (a frame two moves back). Where ``inner`` leaves the middle frame, nothing
    showed it: the point stays outside, so what the camera revealed stays revealed."""
    field = outer.permute(0, 3, 1, 2)
    inner = inner.to(field)
    sampled = F.grid_sample(field, inner, mode="bilinear", padding_mode="border", align_corners=False).permute(0, 2, 3, 1)
    outside = (inner.abs() > 1).any(-1, keepdim=True)
    return torch.where(outside, inner, sampled)


def resampling_blur(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Per pixel and axis, 4 f (1 - f) for the sub-pixel phase f of its sample: 0 on a pixel, 1 halfway."""
    width, height = size
    scale = torch.tensor([width / 2, height / 2], dtype=grid.dtype, device=grid.device)
    phase = torch.frac((grid + 1) * scale - 0.5).abs()
    return (4 * phase * (1 - phase)).permute(0, 3, 1, 2)


def revealed(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1]: how far past the old frame's edge each sample lies, ramped over one pixel.

    Any longer ramp keeps a mirror of the edge, and mirrors stretch lines across the edge into stripes.
    """
    width, height = size
    scale = torch.tensor([width / 2, height / 2], dtype=grid.dtype, device=grid.device)
    outside = ((grid.abs() - 1).clamp_min(0) * scale).amax(-1, keepdim=True)
    return outside.clamp(0, 1).permute(0, 3, 1, 2)
