"""The models that ship with their weights and never download: names, builders, default layers."""

from __future__ import annotations

import os

from . import efficientnet_lite, tf_inception
from .feature_net import Backbone

BUNDLED: tuple[str, ...] = (tf_inception.NAME, *efficientnet_lite.WEIGHTS)

# Networks whose ascent step bf16 autocast makes faster on a CPU with native bf16 (measured,
# README "bf16 on the CPU": InceptionV3 2.8x; EfficientNet-Lite's depthwise convolutions gain
# nothing and lose gradient accuracy). ``precision: auto`` takes bf16 on the CPU for these only.
CPU_BF16_GAINS: tuple[str, ...] = (tf_inception.NAME,)


def build(name: str, weights: str | os.PathLike | None = None) -> Backbone:
    """The named bundled network, eval mode, on the CPU."""
    if name == tf_inception.NAME:
        return tf_inception.build(weights)
    return efficientnet_lite.build(name, weights)


def default_layers(name: str) -> list[str]:
    """Layers chosen by eye for each bundled model."""
    if name == tf_inception.NAME:
        return list(tf_inception.DEFAULT_LAYERS)
    return list(efficientnet_lite.DEFAULT_LAYERS[name])
