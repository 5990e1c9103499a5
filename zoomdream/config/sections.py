"""The recipe's sections as pydantic models, with their bounds, descriptions and resume rules.

Every section rejects unknown keys, so a typo is an error and not a silent default; the
descriptions are the README's config reference and the studio's field help.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, PlainValidator, SerializeAsAny, field_validator, model_validator
from typing_extensions import Annotated

from ..dream.color import MODES as COLOR_MODES
from ..dream.color import SPACES as COLOR_SPACES
from ..dream.objectives import DEFAULT_KIND, KINDS, Term
from ..schedules.field import Sched
from ..schedules.keyframes import shown
from .errors import closest, error_at
from .resume import FIXED

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_SIDE = 8192
MIN_SIDE = 32
MAX_FRAMES = 1_000_000


def parse_seconds(value: Any) -> float:
    """``10``, ``10.5`` or ``'10s'`` as seconds; NaN when it is none of these."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*s?\s*", str(value)[:100])
    return float(match.group(1)) if match else math.nan


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


def _term(value: Any) -> Term:
    """Validate a term by the model its ``kind`` names; unknown kinds and keys name the fix."""
    kinds = KINDS
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
        kind = {"enum": sorted(KINDS), "default": DEFAULT_KIND, "description": Term.model_fields["kind"].description}
        return {
            "type": "object",
            "properties": {"kind": kind},
            "anyOf": [handler(model.__pydantic_core_schema__) for model in KINDS.values()],
        }


ObjectiveTerm = SerializeAsAny[Annotated[Term, PlainValidator(_term), _TermSchema()]]


class Dream(Section):
    objective: Annotated[Optional[list[ObjectiveTerm]], FIXED] = Field(
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
    mode: Annotated[Literal[(*COLOR_MODES, "none")], FIXED] = Field(  # type: ignore[valid-type]
        "mean_std", description="match each channel's mean and spread, its whole histogram, or nothing"
    )
    space: Annotated[Literal[tuple(COLOR_SPACES)], FIXED] = Field(  # type: ignore[valid-type]
        "rgb", description="channels matched: RGB, or CIELAB (lightness apart from hue)"
    )
    reference: Annotated[str, FIXED] = Field(
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


