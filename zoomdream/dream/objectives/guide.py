"""``guide``: dream toward what the network sees in a guide image (the guided DeepDream of
Google's DeepDream notebook).

Every position of the frame's layer is pulled along the guide feature it already matches
best: the score is the mean over positions of x_i · y_j with j = argmax_j x_i · y_j. The
guide's features are computed once per input size the network sees (the octave frame, or
one tile of it when the frame is tiled), from the guide fitted to the frame by cover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Literal

from pydantic import Field

from .base import Activations, Context, LayerKind, Objective, ObjectiveError, View, register

if TYPE_CHECKING:
    import torch

MATCH_CHUNK = 2**24  # frame-by-guide dot products held at once while looking for the best matches


def guide(layer: str, picture: torch.Tensor, net: Callable[[torch.Tensor], Activations]) -> Objective:
    """The guided objective for one guide image, (1, 3, H, W) in [0, 1] on the network's device."""
    import torch
    import torch.nn.functional as F

    features: dict[tuple[int, int], torch.Tensor] = {}

    def guide_features(size: tuple[int, int]) -> torch.Tensor:
        if size not in features:
            with torch.no_grad():
                fitted = F.interpolate(picture, size=size, mode="bilinear", antialias=True, align_corners=False)
                features[size] = net(fitted)[layer].float().flatten(2)[0]  # (C, M)
        return features[size]

    def fn(view: View) -> torch.Tensor:
        wanted = guide_features(tuple(view.image.shape[-2:]))
        with torch.autocast(view.image.device.type, enabled=False):
            frame = view.activations[layer].float().flatten(2)  # (n, C, N)
            matched = wanted[:, best_matches(frame.detach(), wanted)]  # (C, n, N)
            return (frame * matched.transpose(0, 1)).sum(1).mean(1) / frame.shape[1]

    return Objective(fn, [layer])


def best_matches(frame: torch.Tensor, wanted: torch.Tensor) -> torch.Tensor:
    """For each position of ``frame`` (n, C, N), the index of the column of ``wanted`` (C, M) with
    the largest dot product; in chunks of positions, so memory stays bounded on large frames."""
    import torch

    chunk = max(1, MATCH_CHUNK // (frame.shape[0] * wanted.shape[1]))
    return torch.cat(
        [torch.einsum("ncp,cm->npm", frame[..., i : i + chunk], wanted).argmax(-1) for i in range(0, frame.shape[2], chunk)],
        dim=1,
    )


@register
class Guide(LayerKind):
    kind: Literal["guide"] = Field("guide", description="dream toward what the network sees in `image`")
    image: str = Field(..., min_length=1, description="guide image (JPEG, PNG, WebP), relative to the config file")

    paths = ("image",)

    def build(self, context: Context) -> Objective:
        from ... import sources

        try:
            picture = sources.load_image(self.image, context.size, "cover")
        except sources.SourceError as error:
            raise ObjectiveError(f"image: {error}") from None
        return guide(self.layer, picture.to(context.device), context.net)
