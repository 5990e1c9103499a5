"""Model zoo: bundled offline models, torchvision models and user weight files, cut after the deepest layer in use.

    net = load_feature_net("inception_v3_tf", ["mixed_3"], device="cuda")
    acts = net(images)            # images: (B, 3, H, W) RGB in [0, 1]; acts["mixed_3"]: (B, C, h, w)

Layer names are the models' own module names; list_layers shows them with their channel counts.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn

from . import bundled, torchvision_zoo
from .bundled import BUNDLED, CPU_BF16_GAINS
from .errors import ModelError, did_you_mean
from .feature_net import Backbone, FeatureNet, cut
from .layers import layer_widths, middle_layer, output_shapes

__all__ = ["BUNDLED", "CPU_BF16_GAINS", "FeatureNet", "ModelError", "default_layers", "layer_widths", "list_layers", "load_feature_net"]


def _check_known(name: str) -> None:
    if name not in BUNDLED and name not in torchvision_zoo.names():
        raise ModelError(
            f"unknown model '{name}': use one of the bundled models ({', '.join(BUNDLED)}) or a torchvision "
            f"model name such as googlenet, vgg16, resnet50{did_you_mean(name, [*BUNDLED, *torchvision_zoo.names()])}"
        )


def _backbone(name: str, weights: str | os.PathLike | None) -> Backbone:
    _check_known(name)
    if name in BUNDLED:
        return bundled.build(name, weights)
    if weights is not None:
        return torchvision_zoo.from_file(name, weights)
    return torchvision_zoo.pretrained(name)


def _shapes_only(name: str, weights: str | os.PathLike | None) -> nn.Module:
    """A net with the right layer shapes, as cheaply as possible: torchvision's without downloading weights."""
    _check_known(name)
    if name in BUNDLED or weights is not None:
        return _backbone(name, weights).net
    return torchvision_zoo.shapes_only(name)


def default_layers(name: str) -> list[str]:
    """Layers that dream well for this model (bundled and classic ones chosen by eye, others a stride-16 layer)."""
    _check_known(name)
    if name in BUNDLED:
        return bundled.default_layers(name)
    if name in torchvision_zoo.DEFAULT_LAYERS:
        return list(torchvision_zoo.DEFAULT_LAYERS[name])
    return [middle_layer(name, output_shapes(_shapes_only(name, None)))]


def list_layers(name: str, weights: str | os.PathLike | None = None) -> list[tuple[str, int]]:
    """(layer name, channel count) of every layer, in forward order; never downloads."""
    return [(layer, shape[1]) for layer, shape in output_shapes(_shapes_only(name, weights)).items()]


def load_feature_net(
    name: str,
    layers: Sequence[str],
    weights: str | os.PathLike | None = None,
    device: torch.device | str = "cpu",
) -> FeatureNet:
    """The model cut after the deepest of layers, frozen, in eval mode, on device. Load once per render."""
    backbone = _backbone(name, weights)
    net = cut(backbone, layers).requires_grad_(False).eval().to(device)
    if backbone.min_side is None:
        net.measure_min_side(device)
    return net
