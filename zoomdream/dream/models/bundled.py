"""The models that ship with their weights and never download: names, builders, default layers."""

from __future__ import annotations

import os

from . import efficientnet_lite, tf_inception
from .feature_net import Backbone

BUNDLED: tuple[str, ...] = (tf_inception.NAME, *efficientnet_lite.WEIGHTS)


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
