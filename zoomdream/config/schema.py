"""The whole recipe: ``Config``, its lanes (variants) and its JSON Schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional, Union

import numpy as np
import yaml
from pydantic import BaseModel, Field, SerializationInfo, ValidationError, field_validator, model_serializer, model_validator
from typing_extensions import Annotated

from ..schedules.expressions import SOUND_NAMES
from ..schedules.field import ScheduleField, field_bounds
from ..schedules.keyframes import Clock, Schedule, ScheduleError, shown
from .errors import ConfigError, error_at, format_error
from .output import Output
from .loop import Loop, check_loop, frames_of
from .video import Footage
from .paths import rebase, relative
from .resume import FIXED, GROWS, fingerprint
from .sections import (
    MAX_FRAMES, MAX_SIDE, MIN_SIDE, NAME_PATTERN, Audio, Color, Dream, Model, Motion, ObjectiveTerm, Section, Start, parse_seconds,
)  # fmt: skip

class VariantDream(Section):
    objective: Optional[list[ObjectiveTerm]] = Field(None, min_length=1, description="this lane's objective, replacing the config's")

    @model_validator(mode="before")
    @classmethod
    def _only_objective(cls, data: Any) -> Any:
        if isinstance(data, dict) and set(data) - {"objective"}:
            raise ValueError("a variant may only change dream.objective")
        return data


class Variant(Section):
    """One lane: only the keys given here differ from the base config (see ``Config.lanes``)."""

    name: str = Field(..., pattern=NAME_PATTERN, description="lane name; its output goes to <output dir>/<name>/")
    seed: Optional[int] = Field(None, ge=0, le=2**63 - 1, description="this lane's seed (unset: the config's)")
    start: Optional[Start] = Field(None, description="keys laid over the config's start for this lane")
    dream: Optional[VariantDream] = Field(None, description="only dream.objective may differ between lanes")
    motion: Optional[Motion] = Field(None, description="keys laid over the config's motion for this lane")
    color: Optional[Color] = Field(None, description="keys laid over the config's color for this lane")

    @model_validator(mode="before")
    @classmethod
    def _name_and_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key in data:
            if key not in cls.model_fields:
                raise error_at(key, f"variants share everything but {', '.join(cls.model_fields)}", data[key])
        name = data.get("name")
        if not isinstance(name, str) or not re.match(NAME_PATTERN, name):
            raise error_at("name", "give each variant a name of letters, digits, . _ or -", name)
        return data

    @model_serializer(mode="plain")
    def _set_keys_only(self, info: SerializationInfo) -> dict[str, Any]:
        """Only what the user set, recursively, so a written config reads back as the same lanes."""
        return {
            key: value.model_dump(mode=info.mode, exclude_unset=True) if isinstance(value, BaseModel) else value
            for key, value in self
            if key in self.model_fields_set
        }


class Config(Section):
    name: str = Field("zoomdream", pattern=NAME_PATTERN, description="render name; output goes to renders/<name>/")
    seed: Annotated[int, FIXED] = Field(0, ge=0, le=2**63 - 1, description="seeds noise and jitter")
    size: Annotated[tuple[int, int], FIXED] = Field((960, 540), description="width, height in pixels")
    scale: Annotated[float, FIXED] = Field(
        1.0, gt=0, le=1, description="render at this fraction of `size` (a proxy or a preview); the camera moves the same"
    )
    frames: Annotated[Optional[int], GROWS] = Field(None, ge=1, le=MAX_FRAMES, description="frame count (default 120)")
    duration: Annotated[Optional[Union[float, str]], GROWS] = Field(
        None, description="length instead of frames: seconds, '10s', or 'audio' (the track after audio.offset)"
    )
    fps: float = Field(30.0, ge=1, le=240, description="frames per second of the video")
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$", description="auto, cpu, cuda, cuda:N or mps"
    )
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="auto: bf16 on CUDA (fp16 without bf16) and for InceptionV3 on CPUs with native bf16, else fp32"
    )
    compile: bool = Field(False, description="torch.compile the network: faster frames after a slow start (CUDA)")
    start: Annotated[Start, FIXED] = Field(default_factory=Start, description="where the first frame comes from")
    model: Annotated[Model, FIXED] = Field(default_factory=Model, description="the network that dreams")
    dream: Dream = Field(default_factory=Dream, description="gradient ascent settings")
    motion: Motion = Field(default_factory=Motion, description="camera path")
    color: Color = Field(default_factory=Color, description="colour stabilisation")
    output: Output = Field(default_factory=Output, description="what is written and where")
    audio: Optional[Audio] = Field(None, description="a sound track: muxed into the video, and its features drive formulas")
    loop: Annotated[Optional[Loop], FIXED] = Field(None, description="a seamless loop: the video plays repeated without a seam (for VJ sets)")
    video: Optional[Footage] = Field(None, description="a clip to dream over, frame by frame, the dream carried along its motion")
    variants: Annotated[list[Variant], FIXED] = Field(
        default_factory=list,
        description="lanes rendered side by side in one batch, each {name, seed, start, dream: {objective}, motion, color}",
    )
    sweep: dict[str, list[Any]] = Field(
        default_factory=dict,
        description="`zoomdream sweep` renders every combination: dotted key -> list of values, e.g. {motion.zoom: [1.01, 1.03]}; "
        "`zoomdream render` ignores it",
    )

    @field_validator("size")
    @classmethod
    def _size_in_range(cls, size: tuple[int, int]) -> tuple[int, int]:
        if any(side < MIN_SIDE or side > MAX_SIDE for side in size):
            raise ValueError(f"width and height must be between {MIN_SIDE} and {MAX_SIDE} (got {size[0]}x{size[1]})")
        return size

    @field_validator("duration")
    @classmethod
    def _duration_seconds(cls, value: float | str | None) -> float | str | None:
        if value is None or value == "audio":
            return value
        seconds = parse_seconds(value)
        if not 0 < seconds <= MAX_FRAMES:
            raise ValueError(f"must be a positive length like 10 or '10s', or audio (got {shown(value)})")
        return seconds

    @model_validator(mode="after")
    def _length_and_keys(self) -> "Config":
        if self.frames is not None and self.duration is not None:
            raise ValueError("frames: give frames or duration, not both")
        if self.duration == "audio" and self.audio is None:
            raise ValueError("duration: 'audio' needs an audio section, e.g. audio: {file: track.ogg}")
        if self.duration != "audio" and self.frame_count > MAX_FRAMES:
            raise ValueError(f"duration: gives {self.frame_count} frames, more than {MAX_FRAMES}")
        check_loop(self)
        heard = self.audio or (self.video and self.video.sound)  # a clip's own sound is checked when it is loaded
        sound = {name: np.zeros(1) for name in SOUND_NAMES} if heard else {}
        for path, spec, interpolation, _ in self.schedules():
            try:
                schedule = Schedule.parse(spec, interpolation)
                unheard = sorted(({n for e in schedule.expressions for n in e.names} & set(SOUND_NAMES)) - set(sound))
                if unheard:
                    raise ScheduleError(f"{unheard[0]!r} needs an audio section, e.g. audio: {{file: track.ogg}}")
                schedule.values([0.0], Clock(self.fps, 1, sound))
            except ScheduleError as error:
                raise ValueError(f"{path}: {error}") from None
        return self

    @field_validator("sweep")
    @classmethod
    def _sweep_keys(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Shape only: whether each key names a field is checked per cell, by ``zoomdream sweep``."""
        for key, values in grid.items():
            if not re.fullmatch(r"[A-Za-z_]\w*(\.\w+)*", key):
                raise ValueError(f"{shown(key)}: write each key as a dotted path like motion.zoom")
            if key.split(".")[0] == "sweep" or key in ("output.dir", "output"):
                raise ValueError(f"{key}: a sweep sets this itself (each cell renders into its own folder)")
            if not values:
                raise ValueError(f"{key}: give at least one value, e.g. [1.01, 1.03]")
        return grid

    @field_validator("variants")
    @classmethod
    def _names_differ(cls, variants: list[Variant]) -> list[Variant]:
        names = [variant.name for variant in variants]
        if len(set(names)) != len(names):
            raise ValueError("names must be different")
        return variants

    def lanes(self) -> list[tuple[str | None, "Config"]]:
        """(variant name, full config) per lane; a config without variants is one unnamed lane."""
        if not self.variants:
            return [(None, self)]
        base = self.model_dump(mode="json", exclude={"variants"})
        lanes = []
        for i, variant in enumerate(self.variants):
            changes = variant.model_dump(mode="json")
            del changes["name"]
            try:
                lanes.append((variant.name, Config.model_validate(_merge(base, changes))))
            except ValidationError as error:
                first = error.errors(include_url=False)[0]
                raise ConfigError(format_error({**first, "loc": ("variants", i, *first["loc"])}, Config)) from None
        return lanes

    @property
    def frame_size(self) -> tuple[int, int]:
        """The size frames are rendered at: ``size`` times ``scale``, never below the smallest side."""
        return tuple(max(MIN_SIDE, round(side * self.scale)) for side in self.size)  # type: ignore[return-value]

    @property
    def frame_count(self) -> int:
        if self.loop is not None and self.loop.length is not None:
            return frames_of(self.loop.length, self.fps)
        if self.frames is not None:
            return self.frames
        if self.duration == "audio":
            raise ConfigError("duration: audio is measured when the config is loaded; use load_config")
        if self.duration is not None:
            return max(1, round(self.duration * self.fps))
        return 120

    def schedules(self) -> list[ScheduleField]:
        """Every keyframed field, found by its ``Sched`` type, for checks and the planner."""
        parts: list[tuple[str, BaseModel, str]] = [
            ("dream", self.dream, self.dream.interpolation),
            ("motion", self.motion, self.motion.interpolation),
            ("color", self.color, "linear"),
        ]
        parts += [(f"dream.objective.{i}", t, self.dream.interpolation) for i, t in enumerate(self.dream.objective or [])]
        parts += [("video", self.video, "linear")] if self.video else []
        found = []
        for prefix, part, interpolation in parts:
            for name, info in type(part).model_fields.items():
                value = getattr(part, name)
                for index, bounds in field_bounds(info.annotation, info.metadata):
                    path, spec = (f"{prefix}.{name}", value) if index is None else (f"{prefix}.{name}.{index}", value[index])
                    found.append(ScheduleField(path, spec, interpolation, bounds))
        return found

    def output_dir(self) -> Path:
        return Path(self.output.dir) if self.output.dir else Path("renders") / self.name

    def to_yaml(self, relative_to: Path | None = None) -> str:
        """The recipe as YAML; with ``relative_to``, its paths relative to that folder (where it is written)."""
        config = self if relative_to is None else rebase(self.model_copy(deep=True), relative(relative_to))
        return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

    def fingerprint(self) -> dict[str, Any]:
        """The settings a resumed render must share with the one it continues (``resume.FIXED``)."""
        return fingerprint(self)


def _merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` laid over it, mappings merged key by key."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out



def json_schema() -> dict:
    return Config.model_json_schema()