"""The output layer's one error, and how any failure inside a sink becomes it."""

from __future__ import annotations

from pathlib import Path

from ..errors import ZoomdreamError


class SinkError(ZoomdreamError):
    """An output that could not be written; the message is one line naming the file and the cause."""


def write_error(path: Path, err: OSError) -> SinkError:
    return SinkError(f"cannot write {path}: {err.strerror or err}")


def as_sink_error(err: Exception) -> SinkError:
    """Any failure inside a sink, as the one-line error a front-end shows."""
    if isinstance(err, SinkError):
        return err
    if isinstance(err, OSError) and err.filename:
        return write_error(Path(err.filename), err)
    error = SinkError(f"writing output failed: {type(err).__name__}: {err}")
    error.__cause__ = err
    return error
