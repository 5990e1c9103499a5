"""What may change when a render is resumed, declared on the fields themselves.

A field marked ``FIXED`` (``size: Annotated[tuple[int, int], FIXED]``) must be the same to
continue a render: the frames already made depend on it. ``GROWS`` may be raised (``frames``:
a render can be made longer before it finishes). Every other field is free: a schedule, the
step size, the checkpoint cadence may change between sessions. The fingerprint a checkpoint
and a finished render's record keep is derived from these marks, so a new field's rule is
decided where the field is declared.
"""

from __future__ import annotations

import enum
from typing import Any, get_args

from pydantic import BaseModel


class Resume(enum.Enum):
    FIXED = "fixed"
    GROWS = "grows"


FIXED, GROWS = Resume.FIXED, Resume.GROWS


def _section(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((found for arg in get_args(annotation) if (found := _section(arg))), None)


def _marks(model: type[BaseModel], rule: Resume) -> bool:
    """Whether ``model`` or a section inside it has a field marked ``rule``."""
    for info in model.model_fields.values():
        inner = _section(info.annotation)
        if rule in info.metadata or (inner is not None and inner is not model and _marks(inner, rule)):
            return True
    return False


def fields_marked(model: BaseModel, rule: Resume, prefix: str = "") -> dict[str, Any]:
    """``dotted.key -> value`` (as JSON) of every field of ``model`` marked ``rule``, sections walked."""
    found: dict[str, Any] = {}
    for name, info in type(model).model_fields.items():
        value, path = getattr(model, name), f"{prefix}{name}"
        inner = _section(info.annotation)
        if rule in info.metadata:
            found[path] = value.model_dump(mode="json") if isinstance(value, BaseModel) else _json(value)
        elif isinstance(value, BaseModel):
            found.update(fields_marked(value, rule, f"{path}."))
        elif value is None and inner is not None and _marks(inner, rule):
            found[path] = None
    return found


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def fingerprint(config: BaseModel) -> dict[str, Any]:
    """The settings a resumed render must share with the one it continues."""
    return fields_marked(config, FIXED)


def differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``key was X, now Y`` for every fixed setting that changed."""
    keys = dict.fromkeys([*saved, *current])
    return [f"{key} was {saved.get(key)!r}, now {current.get(key)!r}" for key in keys if saved.get(key) != current.get(key)]
