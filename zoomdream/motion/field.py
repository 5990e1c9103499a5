"""What moves a frame into the next: a batch of moves that each give a sampling grid and a seen-mask.

The frame algorithm, the look recorder and ``zoomdream look`` ask a move for nothing else, and
compose moves with ``@`` (``a @ b`` samples ``a`` at ``b``'s points: ``b`` first, then ``a``,
like the matrices). Two producers: the camera's homographies (``Homography``, exact: a path of
k frames is one matrix) and a dense displacement field such as optical flow (``FlowMove``),
which also carries its forward field and where it is trusted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol, Sequence

import torch

from . import grids
from .camera import batch, homography_grid, is_identity, short, square


class Move(ABC):
    """Every lane's move into a frame: where each output pixel samples the frame before."""

    @abstractmethod
    def grid(self, shape: list[int], device: torch.device | None = None) -> torch.Tensor:
        """Sampling grid (B, H, W, 2) for frames of ``shape`` (B, C, H, W), float32 unless exact."""

    @abstractmethod
    def still(self) -> torch.Tensor:
        """(B,) bool: lanes that do not move, which skip resampling so a still frame loses no detail."""

    @abstractmethod
    def __matmul__(self, inner: "Move") -> "Move":
        """This move after ``inner``."""

    @abstractmethod
    def inverse(self) -> "Move":
        """From the earlier frame into this one (the dream's change is carried back along it)."""

    def seen(self, like: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) in [0, 1] on ``like``'s device and dtype: how much of each pixel the earlier
        frame showed; 0 on ground the camera revealed."""
        sampling = self.grid([like.shape[0], 1, *like.shape[2:]], like.device).to(like.dtype)
        return 1 - grids.revealed(sampling, (like.shape[-1], like.shape[-2]))


class Homography(Move):
    """The camera: sampling matrices (B, 2, 3) affine or (B, 3, 3) projective, float64 on the CPU."""

    def __init__(self, theta: torch.Tensor):
        self.theta = theta

    def grid(self, shape: list[int], device: torch.device | None = None) -> torch.Tensor:
        return homography_grid(self.theta.to(device), shape)

    def still(self) -> torch.Tensor:
        return is_identity(self.theta)

    def __matmul__(self, inner: Move) -> Move:
        if isinstance(inner, Homography):
            return Homography(short(square(self.theta) @ square(inner.theta)))
        return FlowMove.of(self, inner.size) @ inner  # type: ignore[attr-defined]

    def inverse(self) -> "Homography":
        return Homography(short(torch.linalg.inv(square(self.theta))))


class FlowMove(Move):
    """A dense displacement field at one size: the backward grid (where each pixel of the later
    frame was in the earlier one), the forward grid (where each pixel of the earlier frame went)
    and ``trust`` (B, 1, H, W): 1 where the flow is consistent both ways, 0 where it is not
    (occlusions, things entering), so those pixels count as never seen."""

    def __init__(self, backward: torch.Tensor, forward: torch.Tensor, trust: torch.Tensor | None = None):
        self.backward, self.forward = backward, forward
        self.trust = torch.ones_like(backward[..., :1]).permute(0, 3, 1, 2) if trust is None else trust
        self.size = (backward.shape[2], backward.shape[1])

    @classmethod
    def of(cls, move: Move, size: tuple[int, int]) -> "FlowMove":
        """Any move as a field at ``size`` (width, height)."""
        if isinstance(move, FlowMove):
            return move
        shape = [len(move.still()), 1, size[1], size[0]]
        return cls(move.grid(shape), move.inverse().grid(shape))

    def grid(self, shape: list[int], device: torch.device | None = None) -> torch.Tensor:
        if (shape[-1], shape[-2]) != self.size:
            raise ValueError(f"a flow of {self.size[0]}x{self.size[1]} cannot move frames of {shape[-1]}x{shape[-2]}")
        return self.backward.to(device)

    def still(self) -> torch.Tensor:
        eye = grids.identity([self.backward.shape[0], 1, self.size[1], self.size[0]], dtype=self.backward.dtype)
        return (self.backward == eye).flatten(1).all(1)

    def __matmul__(self, inner: Move) -> Move:
        inner = FlowMove.of(inner, self.size)
        backward = grids.compose(self.backward, inner.backward)
        forward = grids.compose(inner.forward, self.forward)
        carried = torch.nn.functional.grid_sample(self.trust, inner.backward.to(self.trust), align_corners=False)
        return FlowMove(backward, forward, inner.trust * carried)

    def inverse(self) -> "FlowMove":
        return FlowMove(self.forward, self.backward)

    def seen(self, like: torch.Tensor) -> torch.Tensor:
        return super().seen(like) * self.trust.to(like)


def cat(moves: Sequence[Move]) -> Move:
    """Several batches of moves as one batch (frames after each other, lanes inside)."""
    if all(isinstance(m, Homography) for m in moves):
        return Homography(batch([m.theta for m in moves]))  # type: ignore[attr-defined]
    size = next(m.size for m in moves if isinstance(m, FlowMove))  # type: ignore[attr-defined]
    flows = [FlowMove.of(m, size) for m in moves]
    return FlowMove(*(torch.cat([getattr(f, part) for f in flows]) for part in ("backward", "forward", "trust")))


def chain(moves: Sequence[Move]) -> list[Move]:
    """Moves from frame t+i back to frame t, for i = 1..n, given each frame's own move: exact for
    the camera whatever the keyframes do."""
    total, out = None, []
    for move in moves:
        total = move if total is None else total @ move
        out.append(total)
    return out


def relative(start: Move, end: Move) -> Move:
    """From the frame reached by ``start`` into the frame reached by ``end``."""
    return end.inverse() @ start


class MotionField(Protocol):
    """A producer of moves: what the frame algorithm and the look recorder ask for each frame."""

    def move(self, t: int) -> Move:
        """Every lane's move into frame ``t`` (sampling frame ``t - 1``)."""
