"""The camera: homographies end to end, and one sampler that applies a batch of them.

A move is a homography from output pixels back to where they are sampled in the previous frame,
in the normalised coordinates of ``grid_sample`` (``align_corners=False``). Moves compose by matrix
product, so a camera path of k frames is one matrix. Zoom, rotation and pan give an affine move,
kept as its top two rows (B, 2, 3) and sampled through ``affine_grid``; a tilt makes it projective
(B, 3, 3) and the sampler divides by the third coordinate. Every function takes either form and
returns the short one whenever the result is affine. Rates are per frame; ``per_frame`` converts per-second
rates so that changing the frame rate keeps the motion the same in time.

What the camera reveals past the old frame's border gets the old frame's broad colours with
fresh noise over them (not a mirror, whose edge lines grow into stripes), so the dream grows there.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

# Focal length of the virtual camera that tilts, as a horizontal field of view (Deforum's default).
FIELD_OF_VIEW = 40.0
AFFINE_TOLERANCE = 1e-12
FILL_GRID = (3, 3)  # revealed ground takes the colour of the nearest third of the old frame


def per_frame(zoom: float, rotate: float, pan_x: float, pan_y: float, fps: float, *tilts: float) -> tuple[float, ...]:
    """Turn per-second rates into per-frame ones: zoom compounds, so it takes a root, not a division."""
    return (zoom ** (1.0 / fps), rotate / fps, pan_x / fps, pan_y / fps, *(angle / fps for angle in tilts))


def affine(
    zoom: torch.Tensor,
    rotate: torch.Tensor,
    pan_x: torch.Tensor,
    pan_y: torch.Tensor,
    center_x: torch.Tensor,
    center_y: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """Zoom, rotation and pan as affine sampling matrices (B, 2, 3).

    Built in pixel space (so rotation stays round on wide frames) and moved to normalised
    coordinates.
    """
    width, height = size
    angle = torch.deg2rad(rotate.double())
    cos, sin = torch.cos(angle), torch.sin(angle)
    inv = 1.0 / zoom.double()
    sx, sy = 2.0 / width, 2.0 / height
    a = torch.stack(
        [
            torch.stack([inv * cos, -inv * sin * sx / sy], -1),
            torch.stack([inv * sin * sy / sx, inv * cos], -1),
        ],
        -2,
    )
    centre = torch.stack([center_x.double() * 2 - 1, center_y.double() * 2 - 1], -1)
    pan = torch.stack([pan_x.double() * sx, pan_y.double() * sy], -1)
    shift = centre - (a @ centre.unsqueeze(-1)).squeeze(-1) - pan
    return torch.cat([a, shift.unsqueeze(-1)], -1)


def tilt(
    tilt_x: torch.Tensor,
    tilt_y: torch.Tensor,
    center_x: torch.Tensor,
    center_y: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """The camera turning about its own centre (B, 3, 3): ``tilt_x`` degrees up, ``tilt_y`` degrees right.

    The homography K R K^-1 of a pinhole camera with its principal point at the motion centre and
    a ``FIELD_OF_VIEW`` lens; the output pixel's ray, turned back by R, is where it is sampled.
    """
    width, height = size
    focal = (width / 2) / math.tan(math.radians(FIELD_OF_VIEW) / 2)
    ax, ay = torch.deg2rad(tilt_x.double()), torch.deg2rad(tilt_y.double())
    one, zero = torch.ones_like(ax), torch.zeros_like(ax)
    # Looking up (tilt_x > 0) samples rows above; looking right samples columns to the right.
    pitch = torch.stack([one, zero, zero, zero, ax.cos(), -ax.sin(), zero, ax.sin(), ax.cos()], -1).view(-1, 3, 3)
    yaw = torch.stack([ay.cos(), zero, ay.sin(), zero, one, zero, -ay.sin(), zero, ay.cos()], -1).view(-1, 3, 3)
    cx, cy = center_x.double() * width, center_y.double() * height
    k = torch.stack([one * focal, zero, cx, zero, one * focal, cy, zero, zero, one], -1).view(-1, 3, 3)
    to_normal = torch.tensor([[2.0 / width, 0, -1], [0, 2.0 / height, -1], [0, 0, 1]], dtype=torch.float64)
    pixel = k @ yaw @ pitch @ torch.linalg.inv(k)
    return to_normal @ pixel @ torch.linalg.inv(to_normal)


def camera(
    zoom: torch.Tensor,
    rotate: torch.Tensor,
    pan_x: torch.Tensor,
    pan_y: torch.Tensor,
    tilt_x: torch.Tensor,
    tilt_y: torch.Tensor,
    center_x: torch.Tensor,
    center_y: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """One frame's move: the tilt first, then zoom, rotation and pan in the tilted view."""
    moved = affine(zoom, rotate, pan_x, pan_y, center_x, center_y, size)
    if bool((tilt_x == 0).all() and (tilt_y == 0).all()):
        return moved
    return tilt(tilt_x, tilt_y, center_x, center_y, size) @ square(moved)


