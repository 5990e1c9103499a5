"""Image sequences for editors: one table of formats, and the sink that writes them.

A format's entry says how a frame becomes bytes and how deep it is, so the config, the sink and
``zoomdream look`` take the formats from here and nothing else branches on a format's name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import imageio.v3 as iio
import numpy as np

from .atomic import write_atomic
from .errors import write_error
from .sink import Sink, quantize, unit


def srgb_to_linear(frame: np.ndarray) -> np.ndarray:
    """Decode the sRGB transfer curve (IEC 61966-2-1): what compositors expect in an EXR."""
    frame = np.clip(unit(frame), 0.0, 1.0)
    return np.where(frame <= 0.04045, frame / 12.92, ((frame + 0.055) / 1.055) ** 2.4)


# Rec.709 / sRGB primaries and D65 white as (red x, y, green x, y, blue x, y, white x, y).
REC709_CHROMATICITIES = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)


def encode_exr(frame: np.ndarray, bit_depth: int = 16) -> bytes:
    """Half-float scene-linear OpenEXR, tagged with Rec.709 primaries so Resolve, Nuke and AE read it right."""
    import OpenEXR  # only renders that ask for EXR need it

    header = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "chromaticities": REC709_CHROMATICITIES,
    }
    buffer = io.BytesIO()
    pixels = np.ascontiguousarray(srgb_to_linear(frame), dtype=np.float16)  # the binding ignores strides
    with OpenEXR.File(header, {"RGB": pixels}) as exr:
        exr.write(buffer)
    return buffer.getvalue()


def _opencv(extension: str) -> Callable[[np.ndarray, int], bytes]:
    """8- or 16-bit RGB through imageio's OpenCV plugin (Pillow cannot write 16-bit RGB)."""

    def encode(frame: np.ndarray, bit_depth: int) -> bytes:
        return iio.imwrite("<bytes>", quantize(frame, bit_depth), extension=extension, plugin="opencv")

    return encode


@dataclass(frozen=True)
class FrameFormat:
    extension: str  # the file name's ending, also the format's name in the config
    encode: Callable[[np.ndarray, int], bytes]  # (frame, bit depth) -> the file's bytes
    float_only: bool = False  # keeps more than 8 bits whatever output.frames.bit_depth says
    description: str = ""


FORMATS: dict[str, FrameFormat] = {
    "png": FrameFormat("png", _opencv(".png"), description="8/16-bit sRGB"),
    "tiff": FrameFormat("tiff", _opencv(".tif"), description="8/16-bit sRGB"),
    "exr": FrameFormat("exr", encode_exr, float_only=True, description="half-float scene-linear, Rec.709 primaries"),
}


class FrameSink(Sink):
    """Image sequence for editors, each file written atomically as 000123.<format>.

    ``start_number`` is added to the frame index, for editors that count from 1 or 1001.
    """

    def __init__(self, folder: Path, bit_depth: int = 8, format: str = "png", start_number: int = 0):
        if bit_depth not in (8, 16):
            raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format}")
        self.folder = Path(folder)
        self.format = FORMATS[format]
        self.bit_depth = 16 if self.format.float_only else bit_depth
        self.start_number = start_number
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise write_error(self.folder, err) from err

    def write(self, index: int, frame: np.ndarray) -> None:
        data = self.format.encode(frame, self.bit_depth)
        write_atomic(self.folder / f"{index + self.start_number:06d}.{self.format.extension}", data)


def sequence(folder: Path) -> list[Path]:
    """The files of an image sequence in ``folder``, in frame order, whatever their format."""
    return sorted(p for p in Path(folder).glob("*") if p.suffix[1:] in FORMATS and p.stem.isdigit())
