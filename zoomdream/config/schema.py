"""The YAML recipe as pydantic models: sections, their bounds and the ``Sched`` field type.

The schema is pydantic, so ``zoomdream schema`` and the README reference come from the same
source as validation. Nothing here knows about torch: the renderer turns this into tensors.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal, NamedTuple, Optional, Union, get_args

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainValidator,
    SerializationInfo,
    SerializeAsAny,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)
from typing_extensions import Annotated

from ..codecs import CODECS
from ..color import MODES as COLOR_MODES
from ..color import SPACES as COLOR_SPACES
from ..expressions import SOUND_NAMES
from ..schedule import Bounds, Clock, Schedule, ScheduleError, ScheduleSpec, parse_keyframes, shown
from .errors import ConfigError, closest, error_at, format_error

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_SIDE = 8192
MIN_SIDE = 32
MAX_FRAMES = 1_000_000


_SCHEDULE_JSON = {
    "anyOf": [
        {"type": "number"},
        {"type": "object", "additionalProperties": {"type": "number"}},
        {"type": "string"},
    ]
}


def Sched(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    integer: bool = False,
) -> Any:
    """A numeric field that may also be keyframed or a formula; its ``Bounds`` ride along as metadata
    so ``Config.schedules`` finds it by type and the planner can check every frame of a formula."""
    bounds = Bounds(ge, gt, le, integer)

    def check(value: Any) -> ScheduleSpec:
        try:
            keyframes = parse_keyframes(value)
        except ScheduleError as error:
            raise ValueError(str(error)) from None
        for key in keyframes:
            v = key.value
            if not isinstance(v, float):
                continue
            if integer and v != int(v):
                raise ValueError(f"must be a whole number (got {v:g})")
            problem = bounds.problem(v)
            if problem:
                raise ValueError(f"{problem} (got {v:g})")
        if isinstance(value, dict):
            normal = {_frame_key(k): v for k, v in value.items()}
            if len(normal) != len(value):
                raise ValueError("two keyframes fall on the same frame")
            return normal
        return value

    limits = {k: v for k, v in {"minimum": ge, "exclusiveMinimum": gt, "maximum": le}.items() if v is not None}
    schema = {**_SCHEDULE_JSON, "description": "a number, a keyframed schedule or a formula", **limits}
    return Annotated[ScheduleSpec, bounds, PlainValidator(check), WithJsonSchema(schema)]


class ScheduleField(NamedTuple):
    """One keyframed field of a config, with what is needed to evaluate and check it."""

    path: str
    spec: ScheduleSpec
    interpolation: str
    bounds: Bounds


def _field_bounds(annotation: Any, metadata: list) -> list[tuple[int | None, Bounds]]:
    """(index in a tuple field or None, bounds) for each schedule a field holds, found by its type."""
    own = [m for m in metadata if isinstance(m, Bounds)]
    if own:
        return [(None, own[0])]
    return [
        (i, meta)
        for i, arg in enumerate(get_args(annotation))
        for meta in getattr(arg, "__metadata__", ())
        if isinstance(meta, Bounds)
    ]


def parse_seconds(value: Any) -> float:
    """``10``, ``10.5`` or ``'10s'`` as seconds; NaN when it is none of these."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*s?\s*", str(value)[:100])
    return float(match.group(1)) if match else math.nan


def _frame_key(key: Any) -> Any:
    """Frame keys as numbers whether YAML or a JSON round trip gave them as strings."""
    text = str(key).strip()
    if text.isdigit():
        return int(text)
    return key


class Section(BaseModel):
    """Every section rejects unknown keys, so a typo is an error and not a silent default."""

    model_config = ConfigDict(extra="forbid")


class Noise(Section):
    kind: Literal["uniform", "gaussian"] = Field("uniform", description="noise distribution")
    scale: float = Field(1.0, ge=0.0, le=4.0, description="amplitude around mid grey; 1.0 spans [0, 1]")


