"""What every output is to the writer thread: frames in, its own checkpoint state out.

Every sink takes float32 (H, W, 3) frames in [0, 1] (or uint8 where no output needs more than
8 bits, see ``Sink.bit_depth``) through ``write(index, frame)`` and converts them itself, so the
writer thread treats all sinks alike. A sink is a context manager: ``close()`` on success,
``abort()`` on an exception, so a crash never finalises a half-written output. A sink whose
output spans checkpoints says what a checkpoint must remember of it (``state()``), is told when
that checkpoint is safely on disk (``saved()``), and is reopened from that state after a crash.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def quantize(frame: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float [0, 1] to uint8 or uint16, rounding to nearest so mid-tones do not drift darker.

    A uint8 frame for an 8-bit output was already quantized (on the device) and passes through.
    """
    if frame.dtype == np.uint8 and bit_depth == 8:
        return frame
    top = (1 << bit_depth) - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.rint(np.clip(unit(frame), 0.0, 1.0) * top).astype(dtype)


def unit(frame: np.ndarray) -> np.ndarray:
    """A frame as floats in [0, 1], whether it came as float or as uint8."""
    return frame / np.float32(255) if frame.dtype == np.uint8 else frame


class Closing:
    """Context manager: close() on success, abort() on an exception."""

    def close(self) -> None:
        """Finish the output under its final name."""

    def abort(self) -> None:
        """Stop after a failure; leave nothing half-written under a final name."""
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class Sink(Closing):
    """What the writer thread needs from an output."""

    bit_depth = 8  # bits per channel it keeps: above 8 the renderer sends float frames

    def write(self, index: int, frame: np.ndarray) -> None:
        raise NotImplementedError

    def state(self) -> Any:
        """What a checkpoint taken now must hold to reopen this output (called on the writer
        thread after every frame the checkpoint covers); None for outputs that need nothing."""
        return None

    def saved(self) -> None:
        """The checkpoint that took ``state()`` is on disk: what it no longer names may go."""
