"""FeatureNet: a network cut after the deepest layer in use, fed [0, 1] RGB, returning activations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchvision.models.feature_extraction import create_feature_extractor

from .errors import ModelError, did_you_mean


@dataclass(frozen=True)
class Backbone:
    """A whole network plus the input normalisation it was trained with (per channel, on [0, 1])."""

    name: str
    net: nn.Module
    mean: tuple[float, ...]
    std: tuple[float, ...]
    leaf_modules: tuple[type[nn.Module], ...] = ()  # fx calls these whole instead of tracing inside


class FeatureNet(nn.Module):
    """Normalises the input the model's own way and returns the requested layers' activations."""

    def __init__(self, body: nn.Module, layers: Sequence[str], mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.body = body
        self.layers: tuple[str, ...] = tuple(layers)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.memory_format = torch.contiguous_format

    def channels_last(self) -> "FeatureNet":
        """NHWC weights and inputs: faster convolutions with oneDNN on the CPU and cuDNN on CUDA."""
        self.to(memory_format=torch.channels_last)
        self.memory_format = torch.channels_last
        return self

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x: (B, 3, H, W) RGB in [0, 1]; any H, W the layers can take."""
        return self.body(((x - self.mean) / self.std).contiguous(memory_format=self.memory_format))


def cut(backbone: Backbone, layers: Sequence[str]) -> FeatureNet:
    """Trace the network and keep only what the requested layers need, so nothing deeper runs."""
    layers = tuple(dict.fromkeys(layers))
    if not layers:
        raise ModelError(f"model '{backbone.name}': no layers given (zoomdream layers {backbone.name} lists them)")
    known = {name for name, _ in backbone.net.named_modules() if name}
    for layer in layers:
        if layer not in known:
            raise ModelError(
                f"model '{backbone.name}' has no layer '{layer}'{did_you_mean(layer, known)} "
                f"(zoomdream layers {backbone.name} lists them)"
            )
    try:
        body = create_feature_extractor(
            backbone.net,
            return_nodes=list(layers),
            tracer_kwargs={"leaf_modules": list(backbone.leaf_modules)},
            suppress_diff_warning=True,
        )
    except (ValueError, TypeError, RuntimeError, AssertionError) as error:  # fx tracing failures
        raise ModelError(f"model '{backbone.name}' cannot be cut at {', '.join(layers)}: {error}") from error
    return FeatureNet(body, layers, backbone.mean, backbone.std)