class Start(Section):
    noise: Optional[Noise] = Field(None, description="start from seeded noise (the default)")
    image: Optional[str] = Field(None, min_length=1, description="start from this image file (JPEG, PNG, WebP)")
    fit: Literal["cover", "contain", "stretch"] = Field("cover", description="how the image fills `size`")

    @model_validator(mode="after")
    def _one_source(self) -> "Start":
        """Noise unless an image is given. A variant's start is laid over the base's, so the source it
        gives replaces the base's (the other is set to None), and default noise leaves it alone (unset)."""
        if self.noise is not None and self.image is not None:
            raise ValueError("give either noise or image, not both")
        if self.image is not None:
            self.noise = None
        elif self.noise is not None:
            self.image = None
        else:
            self.noise = Noise()
            self.model_fields_set.discard("noise")
        return self


class Model(Section):
    name: str = Field("inception_v3_tf", description="bundled model or a torchvision classification model")
    weights: Optional[str] = Field(None, min_length=1, description="a .pth state dict for the model (torch.load, weights_only)")


DEFAULT_KIND = "activation"


class Term(Section):
    """What every objective term has; its kind (a class in zoomdream.objectives) adds the rest."""

    kind: str = Field(DEFAULT_KIND, description="what the term scores; each kind has its own keys (README: objective kinds)")
    weight: Sched() = Field(1.0, description="weight of this term in the objective")  # type: ignore[valid-type]


def _kinds() -> dict[str, type[Term]]:
    from ..objectives import KINDS  # the kinds subclass Term, so they are looked up when used, not imported above

    return KINDS  # type: ignore[return-value]


def _term(value: Any) -> Term:
    """Validate a term by the model its ``kind`` names; unknown kinds and keys name the fix."""
    kinds = _kinds()
    if isinstance(value, tuple(kinds.values())):
        return value
    kind = value.get("kind", DEFAULT_KIND) if isinstance(value, dict) else DEFAULT_KIND
    if not isinstance(kind, str) or kind not in kinds:
        raise error_at("kind", f"unknown kind {shown(kind)}; use one of {', '.join(sorted(kinds))}", kind)
    model = kinds[kind]
    for key in value if isinstance(value, dict) else ():
        if key not in model.model_fields:
            hint = closest(str(key), list(model.model_fields), f" for kind {kind}")
            raise error_at(key, f"unknown key{hint}", value[key])
    return model.model_validate(value)


