"""Where frames come from: a picture file or seeded noise, as (B, 3, H, W) in [0, 1]."""

from .image import FITS, MAX_PIXELS, SourceError, load_image
from .noise import NOISE_KINDS, noise

__all__ = ["FITS", "MAX_PIXELS", "NOISE_KINDS", "SourceError", "load_image", "noise"]
