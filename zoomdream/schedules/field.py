"""The field type of every schedule in the recipe: a number, keyframes or a formula, with bounds.

Its ``Bounds`` ride along as metadata, so the config finds every schedule by type and the
planner can check every frame of a formula against them.
"""

from __future__ import annotations

from typing import Any, NamedTuple, get_args

from pydantic import PlainValidator, WithJsonSchema
from typing_extensions import Annotated

from .keyframes import Bounds, ScheduleError, ScheduleSpec, parse_keyframes


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


def field_bounds(annotation: Any, metadata: list) -> list[tuple[int | None, Bounds]]:
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


def _frame_key(key: Any) -> Any:
    """Frame keys as numbers whether YAML or a JSON round trip gave them as strings."""
    text = str(key).strip()
    if text.isdigit():
        return int(text)
    return key
