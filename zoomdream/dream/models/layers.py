"""What a network's layers output: names, channels, and a middle layer to dream on by default."""

from __future__ import annotations

from typing import Callable, Mapping

import torch
from torch import nn

from .errors import ModelError

PROBE_SIZE = 224  # input side used to trace output shapes; stride-16 layers give 14x14 maps


def output_shapes(net: nn.Module, size: int = PROBE_SIZE) -> dict[str, torch.Size]:
    """Shape of every named module's first tensor output, in the order the forward pass makes them.

    Moves net to the meta device (dropping its weights) and runs it there: no memory, no arithmetic.
    """
    net = net.to("meta")
    shapes: dict[str, torch.Size] = {}

    def recorder(name: str):
        def record(module: nn.Module, inputs: object, output: object) -> None:
            if isinstance(output, torch.Tensor) and output.dim() >= 2:
                shapes.setdefault(name, output.shape)

        return record

    handles = [module.register_forward_hook(recorder(name)) for name, module in net.named_modules() if name]
    try:
        with torch.no_grad():
            net.eval()(torch.zeros(1, 3, size, size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def middle_layer(model: str, shapes: dict[str, torch.Size], size: int = PROBE_SIZE) -> str:
    """The last layer at 1/16 of the input size (mid-level parts: eyes, fur, faces), named as shallowly as possible.

    Stride 16 is where most ImageNet CNNs keep their middle stage (resnet layer3, googlenet inception4x).
    """
    mid = [name for name, shape in shapes.items() if len(shape) == 4 and size / 20 <= shape[-1] <= size / 12]
    for depth in range(4):
        at_depth = [name for name in mid if name.count(".") == depth]
        if at_depth:
            return at_depth[-1]
    raise ModelError(
        f"model '{model}' has no convolutional middle layer to default to; name one (zoomdream layers {model})"
    )


def layer_widths(net: Callable[[torch.Tensor], Mapping[str, torch.Tensor]], device: torch.device) -> dict[str, int]:
    """Channel count of every layer the network returns, from one small forward pass."""
    with torch.no_grad():
        return {name: act.shape[1] for name, act in net(torch.zeros(1, 3, 96, 96, device=device)).items()}
