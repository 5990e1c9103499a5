"""A clip's own motion as a motion field: OpenCV's DIS optical flow both ways, checked against each
other, and the camera on top.

``estimate`` measures the flow between two frames of the clip (never the dreamed frames) forwards
and backwards. A pixel is trusted where the two agree and the flow is smooth around it (Sundaram
et al. 2010, as Ruder et al. 2016 use it for video style transfer): occlusions, things entering
the frame and motion boundaries fail the check, and the frame algorithm takes the fresh frame
there, so nothing smears. A cut is where the check collapses or the frames jump apart.

``FootageMotion`` is the render's motion field: the camera (``motion``) looks into the clip along
its own path, so output frame t shows the clip's frame t through the camera's whole path so far,
C_t, and the move into frame t is C_{t-1}^-1 @ flow_t @ C_t. With a still camera it is the flow.

DIS runs with fixed settings and the same result whatever the thread count, so a resumed render
computes the same flow, bit for bit.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import cv2
import numpy as np
import torch

from . import grids
from .field import FlowMove, Homography, Move
from .path import CameraPath

PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
FLOW_SIDE = 1024  # larger frames are measured on a copy scaled to this longest side; the flow is scaled back
# The forward-backward check (Sundaram et al. 2010): |w + w'|^2 < A (|w|^2 + |w'|^2) + B pixels^2, and
# motion boundaries where |grad w|^2 > C |w|^2 + D.
CONSISTENCY = (0.01, 0.5)
BOUNDARY = (0.01, 0.002)
MARGIN = 1  # untrusted areas grow by this many pixels: the check's edge is where flows are least sure
# A cut: the check collapses (under CUT_SHARE of the frame trusted), or it half fails and what the
# flow carries over still differs from the new frame by over CUT_JUMP (mean absolute luma, 0-1).
CUT_SHARE, HALF_SHARE, CUT_JUMP = 0.3, 0.6, 0.12


class Flow(NamedTuple):
    """The flow between two frames at their size, in pixels: ``backward`` (H, W, 2) takes each pixel
    of the later frame to where it was in the earlier one, ``forward`` the earlier's to the later;
    ``trust`` (H, W) is 1 where the check passed; ``share`` its mean; ``jump`` the mean absolute
    luma difference between the later frame and the earlier carried along the flow."""

    backward: np.ndarray
    forward: np.ndarray
    trust: np.ndarray
    share: float
    jump: float

    @property
    def cut(self) -> bool:
        return self.share < CUT_SHARE or (self.share < HALF_SHARE and self.jump > CUT_JUMP)


def solver() -> cv2.DISOpticalFlow:
    """A DIS solver with zoomdream's fixed settings; one per thread (a solver is not shared)."""
    return cv2.DISOpticalFlow_create(PRESET)


@functools.lru_cache(maxsize=4)
def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's x and y (H, W) as float32, made once per size (read-only)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def _sample(field: np.ndarray, points_x: np.ndarray, points_y: np.ndarray) -> np.ndarray:
    return cv2.remap(field, points_x, points_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def estimate(earlier: np.ndarray, later: np.ndarray, dis: cv2.DISOpticalFlow | None = None) -> Flow:
    """The flow between two RGB uint8 frames (H, W, 3), both ways, with its trust mask and cut figures."""
    dis = dis or solver()
    height, width = earlier.shape[:2]
    a, b = grey(earlier), grey(later)
    scale = min(1.0, FLOW_SIDE / max(width, height))
    if scale < 1:
        small = (max(8, round(width * scale)), max(8, round(height * scale)))
        a, b = (cv2.resize(image, small, interpolation=cv2.INTER_AREA) for image in (a, b))
    forward, backward = dis.calc(a, b, None), dis.calc(b, a, None)
    if scale < 1:
        factor = np.array([width / a.shape[1], height / a.shape[0]], np.float32)
        forward, backward = (cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR) * factor for f in (forward, backward))
    xs, ys = pixel_grid(height, width)
    to_x, to_y = xs + backward[..., 0], ys + backward[..., 1]
    back_again = _sample(forward, to_x, to_y)
    mismatch = np.square(backward + back_again).sum(-1)
    lengths = np.square(backward).sum(-1) + np.square(back_again).sum(-1)
    consistent = mismatch < CONSISTENCY[0] * lengths + CONSISTENCY[1]
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    smooth = du_x**2 + du_y**2 + dv_x**2 + dv_y**2 <= BOUNDARY[0] * np.square(backward).sum(-1) + BOUNDARY[1]
    inside = (to_x >= -0.5) & (to_x <= width - 0.5) & (to_y >= -0.5) & (to_y <= height - 0.5)
    trust = (consistent & smooth & inside).astype(np.uint8)
    if MARGIN:
        trust = cv2.erode(trust, np.ones((2 * MARGIN + 1, 2 * MARGIN + 1), np.uint8), borderType=cv2.BORDER_REPLICATE)
    carried = _sample(grey(earlier).astype(np.float32), to_x, to_y)
    jump = float(np.abs(carried - grey(later).astype(np.float32)).mean() / 255)
    return Flow(backward, forward, trust.astype(np.float32), float(trust.mean()), jump)


