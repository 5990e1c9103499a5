"""Where the dream runs and at what precision: the device policy, kept out of the frame algorithm.

``auto`` prefers CUDA, then Apple's MPS, then the CPU. Reduced precision is taken where it was
measured to pay: bf16 (or fp16 where a GPU has no bf16) on CUDA, and bf16 on CPUs with native
bf16 instructions (AVX512-BF16 or AMX) for the networks that gain from it (InceptionV3's ascent
step runs about 2.8x faster with the look unchanged; README, "bf16 on the CPU"); ``bf16``
forces it on any CPU. Elsewhere, and for ``fp16`` off CUDA, the dream runs in fp32.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from ..errors import ZoomdreamError

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


class RenderError(ZoomdreamError):
    """A render that cannot start or go on, for a reason the user can fix; one line."""


def pick_device(name: str) -> torch.device:
    """``auto`` prefers CUDA, then Apple's MPS, then the CPU; an absent device is a user error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise RenderError(f"device: {name} is not available on this machine; use device: auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RenderError("device: mps is not available on this machine; use device: auto or cpu")
    return torch.device(name)


@functools.cache
def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bf16 natively (elsewhere bf16 is emulated and slower than fp32)."""
    try:
        flags = Path(cpuinfo).read_text()
    except OSError:
        return False
    return any(flag in flags.split() for flag in NATIVE_BF16_FLAGS)


def autocast_dtype(precision: str, device: torch.device, cpu_gains: bool = True) -> torch.dtype | None:
    """The autocast dtype of the dream, or None for fp32; ``cpu_gains``: whether the network is
    one whose step bf16 makes faster on the CPU (``models.CPU_BF16_GAINS``)."""
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if precision == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return {"fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    if device.type == "cpu" and (precision == "bf16" or (precision == "auto" and cpu_gains and cpu_has_native_bf16())):
        return torch.bfloat16
    return None  # fp16 is a GPU format: a recipe written for one renders in fp32 elsewhere


def prepare(net: Any, device: torch.device, compile: bool) -> Any:
    """The cut network laid out for the device: channels_last (measured faster on CPU and CUDA),
    cuDNN's autotuner on CUDA (frames keep one size, so the tuned kernels are reused), compiled
    when asked."""
    if device.type in ("cuda", "cpu"):
        net = net.channels_last()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return torch.compile(net, dynamic=False) if compile else net
