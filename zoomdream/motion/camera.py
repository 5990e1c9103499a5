"""The camera's moves as homographies: built from a frame's rates, composed exactly.

A move is a homography from output pixels back to where they are sampled in the previous frame,
in the normalised coordinates of ``grid_sample`` (``align_corners=False``). Moves compose by matrix
product, so a camera path of k frames is one matrix. Zoom, rotation and pan give an affine move,
kept as its top two rows (B, 2, 3) and sampled through ``affine_grid``; a tilt makes it projective
(B, 3, 3) and the sampler divides by the third coordinate. Every function takes either form and
returns the short one whenever the result is affine. Rates are per frame; ``per_frame`` converts per-second
rates so that changing the frame rate keeps the motion the same in time. The sampler
(``motion.sampler``) turns a move into a grid; nothing here samples pixels.
"""

from __future__ import annotations

import math
import torch
import torch.nn.functional as F

# Focal length of the virtual camera that tilts, as a horizontal field of view (Deforum's default).
FIELD_OF_VIEW = 40.0
AFFINE_TOLERANCE = 1e-12


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


def homography_grid(theta: torch.Tensor, shape: list[int]) -> torch.Tensor:
    """Sampling grid (B, H, W, 2) for a batch of matrices: ``affine_grid`` unless some lane is projective."""
    theta = short(theta)
    if theta.shape[-2] == 2:
        return F.affine_grid(theta, shape, align_corners=False)
    base = F.affine_grid(torch.eye(2, 3, dtype=theta.dtype).expand(shape[0], 2, 3), shape, align_corners=False)
    points = torch.cat([base, torch.ones_like(base[..., :1])], -1) @ theta.transpose(1, 2).unsqueeze(1)
    # A point behind the camera cannot be seen; push it far outside so the border fill takes it.
    depth = points[..., 2:].clamp_min(1e-6)
    return points[..., :2] / depth


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
