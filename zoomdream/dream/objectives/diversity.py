"""``diversity``: lanes (variants) that excite the same features are penalised, so they differ.

As lucent's ``diversity``: each lane's Gram matrix of a layer (its "style"), normalised, and
the mean cosine similarity to the other lanes' is subtracted. A lane's gradient compares its
own Gram with the others' as computed in the same step and held fixed, so lanes may be dreamed
in separate batches or tiles and the gradient stays exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from .base import Context, LayerKind, Objective, ObjectiveError, Summary, View, register

if TYPE_CHECKING:
    import torch


def grams(acts: torch.Tensor) -> torch.Tensor:
    """(n, C, h, w) -> (n, C, C) Gram matrices, in float32 whatever the autocast."""
    import torch

    with torch.autocast(acts.device.type, enabled=False):
        flat = acts.float().flatten(2)
        return flat @ flat.transpose(1, 2)


def diversity(layer: str) -> Objective:
    """Minus the mean cosine similarity of this lane's Gram to the other lanes'.

    It is scaled by the lane's mean squared activation at the layer (held fixed), so weight 1
    pulls about as hard as an activation term on that layer, and by the lane's tile count, as
    per-tile terms are summed over tiles.
    """
    gram, energy = f"gram:{layer}", f"energy:{layer}"
    summaries: dict[str, Summary] = {
        gram: lambda acts: grams(acts[layer]),
        energy: lambda acts: acts[layer].float().pow(2).flatten(1).mean(1),
    }

    import torch
    import torch.nn.functional as F

    def fn(view: View) -> torch.Tensor:
        part = grams(view.activations[layer]).sum(0)  # these tiles' share of the lane's Gram, with gradient
        lanes = view.totals[gram]
        own = F.normalize((part + (lanes[view.lane] - part.detach())).flatten(), dim=0)
        others = F.normalize(torch.cat([lanes[: view.lane], lanes[view.lane + 1 :]]).flatten(1), dim=1)
        if others.shape[0] == 0:
            return own.sum() * 0
        return -(others @ own).mean() * view.totals[energy][view.lane]

    return Objective(fn, [layer], summaries)


@register
class Diversity(LayerKind):
    kind: Literal["diversity"] = Field("diversity", description="make the lanes (variants) differ at the layer")

    def build(self, context: Context) -> Objective:
        if context.lanes < 2:
            raise ObjectiveError("kind: diversity makes lanes differ, and this render has one; add variants or drop the term")
        return diversity(self.layer)