def _grid(pixels: np.ndarray) -> torch.Tensor:
    """A displacement field in pixels (H, W, 2) as a sampling grid (1, H, W, 2) of grid_sample."""
    height, width = pixels.shape[:2]
    scale = torch.tensor([2 / width, 2 / height], dtype=torch.float32)
    return grids.identity([1, 1, height, width]) + torch.from_numpy(np.ascontiguousarray(pixels))[None] * scale


def as_move(flow: Flow, lanes: int) -> FlowMove:
    """The flow as every lane's move (the same clip under every lane)."""
    backward, forward = (_grid(f).expand(lanes, -1, -1, -1).contiguous() for f in (flow.backward, flow.forward))
    trust = torch.from_numpy(flow.trust)[None, None].expand(lanes, -1, -1, -1).contiguous()
    return FlowMove(backward, forward, trust)


def still(size: tuple[int, int], lanes: int, trusted: bool = True) -> FlowMove:
    """No motion: a repeated frame (trusted) or a cut (nothing trusted, nothing carried across)."""
    width, height = size
    zero = np.zeros((height, width, 2), np.float32)
    trust = np.full((height, width), 1.0 if trusted else 0.0, np.float32)
    return as_move(Flow(zero, zero, trust, float(trusted), 0.0), lanes)


class FootageMotion:
    """The render's motion field over a clip: ``flow(t)`` is the clip's move into frame t (a FlowMove
    at the frame size), ``camera`` the recipe's camera; ``view(t)`` is C_t, the camera's whole path
    from frame 0 to t, which the frame algorithm samples the clip's frame t through."""

    def __init__(self, flow: Callable[[int], FlowMove], camera: CameraPath, lanes: int):
        self.flow, self.camera, self.lanes = flow, camera, lanes
        self._views: dict[int, Homography] = {0: Homography(torch.eye(2, 3, dtype=torch.float64).repeat(lanes, 1, 1))}
        self._moves: dict[int, Move] = {}

    def view(self, t: int) -> Homography:
        """C_t, composed from frame 0 in order, so every session computes the same matrices."""
        if t not in self._views:
            known = max((i for i in self._views if i < t), default=0)
            if len(self._views) > 8:
                self._views = {i: v for i, v in self._views.items() if i == 0 or i >= known - 2}
            for i in range(known + 1, t + 1):
                self._views[i] = self._views[i - 1] @ self.camera.move(i)  # type: ignore[assignment]
        return self._views[t]

    def move(self, t: int) -> Move:
        if t not in self._moves:
            if len(self._moves) > 8:
                self._moves = {i: m for i, m in self._moves.items() if i >= t - 4}
            before, now, flow = self.view(t - 1), self.view(t), self.flow(t)
            if bool(before.still().all()) and bool(now.still().all()):
                self._moves[t] = flow
            else:
                self._moves[t] = (before.inverse() @ flow) @ now
        return self._moves[t]
