"""One sampler for every move: a move gives a grid, the grid samples, sharpens and fills.

A move (``motion.field.Move``: the camera's homography or a dense displacement field such as
optical flow) is asked only for its sampling grid and for where the old frame really showed
what lands on each pixel (its seen-mask). What the old frame did not show past its border gets
the old frame's broad colours with fresh noise over them (not a mirror, whose edge lines grow
into stripes), so the dream grows there.
"""

from __future__ import annotations

from typing import Callable, Union

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from .field import Homography, Move
from .grids import resampling_blur, revealed

FILL_GRID = (3, 3)  # revealed ground takes the colour of the nearest third of the old frame

Movable = Union[Move, torch.Tensor]  # a Move, or sampling matrices (B, 2, 3) / (B, 3, 3)


def as_move(move: Movable) -> Move:
    return move if isinstance(move, Move) else Homography(move)


def grid(move: Movable, shape: list[int]) -> torch.Tensor:
    """Sampling grid (B, H, W, 2) of a batch of moves, in ``grid_sample``'s coordinates."""
    return as_move(move).grid(shape)


def sharpen(x: torch.Tensor, amount: torch.Tensor, blur: torch.Tensor | None = None, signed: bool = False) -> torch.Tensor:
    """Unsharp mask per lane, along each axis by how much that axis was blurred (``blur``: (B, 2, H, W)).

    Bilinear resampling at a sub-pixel phase f blurs by f(1 - f): nothing where the samples land
    on pixels (along the rows and columns through a zoom's fixed point), most at half a pixel.
    Sharpening everything alike would over-sharpen those lines into a visible cross. A ``signed``
    image (a difference of frames) is not clamped to [0, 1].
    """
    weight = torch.ones_like(x[:, :2]) if blur is None else blur
    across = x - gaussian_blur(x, kernel_size=[5, 1], sigma=[1.0, 1.0])
    down = x - gaussian_blur(x, kernel_size=[1, 5], sigma=[1.0, 1.0])
    detail = weight[:, :1] * across + weight[:, 1:] * down
    sharp = x + amount.view(-1, 1, 1, 1).to(x) * detail
    return sharp if signed else sharp.clamp(0, 1)


def known(move: Movable, like: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1] on ``like``'s device and dtype: how much of each pixel the old frame
    showed; 0 on ground the camera revealed (see :func:`revealed`) or that a flow did not trust."""
    return as_move(move).seen(like)


def warp(
    x: torch.Tensor,
    move: Movable,
    sharpness: torch.Tensor | None = None,
    fill: Callable[[torch.Tensor, torch.Size], torch.Tensor] | None = None,
    signed: bool = False,
) -> torch.Tensor:
    """Move every lane of ``x`` (B, 3, H, W) by its move; still lanes come back untouched.

    ``fill(lanes, shape)`` gives zero-mean noise, asked for only for the lanes where the camera
    reveals new ground: there the old frame's broad colours are laid down with the noise over
    them, so the dream finds fresh texture to grow instead of reflecting its reflection again.
    ``signed``: ``x`` is a difference of frames (no fill), sharpened without clamping to [0, 1].
    """
    move = as_move(move)
    still = move.still()
    if bool(still.all()):
        return x
    size = (x.shape[-1], x.shape[-2])
    sampling = move.grid(list(x.shape), x.device).to(x.dtype)
    moved = F.grid_sample(x, sampling, mode="bilinear", padding_mode="reflection", align_corners=False)
    if sharpness is not None:
        moved = sharpen(moved, sharpness, resampling_blur(sampling, size), signed)
    if fill is not None:
        new = revealed(sampling, size)
        lanes = new.flatten(1).any(1) & ~still
        if bool(lanes.any()):
            # The old frame's broad colours, not its mirror: a mirror repeats the edge as stripes.
            broad = F.interpolate(F.adaptive_avg_pool2d(x, FILL_GRID), size=x.shape[-2:], mode="bilinear", align_corners=False)
            filled = broad + fill(lanes.cpu(), x.shape).to(x)
            moved = torch.lerp(moved, filled.clamp(0, 1), new)
    return torch.where(still.view(-1, 1, 1, 1).to(x.device), x, moved)


