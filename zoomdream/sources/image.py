"""Pictures the user names (a start image, a colour reference, a guide), fitted to the frame."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

from ..errors import ZoomdreamError

FITS = ("cover", "contain", "stretch")

# Transparent pixels become mid grey: it is the neutral point of the network's input range, so
# the dream can push those areas lighter or darker, where white or black would already be clipped.
BACKGROUND = (128, 128, 128, 255)

class SourceError(ZoomdreamError):
    """A start image that cannot be used; the message is one line naming the file and the fix."""


def load_image(path: str | Path, size: tuple[int, int], fit: str = "cover") -> torch.Tensor:
    """Read an image file as float32 (1, 3, H, W) in [0, 1], fitted to size = (width, height).

    fit: "cover" fills the frame and crops the overflow centred; "contain" shows the whole
    image and fills the rest by mirroring it (never black bars, which a dream would outline);
    "stretch" ignores the aspect ratio.
    """
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    width, height = size
    pixels = _fit_aspect(_read_rgb(Path(path)), width / height, fit)
    image = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).unsqueeze(0)
    resized = F.interpolate(image, size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    return resized.clamp_(0.0, 1.0).contiguous()


MAX_PIXELS = 8192 * 8192  # the largest frame; larger files are refused before decoding, not after


def _read_rgb(path: Path) -> np.ndarray:
    """Decode to float32 (H, W, 3) in [0, 1], upright, with every Pillow failure as one SourceError."""
    if not path.exists():
        raise SourceError(f"{path}: not found; check the path")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory; give an image file (JPEG, PNG or WebP)")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: is an empty file (0 bytes); give a JPEG, PNG or WebP image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size check below decides
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise SourceError(
                        f"{path}: {img.width}x{img.height} is too large (over {MAX_PIXELS // 10**6} megapixels); downscale it"
                    )
                return _to_rgb(ImageOps.exif_transpose(img))
    except SourceError:
        raise
    except Image.DecompressionBombError as err:
        raise SourceError(f"{path}: too large, refused as a decompression bomb ({err}); downscale it") from err
    except Exception as err:  # Pillow raises many exception types on corrupt or foreign files
        raise SourceError(f"{path}: not a readable image (truncated or not JPEG/PNG/WebP?): {err}") from err


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Any Pillow mode to RGB floats.

    16-bit greyscale keeps its precision; 16-bit RGB PNG arrives as 8-bit (Pillow has no 16-bit
    RGB mode), which is far finer than the steps a dream takes.
    """
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        grey = np.asarray(img, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=2)
    if img.has_transparency_data:
        img = Image.alpha_composite(Image.new("RGBA", img.size, BACKGROUND), img.convert("RGBA"))
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def _fit_aspect(pixels: np.ndarray, aspect: float, fit: str) -> np.ndarray:
    """Give the image the frame's aspect ratio before the single resize: crop it or mirror-pad it."""
    h, w = pixels.shape[:2]
    if fit == "cover":
        crop_w, crop_h = max(1, min(w, round(h * aspect))), max(1, min(h, round(w / aspect)))
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        return pixels[top : top + crop_h, left : left + crop_w]
    if fit == "contain":
        pad_w, pad_h = max(w, round(h * aspect)) - w, max(h, round(w / aspect)) - h
        pads = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0))
        return np.pad(pixels, pads, mode="symmetric")  # mirrors as often as needed, however wide the pad
    return pixels
