"""The dream step: gradient ascent on the image to excite a network's layers.

Octaves go from small to full size with the dreamed detail carried up; each step rolls the
image by a random jitter, takes the gradient of the objective with respect to the image
only, divides it by its mean magnitude per lane (so step size means the same thing on every
layer and frame), steps, rolls back and clamps. Everything is batched over lanes (B); large
frames are cut into equal tiles that go through the network as one batch.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from .objectives.base import Activations, Objective, Summary, View
from .settings import Settings

def octave_sizes(height: int, width: int, octaves: int, scale: float, min_side: int) -> list[tuple[int, int]]:
    """Sizes from smallest to full; octaves the network is too small for are dropped, full size never is."""
    sizes = []
    for k in range(octaves - 1, -1, -1):
        factor = scale**-k
        size = (round(height * factor), round(width * factor))
        if (k == 0 or min(size) >= min_side) and size not in sizes:
            sizes.append(size)
    return sizes


def tile_grid(height: int, width: int, tile: int) -> tuple[int, int, int, int]:
    """Rows, columns and the equal tile size (th, tw) that cover the frame with no tile over ``tile``."""
    rows, cols = math.ceil(height / tile), math.ceil(width / tile)
    return rows, cols, math.ceil(height / rows), math.ceil(width / cols)


def to_tiles(x: torch.Tensor, tile: int) -> torch.Tensor:
    """(B, C, H, W) -> (B * rows * cols, C, th, tw), lanes outermost; edge tiles padded by reflection."""
    b, c, h, w = x.shape
    rows, cols, th, tw = tile_grid(h, w, tile)
    if rows * cols == 1:
        return x
    x = F.pad(x, (0, cols * tw - w, 0, rows * th - h), mode="reflect")
    x = x.view(b, c, rows, th, cols, tw).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b * rows * cols, c, th, tw)


MAX_BATCH_PIXELS = 4 * 2**20  # pixels per forward pass: bounds activation memory on 4K frames


def gradient(
    x: torch.Tensor,
    net: Callable[[torch.Tensor], Activations],
    objective: Objective | Sequence[Objective],
    tile: int,
    loss_scale: float = 1.0,
    budget: int = MAX_BATCH_PIXELS,
) -> torch.Tensor:
    """d objective / d image; parameters get no gradient.

    The frame's tiles go through the network in as few batches as ``budget`` pixels allow
    (one, unless the frame is huge). ``objective`` may be one per lane: each scores the tiles
    of its own lane, which follow each other in the batch. Objectives with summaries get
    every lane's totals from the same forward pass when there is one batch, else from a
    gradient-free pass over all batches first.
    """
    objectives = [objective] if isinstance(objective, Objective) else list(objective)
    summaries = {name: fn for o in objectives for name, fn in o.summaries.items()}
    with torch.enable_grad():
        leaf = x.detach().requires_grad_(True)
        tiles = to_tiles(leaf, tile)
        per_lane = tiles.shape[0] // x.shape[0]
        step = max(1, budget // (tiles.shape[-2] * tiles.shape[-1]))
        batches = range(0, tiles.shape[0], step)
        totals: dict[str, torch.Tensor] = {}
        if summaries and len(batches) > 1:
            with torch.no_grad():
                for first in batches:
                    _add_totals(totals, summaries, net(tiles[first : first + step]), first, per_lane, x.shape[0])
        grads = []
        for first in batches:
            rows = tiles[first : first + step].detach().requires_grad_(True)
            acts = net(rows)
            if summaries and len(batches) == 1:
                _add_totals(totals, summaries, {k: v.detach() for k, v in acts.items()}, first, per_lane, x.shape[0])
            loss = rows.new_zeros(())
            for lane in range(first // per_lane, (first + rows.shape[0] - 1) // per_lane + 1):
                lo, hi = max(lane * per_lane, first) - first, min((lane + 1) * per_lane, first + rows.shape[0]) - first
                score = objectives[min(lane, len(objectives) - 1)]
                view = View({k: v[lo:hi] for k, v in acts.items()}, rows[lo:hi], lane, per_lane, totals)
                loss = loss + score(view).sum()
            grads.append(torch.autograd.grad(loss * loss_scale, rows)[0])
        grad = torch.cat(grads)
        if tiles is not leaf:
            (grad,) = torch.autograd.grad(tiles, leaf, grad)
    return grad


def _add_totals(
    totals: dict[str, torch.Tensor], summaries: Mapping[str, Summary], acts: Activations, first: int, per_lane: int, lanes: int
) -> None:
    """Add the summaries of tiles ``first``.. (in ``acts``) into their lanes' totals, in float32."""
    for name, fn in summaries.items():
        per_tile = fn(acts).float()
        owner = torch.arange(first, first + per_tile.shape[0], device=per_tile.device) // per_lane
        total = totals.setdefault(name, per_tile.new_zeros((lanes, *per_tile.shape[1:])))
        total.index_add_(0, owner, per_tile)


def ascent_step(
    x: torch.Tensor,
    net: Callable[[torch.Tensor], Activations],
    objective: Objective | Sequence[Objective],
    settings: Settings,
    generator: torch.Generator,
    loss_scale: float = 1.0,
) -> torch.Tensor:
    """One jittered, normalised gradient step on every lane."""
    shift = torch.randint(-settings.jitter, settings.jitter + 1, (2,), generator=generator).tolist()
    rolled = x.roll(shift, dims=(2, 3))
    grad = gradient(rolled, net, objective, settings.tile, loss_scale).roll([-s for s in shift], dims=(2, 3))
    grad = grad / (grad.abs().mean(dim=(1, 2, 3), keepdim=True) + 1e-12)
    return (x + settings.step_size * grad).clamp(0, 1)


def dream(
    x: torch.Tensor,
    net: Callable[[torch.Tensor], Activations],
    objective: Objective | Sequence[Objective],
    settings: Settings,
    generator: torch.Generator,
    min_side: int = 64,
    loss_scale: float = 1.0,
) -> torch.Tensor:
    """Dream on a batch of frames (B, 3, H, W) in [0, 1]; returns the same shape."""
    if settings.steps == 0:
        return x
    full = tuple(x.shape[-2:])
    image, detail = x, None
    for size in octave_sizes(*full, settings.octaves, settings.octave_scale, min_side):
        base = x if size == full else _resize(x, size, antialias=True)
        image = base if detail is None else (base + _resize(detail, size)).clamp(0, 1)
        for _ in range(settings.steps):
            image = ascent_step(image, net, objective, settings, generator, loss_scale)
        detail = image - base
    return image


def _resize(x: torch.Tensor, size: tuple[int, int], antialias: bool = False) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", antialias=antialias, align_corners=False)
