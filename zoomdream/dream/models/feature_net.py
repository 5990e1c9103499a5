"""FeatureNet: a network cut after the deepest layer in use, fed [0, 1] RGB, returning activations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.feature_extraction import create_feature_extractor

from .errors import ModelError, did_you_mean


# The CPU's bf16 convolutions (oneDNN) give Inf and NaN on maps only a few pixels across: with
# InceptionV3 inputs of 43 to 57 px (measured), never from 59 px up. Smaller inputs run in fp32,
# which costs next to nothing at that size.
CPU_BF16_MIN_SIDE = 96


@dataclass(frozen=True)
class Backbone:
    """A whole network plus the input normalisation it was trained with (per channel, on [0, 1])."""

    name: str
    net: nn.Module
    mean: tuple[float, ...]
    std: tuple[float, ...]
    leaf_modules: tuple[type[nn.Module], ...] = ()  # fx calls these whole instead of tracing inside
    min_side: int | None = None  # the smallest input side it takes (bundled: measured, tested); None: probe


class FeatureNet(nn.Module):
    """Normalises the input the model's own way and returns the requested layers' activations."""

    def __init__(self, body: nn.Module, layers: Sequence[str], mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.body = body
        self.layers: tuple[str, ...] = tuple(layers)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.memory_format = torch.contiguous_format
        self.min_side = 1  # set by measure_min_side: smaller inputs are padded up to it

    def channels_last(self) -> "FeatureNet":
        """NHWC weights and inputs: faster convolutions with oneDNN on the CPU and cuDNN on CUDA."""
        self.to(memory_format=torch.channels_last)
        self.memory_format = torch.channels_last
        return self

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """x: (B, 3, H, W) RGB in [0, 1], any size: a side the network cannot see (its strided
        layers would shrink it to nothing) is padded by reflection up to ``min_side``, so every
        frame size and octave renders; the gradient flows back through the padding."""
        x = (x - self.mean) / self.std
        short = [max(0, self.min_side - side) for side in x.shape[-2:]]
        if any(short):
            (dh, dw), mode = short, "reflect" if max(short) < min(x.shape[-2:]) else "replicate"
            x = F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2), mode=mode)
        x = x.contiguous(memory_format=self.memory_format)
        if x.device.type == "cpu" and min(x.shape[-2:]) < CPU_BF16_MIN_SIDE and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return self.body(x.float())
        return self.body(x)

    def measure_min_side(self, device: torch.device | str) -> int:
        """The smallest square input every layer in use can take, found by trying (about a second,
        so the bundled models carry theirs: InceptionV3 43 px; EfficientNet-Lite, padded "same", 1)."""
        self.min_side = smallest_side(self, torch.device(device))
        return self.min_side


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
    net = FeatureNet(body, layers, backbone.mean, backbone.std)
    if backbone.min_side is not None:
        net.min_side = backbone.min_side
    return net


def smallest_side(net: nn.Module, device: torch.device, largest: int = 512) -> int:
    """Bisect the smallest side that goes through ``net`` (a failing size raises in a layer)."""

    def fits(side: int) -> bool:
        try:
            with torch.no_grad():
                net.body(torch.zeros(1, 3, side, side, device=device).contiguous(memory_format=net.memory_format))
            return True
        except RuntimeError:
            return False

    low, high = 0, 8
    while not fits(high):
        low, high = high, high * 2
        if high > largest:
            raise ModelError(f"the network cannot take inputs of up to {largest} px")
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high
