"""A recipe's outputs as sinks: one entry per kind of output, each lane its own sink.

An entry turns its section of ``output`` into a sink for one lane, reopened from that sink's
checkpoint state on --resume; the writer thread and the checkpoint treat every sink alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

from ..config import Config
from ..io.frames import FrameSink
from ..io.segments import SegmentedVideo, Soundtrack
from ..io.sink import Sink
from .folder import Lane, RenderFolder


class LaneSink(Sink):
    """One lane of a batch of frames (B, H, W, 3), passed on to a sink of that lane."""

    def __init__(self, lane: int, sink: Sink):
        self.lane, self.sink = lane, sink
        self.bit_depth = sink.bit_depth

    def write(self, index: int, frame: Any) -> None:
        self.sink.write(index, frame[self.lane])

    def state(self) -> Any:
        return self.sink.state()

    def saved(self) -> None:
        self.sink.saved()

    def close(self) -> None:
        self.sink.close()

    def abort(self) -> None:
        self.sink.abort()


class Output(NamedTuple):
    """One kind of output: whether the recipe asks for it, and how a lane's sink is opened."""

    wanted: Callable[[Config], bool]
    open: Callable[[Config, Lane, RenderFolder, Any], Sink]  # (config, lane, folder, saved state or None)
    written: Callable[[Lane], Path]  # what the result names for this lane


def _video(config: Config, lane: Lane, folder: RenderFolder, saved: Any) -> Sink:
    video = config.output.video
    assert video is not None and lane.video is not None
    sound = Soundtrack(Path(config.audio.file), config.audio.offset) if config.audio else None
    return SegmentedVideo(lane.video, config.frame_size, config.fps, video.codec, video.crf, folder.segments / lane.stem,
                          saved or [], sound)  # fmt: skip


def _frames(config: Config, lane: Lane, folder: RenderFolder, saved: Any) -> Sink:
    frames = config.output.frames
    assert frames is not None
    return FrameSink(lane.frames, frames.bit_depth, frames.format, frames.start_number)


OUTPUTS: dict[str, Output] = {
    "video": Output(lambda c: c.output.video is not None, _video, lambda lane: lane.video),  # type: ignore[arg-type, return-value]
    "frames": Output(lambda c: c.output.frames is not None, _frames, lambda lane: lane.frames),
}


def check_outputs(config: Config) -> None:
    """What only ffmpeg can tell (its encoders, the sound file) is checked before any work."""
    from ..io.codecs import check_codec

    if config.output.video is not None:
        check_codec(config.output.video.codec, config.frame_size)
    if config.audio is not None:
        Soundtrack.check(config.audio.file, config.audio.offset)


def open_sinks(config: Config, folder: RenderFolder, saved: list[Any]) -> tuple[list[Sink], dict[str, list[Path]]]:
    """Every lane's sinks, in a fixed order (their states are saved in it), and what they write."""
    sinks: list[Sink] = []
    written: dict[str, list[Path]] = {name: [] for name in OUTPUTS}
    for index, lane in enumerate(folder.lanes()):
        for name, output in OUTPUTS.items():
            if output.wanted(config):
                state = saved[len(sinks)] if len(sinks) < len(saved) else None
                sinks.append(LaneSink(index, output.open(config, lane, folder, state)))
                written[name].append(output.written(lane))
    return sinks, written
