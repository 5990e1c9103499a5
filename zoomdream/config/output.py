"""What a render writes: the video, the image sequence, the folder and the checkpoint cadence."""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator
from typing_extensions import Annotated

from ..io.codecs import CODECS
from ..io.frames import FORMATS
from ..schedules.keyframes import shown
from .resume import FIXED
from .sections import MAX_FRAMES, Section, parse_seconds

class Video(Section):
    codec: Annotated[Literal[tuple(CODECS)], FIXED] = Field(  # type: ignore[valid-type]
        "libx264",
        description="libx264 plays everywhere, libx265 and libsvtav1 are smaller (.mp4); "
        "prores (4444 10-bit) and dnxhr (HQX 10-bit) are .mov intermediates for editing; "
        "hap and hap_q (.mov) play on the GPU in VJ software; gif and webp loop forever, for sharing",
    )
    crf: int = Field(18, ge=0, le=51, description="quality of libx264/libx265/libsvtav1: lower is better and bigger")


class Frames(Section):
    format: Literal[tuple(FORMATS)] = Field(  # type: ignore[valid-type]
        "png", description=", ".join(f"{name} ({f.description})" for name, f in FORMATS.items())
    )
    bit_depth: Literal[8, 16] = Field(8, description="png and tiff: 16 bits keep headroom for grading")
    start_number: int = Field(0, ge=0, le=10_000_000, description="number of the first file, e.g. 1 or 1001")


class Output(Section):
    dir: Optional[str] = Field(None, min_length=1, description="output folder (default: renders/<name>)")
    video: Optional[Video] = Field(default_factory=Video, description="video settings; null to skip")
    frames: Annotated[Optional[Frames], FIXED] = Field(None, description="image sequence settings; null to skip")
    overwrite: bool = Field(False, description="replace an existing render of the same name")
    checkpoint_every: Union[int, str, list[Union[int, str]]] = Field(
        "30s",
        description="checkpoints for --resume every N frames, every '30s' of render time, or [N, '30s'] (whichever is due first)",
    )

    @field_validator("checkpoint_every")
    @classmethod
    def _cadence(cls, value: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        frames = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
        times = [v for v in items if isinstance(v, str)]
        if not 1 <= len(items) <= 2 or len(frames) > 1 or len(times) > 1 or len(frames) + len(times) != len(items):
            raise ValueError(f"give a frame count like 10, a time like '30s', or both as [10, '30s'] (got {shown(value)})")
        if frames and not 1 <= frames[0] <= MAX_FRAMES:
            raise ValueError(f"frames between checkpoints must be between 1 and {MAX_FRAMES} (got {frames[0]})")
        if times and not 0 < parse_seconds(times[0]) <= 86_400:
            raise ValueError(f"must be a time like '30s', at most a day (got {shown(times[0])})")
        return value

    def cadence(self) -> tuple[int | None, float | None]:
        """(frames, seconds) between checkpoints; None where that limit is not set."""
        items = self.checkpoint_every if isinstance(self.checkpoint_every, list) else [self.checkpoint_every]
        frames = next((v for v in items if isinstance(v, int)), None)
        seconds = next((parse_seconds(v) for v in items if isinstance(v, str)), None)
        return frames, seconds

    @model_validator(mode="after")
    def _writes_something(self) -> "Output":
        if self.video is None and self.frames is None:
            raise ValueError("video and frames are both null, so nothing would be written")
        return self


