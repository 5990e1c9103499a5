"""The one render loop: drive the engine's frames to the sinks, checkpoint on cadence, obey the stop token.

Frames go to the writer thread, which encodes while the next frame is dreamed; checkpoints go
through it too, after the frames they cover. A checkpoint is taken when the cadence (frames or
wall time) is due, when the stop token is set, and after the last frame, so a crash while the
video is joined resumes straight to the join.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Protocol

import numpy as np
import torch
from PIL import Image

from ..io.writer import WriterThread
from .checkpoint import Checkpoint, save
from .events import Bus, Checkpointed, Frames
from .folder import RenderFolder

PREVIEW_SIDE = 256  # the live view's frames: small enough to send every frame to a web page


class Stop(Protocol):
    """Anything with ``is_set()``, such as a ``threading.Event``; set from any thread."""

    def is_set(self) -> bool: ...


def to_host(frames: torch.Tensor, exact: bool) -> Any:
    """(n, B, 3, H, W) on the device to (n, B, H, W, 3) on the host in one transfer.

    Quantized to uint8 on the device (a quarter of the bytes) unless an output needs more
    than 8 bits (``exact``), in which case float32 goes and the sink quantizes.
    """
    frames = frames.permute(0, 1, 3, 4, 2)
    if exact:
        return frames.float().cpu().numpy()
    return frames.clamp(0, 1).mul(255).round().to(torch.uint8).cpu().numpy()


def thumbnails(frame: np.ndarray) -> list[np.ndarray]:
    """Each lane of one host frame (B, H, W, 3) as a small uint8 RGB picture."""
    pictures = []
    for lane in frame:
        pixels = lane if lane.dtype == np.uint8 else np.rint(np.clip(lane, 0, 1) * 255).astype(np.uint8)
        image = Image.fromarray(np.ascontiguousarray(pixels))
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        pictures.append(np.asarray(image))
    return pictures


def drive(
    renderer: Any,
    folder: RenderFolder,
    sinks: list,
    recorder: Any,
    fingerprint: dict[str, Any],
    bus: Bus,
    stop: Stop | None,
) -> float:
    """Run ``renderer.frames()`` to the end or to the stop token; returns the seconds spent.

    Raises nothing for a stop: the caller compares ``renderer.next_frame`` with the total.
    A loop's warm-up (frames before 0, ``renderer.first``) is rendered and counted, not written.
    """
    config = renderer.config
    first = getattr(renderer, "first", 0)
    total = config.frame_count - first  # frames to render
    every_frames, every_seconds = config.output.cadence()

    def save_checkpoint(engine: dict[str, Any], look: dict[str, Any], seconds: float) -> None:
        state = Checkpoint(engine, fingerprint, [sink.state() for sink in sinks], look)
        save(folder.checkpoint, state)
        folder.write_progress(state.next_frame - first, total, seconds)
        for sink in sinks:
            sink.saved()  # what the checkpoint no longer names may go
        bus(Checkpointed(state.next_frame))

    writer = WriterThread(sinks)
    exact = any(sink.bit_depth > 8 for sink in sinks)
    began = last = time.perf_counter()
    saved = start = done = renderer.next_frame - first
    previous = renderer.x if renderer.next_frame > 0 else None
    stopping: Callable[[], bool] = (lambda: False) if stop is None else stop.is_set
    try:
        with torch.no_grad():
            for t, frames in renderer.frames():
                host = to_host(frames, exact)
                for i, frame in enumerate(host):
                    if t + i >= 0:
                        writer.put(t + i, frame)
                if t + len(frames) > 0:
                    recorder.measure(renderer.motion, max(t, 0), frames[max(-t, 0) :], previous)
                    previous = frames[-1]
                done, now = renderer.next_frame - first, time.perf_counter()
                rate = (done - start) / max(now - began, 1e-9)
                previews = thumbnails(host[-1]) if bus.wants_previews else []
                bus(Frames(t, len(frames), done, total, rate, (total - done) / rate if rate > 0 else None, previews,
                           recorder.latest() if bus.wants_previews else {}))  # fmt: skip
                halt = stopping()
                due = (every_frames is not None and done - saved >= every_frames) or (
                    every_seconds is not None and now - last >= every_seconds
                )
                if due or done == total or halt:
                    call = functools.partial(save_checkpoint, renderer.state_dict(), recorder.curves(), now - began)
                    writer.call(call)
                    saved, last = done, now
                if halt:
                    break
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return time.perf_counter() - began