def square(theta: torch.Tensor) -> torch.Tensor:
    """(B, 2, 3) affine matrices as (B, 3, 3); 3x3 matrices pass through."""
    if theta.shape[-2] == 3:
        return theta
    bottom = torch.tensor([0.0, 0.0, 1.0], dtype=theta.dtype, device=theta.device).expand(theta.shape[0], 1, 3)
    return torch.cat([theta, bottom], 1)


def short(theta: torch.Tensor) -> torch.Tensor:
    """The (B, 2, 3) form when every lane's matrix is affine (last row 0 0 1, to rounding: a turn
    and its reverse compose to an affine move again)."""
    bottom = torch.tensor([0.0, 0.0, 1.0], dtype=theta.dtype, device=theta.device)
    if theta.shape[-2] == 3 and bool(((theta[:, 2] - bottom).abs() <= AFFINE_TOLERANCE).all()):
        return theta[:, :2]
    return theta


def batch(moves: list[torch.Tensor]) -> torch.Tensor:
    """Several batches of moves as one, whether each is affine or projective."""
    return short(torch.cat([square(move) for move in moves]))


def is_identity(theta: torch.Tensor) -> torch.Tensor:
    """Lanes whose matrix does nothing; they skip resampling so a still camera loses no detail."""
    eye = torch.eye(3, dtype=theta.dtype, device=theta.device)
    return (square(theta) == eye).flatten(1).all(1)


def grid(theta: torch.Tensor, shape: list[int]) -> torch.Tensor:
    """Sampling grid (B, H, W, 2) for a batch of moves: ``affine_grid`` unless some lane is projective."""
    theta = short(theta)
    if theta.shape[-2] == 2:
        return F.affine_grid(theta, shape, align_corners=False)
    base = F.affine_grid(torch.eye(2, 3, dtype=theta.dtype).expand(shape[0], 2, 3), shape, align_corners=False)
    points = torch.cat([base, torch.ones_like(base[..., :1])], -1) @ theta.transpose(1, 2).unsqueeze(1)
    # A point behind the camera cannot be seen; push it far outside so the border fill takes it.
    depth = points[..., 2:].clamp_min(1e-6)
    return points[..., :2] / depth


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


def known(theta: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) in [0, 1] on ``like``'s device and dtype: how much of each pixel moved by
    ``theta`` the old frame showed; 0 on ground the camera revealed (see :func:`revealed`)."""
    sampling = grid(theta.to(like.device), [like.shape[0], 1, *like.shape[2:]]).to(like.dtype)
    return 1 - revealed(sampling, (like.shape[-1], like.shape[-2]))


def warp(
    x: torch.Tensor,
    theta: torch.Tensor,
    sharpness: torch.Tensor | None = None,
    fill: Callable[[torch.Tensor, torch.Size], torch.Tensor] | None = None,
    signed: bool = False,
) -> torch.Tensor:
    """Move every lane of ``x`` (B, 3, H, W) by its matrix; still lanes come back untouched.

    ``fill(lanes, shape)`` gives zero-mean noise, asked for only for the lanes where the camera
    reveals new ground: there the old frame's broad colours are laid down with the noise over
    them, so the dream finds fresh texture to grow instead of reflecting its reflection again.
    ``signed``: ``x`` is a difference of frames (no fill), sharpened without clamping to [0, 1].
    """
    still = is_identity(theta)
    if bool(still.all()):
        return x
    size = (x.shape[-1], x.shape[-2])
    sampling = grid(theta.to(x.device), list(x.shape)).to(x.dtype)
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


def chain(thetas: list[torch.Tensor]) -> list[torch.Tensor]:
    """Sampling matrices from frame t+i back to frame t, for i = 1..n, given each frame's own move.

    Frame t+2 samples t+1 at theta_2(p), which samples t at theta_1(theta_2(p)): the moves
    compose, so the camera path of k frames is exact whatever the keyframes do.
    """
    total, out = None, []
    for theta in thetas:
        total = square(theta) if total is None else total @ square(theta)
        out.append(short(total))
    return out


def relative(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Sampling matrix from the frame reached by ``start`` into the frame reached by ``end``."""
    return short(torch.linalg.inv(square(end)) @ square(start))