class _TermSchema:
    """The JSON Schema of a term: ``kind`` is one of the registered names, and the term any of
    their models (anyOf: a term without ``kind`` would match every kind with the same keys)."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: GetJsonSchemaHandler) -> dict:
        kind = {"enum": sorted(_kinds()), "default": DEFAULT_KIND, "description": Term.model_fields["kind"].description}
        return {
            "type": "object",
            "properties": {"kind": kind},
            "anyOf": [handler(model.__pydantic_core_schema__) for model in _kinds().values()],
        }


ObjectiveTerm = SerializeAsAny[Annotated[Term, PlainValidator(_term), _TermSchema()]]


class Dream(Section):
    objective: Optional[list[ObjectiveTerm]] = Field(
        None, min_length=1, description="weighted sum of terms, each of a kind; default: the model's classic layer"
    )
    steps: Sched(ge=0, le=1000, integer=True) = Field(  # type: ignore[valid-type]
        3, description="ascent steps per octave per dreamed frame; 0 previews motion only (no network)"
    )
    step_size: Sched(gt=0, le=1) = Field(0.012, description="step length, as a fraction of the [0, 1] range")  # type: ignore[valid-type]
    octaves: Sched(ge=1, le=8, integer=True) = Field(2, description="image scales dreamed, smallest first")  # type: ignore[valid-type]
    octave_scale: Sched(gt=1, le=4) = Field(1.4, description="size ratio between octaves")  # type: ignore[valid-type]
    jitter: Sched(ge=0, le=256, integer=True) = Field(16, description="random roll in pixels before each step")  # type: ignore[valid-type]
    tile: Sched(ge=64, le=MAX_SIDE, integer=True) = Field(  # type: ignore[valid-type]
        768, description="frames larger than this are dreamed in tiles of this size, batched"
    )
    calm: Sched(ge=0, le=0.95) = Field(  # type: ignore[valid-type]
        0.7, description="momentum of the dream's change along the camera: 0 boils most, 0.7 halves the boil"
    )
    noise: Sched(ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.0, description="seeded noise (std) added before each dreamed frame, so a long zoom keeps finding new detail"
    )
    interpolation: Literal["linear", "cubic", "ease"] = Field("linear", description="between keyframes")


class Motion(Section):
    zoom: Sched(gt=0.1, le=10) = Field(1.02, description="scale per frame (or per second); > 1 zooms in")  # type: ignore[valid-type]
    rotate: Sched(ge=-360, le=360) = Field(0.0, description="degrees per frame (or per second), counter-clockwise")  # type: ignore[valid-type]
    pan_x: Sched(ge=-4096, le=4096) = Field(0.0, description="pixels per frame (or per second); > 0 moves right")  # type: ignore[valid-type]
    pan_y: Sched(ge=-4096, le=4096) = Field(0.0, description="pixels per frame (or per second); > 0 moves down")  # type: ignore[valid-type]
    tilt_x: Sched(ge=-45, le=45) = Field(  # type: ignore[valid-type]
        0.0, description="degrees per frame (or per second) the camera turns up (> 0) or down: perspective"
    )
    tilt_y: Sched(ge=-45, le=45) = Field(  # type: ignore[valid-type]
        0.0, description="degrees per frame (or per second) the camera turns right (> 0) or left: perspective"
    )
    center: tuple[Sched(ge=0, le=1), Sched(ge=0, le=1)] = Field(  # type: ignore[valid-type]
        (0.5, 0.5), description="zoom and rotation centre, as fractions of width and height"
    )
    per: Literal["frame", "second"] = Field(
        "frame", description="whether zoom/rotate/pan/tilt are rates per frame or per second"
    )
    sharpen: Sched(ge=0, le=4) = Field(0.15, description="unsharp-mask amount against resampling blur")  # type: ignore[valid-type]
    dream_every: int = Field(
        1, ge=1, le=64, description="dream only every k-th frame; the frames between are warped and cross-faded"
    )
    interpolation: Literal["linear", "cubic", "ease"] = Field("linear", description="between keyframes")


COLOR_REFERENCES = ("first_frame", "rolling")


class Color(Section):
    mode: Literal[(*COLOR_MODES, "none")] = Field(  # type: ignore[valid-type]
        "mean_std", description="match each channel's mean and spread, its whole histogram, or nothing"
    )
    space: Literal[tuple(COLOR_SPACES)] = Field(  # type: ignore[valid-type]
        "rgb", description="channels matched: RGB, or CIELAB (lightness apart from hue)"
    )
    reference: str = Field(
        "first_frame", min_length=1, description="first_frame, rolling (recent frames), or an image path"
    )
    strength: Sched(ge=0, le=1) = Field(0.5, description="how far each frame is pulled to the reference")  # type: ignore[valid-type]
    memory: Union[float, str] = Field(
        "8s", validate_default=True, description="reference: rolling follows this many seconds of frames, 8 or '8s'"
    )

    @model_validator(mode="before")
    @classmethod
    def _old_match(cls, data: Any) -> Any:
        """``{match: none | first_frame | path}`` (before 0.2) as the keys that replaced it."""
        if not isinstance(data, dict) or "match" not in data:
            return data
        data = dict(data)
        match = data.pop("match")
        if match == "none":
            if data.setdefault("mode", "none") != "none":
                raise ValueError(f"match: none contradicts mode: {shown(data['mode'])}; write only color.mode")
        elif "reference" in data:
            raise ValueError(f"match is the old name of reference; write only color.reference: {shown(match)}")
        else:
            data["reference"] = match
        return data

    @field_validator("memory")
    @classmethod
    def _memory_seconds(cls, value: float | str) -> float:
        seconds = parse_seconds(value)
        if not 0 < seconds <= MAX_FRAMES:
            raise ValueError(f"must be a positive time like 8 or '8s' (got {shown(value)})")
        return seconds


class Audio(Section):
    file: str = Field(
        ..., min_length=1, description="sound file (mp3, wav, flac, aac, ogg): muxed into the video; its features drive formulas"
    )
    offset: Union[float, str] = Field(0.0, description="start this far into the file: seconds or '1.5s'")
    decay: float = Field(0.25, gt=0, le=10, description="seconds the `beat` pulse takes to fall from 1 to 0")

    @field_validator("offset")
    @classmethod
    def _offset_seconds(cls, value: float | str) -> float:
        seconds = parse_seconds(value)
        if not 0 <= seconds <= MAX_FRAMES:
            raise ValueError(f"must be seconds ≥ 0 like 1.5 or '1.5s' (got {shown(value)})")
        return seconds


class Video(Section):
    codec: Literal[tuple(CODECS)] = Field(  # type: ignore[valid-type]
        "libx264",
        description="libx264 plays everywhere, libx265 and libsvtav1 are smaller (.mp4); "
        "prores (4444 10-bit) and dnxhr (HQX 10-bit) are .mov intermediates for editing",
    )
    crf: int = Field(18, ge=0, le=51, description="quality of libx264/libx265/libsvtav1: lower is better and bigger")


class Frames(Section):
    format: Literal["png", "exr", "tiff"] = Field(
        "png", description="png or tiff (8/16-bit sRGB), exr (half-float scene-linear, Rec.709 primaries)"
    )
    bit_depth: Literal[8, 16] = Field(8, description="png and tiff: 16 bits keep headroom for grading")
    start_number: int = Field(0, ge=0, le=10_000_000, description="number of the first file, e.g. 1 or 1001")


class Output(Section):
    dir: Optional[str] = Field(None, min_length=1, description="output folder (default: renders/<name>)")
    video: Optional[Video] = Field(default_factory=Video, description="video settings; null to skip")
    frames: Optional[Frames] = Field(None, description="image sequence settings; null to skip")
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
    seed: int = Field(0, ge=0, le=2**63 - 1, description="seeds noise and jitter")
    size: tuple[int, int] = Field((960, 540), description="width, height in pixels")
    scale: float = Field(
        1.0, gt=0, le=1, description="render at this fraction of `size` (a proxy or a preview); the camera moves the same"
    )
    frames: Optional[int] = Field(None, ge=1, le=MAX_FRAMES, description="frame count (default 120)")
    duration: Optional[Union[float, str]] = Field(
        None, description="length instead of frames: seconds, '10s', or 'audio' (the track after audio.offset)"
    )
    fps: float = Field(30.0, ge=1, le=240, description="frames per second of the video")
    device: str = Field(
        "auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$", description="auto, cpu, cuda, cuda:N or mps"
    )
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="auto: fp16 on CUDA, fp32 elsewhere"
    )
    compile: bool = Field(False, description="torch.compile the network: faster frames after a slow start (CUDA)")
    start: Start = Field(default_factory=Start, description="where the first frame comes from")
    model: Model = Field(default_factory=Model, description="the network that dreams")
    dream: Dream = Field(default_factory=Dream, description="gradient ascent settings")
    motion: Motion = Field(default_factory=Motion, description="camera path")
    color: Color = Field(default_factory=Color, description="colour stabilisation")
    output: Output = Field(default_factory=Output, description="what is written and where")
    audio: Optional[Audio] = Field(None, description="a sound track: muxed into the video, and its features drive formulas")
    variants: list[Variant] = Field(
        default_factory=list,
        description="lanes rendered side by side in one batch, each {name, seed, start, dream: {objective}, motion, color}",
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
        sound = {name: np.zeros(1) for name in SOUND_NAMES} if self.audio else {}
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
        found = []
        for prefix, part, interpolation in parts:
            for name, info in type(part).model_fields.items():
                value = getattr(part, name)
                for index, bounds in _field_bounds(info.annotation, info.metadata):
                    path, spec = (f"{prefix}.{name}", value) if index is None else (f"{prefix}.{name}.{index}", value[index])
                    found.append(ScheduleField(path, spec, interpolation, bounds))
        return found

    def output_dir(self) -> Path:
        return Path(self.output.dir) if self.output.dir else Path("renders") / self.name

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def _merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` laid over it, mappings merged key by key."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out



def json_schema() -> dict:
    return Config.model_json_schema()