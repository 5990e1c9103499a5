"""The camera: one batched affine warp per frame, on the device.

Rates are per frame; ``per_frame`` converts per-second rates so that changing the frame rate
keeps the motion the same in time. Zooming out samples past the border, which is filled by
reflection so the frame never shows black edges.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur


def per_frame(zoom: float, rotate: float, pan_x: float, pan_y: float, fps: float) -> tuple[float, float, float, float]:
    """Turn per-second rates into per-frame ones: zoom compounds, so it takes a root, not a division."""
    return zoom ** (1.0 / fps), rotate / fps, pan_x / fps, pan_y / fps


def affine(
    zoom: torch.Tensor,
    rotate: torch.Tensor,
    pan_x: torch.Tensor,
    pan_y: torch.Tensor,
    center_x: torch.Tensor,
    center_y: torch.Tensor,
    size: tuple[int, int],
) -> torch.Tensor:
    """Sampling matrices (B, 2, 3) for ``affine_grid``, one per lane.

    Built in pixel space (so rotation stays round on wide frames) and moved to the
    normalised coordinates that ``affine_grid`` uses with ``align_corners=False``.
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


def is_identity(theta: torch.Tensor) -> torch.Tensor:
    """Lanes whose matrix does nothing; they skip resampling so a still camera loses no detail."""
    eye = torch.eye(2, 3, dtype=theta.dtype, device=theta.device)
    return (theta == eye).flatten(1).all(1)


def sharpen(x: torch.Tensor, amount: torch.Tensor, blur: torch.Tensor | None = None) -> torch.Tensor:
    """Unsharp mask per lane, along each axis by how much that axis was blurred (``blur``: (B, 2, H, W)).

    Bilinear resampling at a sub-pixel phase f blurs by f(1 - f): nothing where the samples land
    on pixels (along the rows and columns through a zoom's fixed point), most at half a pixel.
    Sharpening everything alike would over-sharpen those lines into a visible cross.
    """
    weight = torch.ones_like(x[:, :2]) if blur is None else blur
    across = x - gaussian_blur(x, kernel_size=[5, 1], sigma=[1.0, 1.0])
    down = x - gaussian_blur(x, kernel_size=[1, 5], sigma=[1.0, 1.0])
    detail = weight[:, :1] * across + weight[:, 1:] * down
    return (x + amount.view(-1, 1, 1, 1).to(x) * detail).clamp(0, 1)


def resampling_blur(grid: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Per pixel and axis, 4 f (1 - f) for the sub-pixel phase f of its sample: 0 on a pixel, 1 halfway."""
    width, height = size
    scale = torch.tensor([width / 2, height / 2], dtype=grid.dtype, device=grid.device)
    phase = torch.frac((grid + 1) * scale - 0.5).abs()
    return (4 * phase * (1 - phase)).permute(0, 3, 1, 2)


def warp(x: torch.Tensor, theta: torch.Tensor, sharpness: torch.Tensor | None = None) -> torch.Tensor:
    """Move every lane of ``x`` (B, 3, H, W) by its matrix; still lanes come back untouched."""
    still = is_identity(theta)
    if bool(still.all()):
        return x
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    moved = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    if sharpness is not None:
        moved = sharpen(moved, sharpness, resampling_blur(grid, (x.shape[-1], x.shape[-2])))
    return torch.where(still.view(-1, 1, 1, 1).to(x.device), x, moved)



def _square(theta: torch.Tensor) -> torch.Tensor:
    bottom = torch.tensor([0.0, 0.0, 1.0], dtype=theta.dtype, device=theta.device).expand(theta.shape[0], 1, 3)
    return torch.cat([theta, bottom], 1)


def chain(thetas: list[torch.Tensor]) -> list[torch.Tensor]:
    """Sampling matrices from frame t+i back to frame t, for i = 1..n, given each frame's own move.

    Frame t+2 samples t+1 at theta_2(p), which samples t at theta_1(theta_2(p)): the moves
    compose, so the camera path of k frames is exact whatever the keyframes do.
    """
    total, out = None, []
    for theta in thetas:
        total = _square(theta) if total is None else total @ _square(theta)
        out.append(total[:, :2])
    return out


def relative(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Sampling matrix from the frame reached by ``start`` into the frame reached by ``end``."""
    return (torch.linalg.inv(_square(end)) @ _square(start))[:, :2]

