"""``activation``: the classic dream, the mean squared activation of a layer (or some of its channels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional, Sequence

from pydantic import Field
from typing_extensions import Annotated

if TYPE_CHECKING:
    import torch

from .base import Context, LayerKind, Objective, ObjectiveError, View, register


def activation(layer: str, channels: Sequence[int] | None = None) -> Objective:
    """Mean squared activation of a layer (optionally some channels), one score per tile."""
    index = list(channels) if channels else None

    def fn(view: View) -> torch.Tensor:
        act = view.activations[layer]
        if index is not None:
            act = act[:, index]
        return act.float().pow(2).flatten(1).mean(1)

    return Objective(fn, [layer])


@register
class Activation(LayerKind):
    kind: Literal["activation"] = Field("activation", description="excite the layer: the classic dream")
    channels: Optional[list[Annotated[int, Field(ge=0)]]] = Field(
        None, min_length=1, description="only these channels of the layer (default: all)"
    )

    def build(self, context: Context) -> Objective:
        width = context.widths[self.layer]
        too_big = [c for c in self.channels or [] if c >= width]
        if too_big:
            raise ObjectiveError(
                f"channels: {self.layer} has channels 0 to {width - 1}, not {too_big[0]} "
                f"(zoomdream layers {context.model} lists the widths)"
            )
        return activation(self.layer, self.channels)
