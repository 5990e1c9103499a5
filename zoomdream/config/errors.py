"""One-line config errors: the error class, pydantic errors as ``key.path: problem; fix`` lines,
and "did you mean" suggestions for unknown keys.

Nothing here imports the schema: the model to suggest keys from is passed in, so the schema can
use these helpers and the import graph stays a tree.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..errors import ZoomdreamError
from ..schedules.keyframes import shown


class ConfigError(ZoomdreamError, ValueError):
    """A config the user must fix; the message is one line naming the key and the fix."""


def error_at(key: Any, message: str, value: Any) -> ValidationError:
    """A validation error at ``key`` inside the value being validated, with this exact message."""
    problem = PydanticCustomError("value_error", message)
    return ValidationError.from_exception_data("config", [InitErrorDetails(type=problem, loc=(key,), input=value)])


def closest(key: str, keys: list[str], where: str = "") -> str:
    """'; did you mean ...?' for a near miss, else the list of valid keys."""
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; valid keys{where}: {', '.join(keys)}"


def _unwrap_model(annotation: Any) -> Any:
    """The BaseModel inside Optional[...] / list[...], to walk a key path through the schema."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _suggest(loc: tuple, model: Any) -> str:
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model else None
        model = _unwrap_model(field.annotation) if field else None
    if model is None:
        return ""
    return closest(str(loc[-1]), list(model.model_fields))


def format_error(error: dict, model: type[BaseModel]) -> str:
    """One pydantic error (validated against ``model``) as a line that names the key and the fix."""
    loc = tuple(error["loc"])
    path = ".".join(str(p) for p in loc)
    if error["type"] == "extra_forbidden":
        return f"{path}: unknown key{_suggest(loc, model)}"
    message = str(error["msg"])
    message = re.sub(r"^(Value error|Assertion failed), ", "", message)
    message = message[:1].lower() + message[1:]
    if error["type"] not in ("value_error", "missing") and "(got" not in message:
        message += f" (got {shown(error.get('input'))})"
    if not path or message.startswith(f"{path}.") or message.startswith(f"{path}:"):
        return message.replace("\n", " ")
    return f"{path}: {message}".replace("\n", " ")
