"""How the benchmark measures: device-synchronised clocks, FLOPs, the machine's peak, memory, CPU time.

Nothing here knows zoomdream; the workloads (workloads.py) call these around their work.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

Record = dict[str, Any]


class FlopCount(TorchDispatchMode):
    """FLOPs of the ops run inside, by torch's own formulas (convolutions, matmuls, their backwards).

    Not FlopCounterMode itself: its module tracker breaks torch.autograd.grad with respect to a
    leaf that is the network's input, which is exactly how the dream takes its gradient
    (pytorch/pytorch#131753).
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def now(device: torch.device) -> float:
    """A timestamp after the device has finished its queued work, so kernels are timed, not launches."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
    return time.perf_counter()


def peak_mem_mb(device: torch.device) -> float:
    """CUDA: the most memory torch held during the workload. Elsewhere: the process's max RSS so far."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def matmul_peak(device: torch.device, dtype: torch.dtype, repeat: int) -> float:
    """Best-of-N GFLOP/s of one square matmul: the practical ceiling for dense math on this device.

    Measured in the same run as the workloads, so the fraction stays honest on a busy or
    throttled machine. On CUDA fp32 matmul runs without TF32 (torch's default) while cuDNN
    convolutions may use it, so an fp32 ascent step there can in principle exceed this "peak".
    """
    n = matmul_size(device)
    a, b = (torch.randn(n, n, device=device).to(dtype) for _ in range(2))
    for _ in range(2):
        torch.matmul(a, b)
    best = float("inf")
    for _ in range(max(repeat, 3)):
        start = now(device)
        torch.matmul(a, b)
        best = min(best, now(device) - start)
    return 2 * n**3 / best / 1e9


def matmul_size(device: torch.device) -> int:
    return 8192 if device.type == "cuda" else 2048


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg counts once it has exited)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cpu_use(since: float, wall: float) -> Record:
    """CPU seconds since ``since`` (a cpu_seconds() reading) and the share of the cores they kept busy.

    Near 1 the work is CPU-bound, so work overlapped with it can only take cores away from it.
    """
    cpu = cpu_seconds() - since
    return {"cpu_s": cpu, "cpu_busy": cpu / wall / (os.cpu_count() or 1)}


def rate(seconds: float, frames: int, lanes: int = 1) -> Record:
    """fps counts every lane's frames; ms_per_frame is one output frame of all lanes."""
    return {"fps": frames * lanes / seconds, "ms_per_frame": seconds * 1e3 / frames, "seconds": seconds}
