"""How a frame moves into the next: moves that give a sampling grid and a seen-mask, and one sampler.

``field`` (the Move protocol and its two kinds), ``camera`` (homographies), ``path`` (the
camera as a producer of moves), ``grids`` and ``sampler`` (grid -> grid_sample, sharpen, fill).
"""

from .camera import FIELD_OF_VIEW, affine, batch, camera, chain, per_frame, relative, square, tilt
from .field import FlowMove, Homography, Move, MotionField
from .grids import resampling_blur, revealed
from .path import CameraPath, matrices
from .sampler import grid, known, sharpen, warp

__all__ = [
    "FIELD_OF_VIEW", "CameraPath", "FlowMove", "Homography", "MotionField", "Move", "affine", "batch", "camera", "chain",
    "grid", "known", "matrices", "per_frame", "relative", "resampling_blur", "revealed", "sharpen", "square", "tilt", "warp",
]  # fmt: skip
