"""The converted recipe checked the way zoomdream will check it, before anything is written.

``zoomdream check`` validates a recipe when it is loaded, and the renderer checks every frame of a
formula; a conversion that would fail either must not be written with exit 0. So the recipe is
loaded here, every schedule that came from Deforum is evaluated at every frame against its field's
range, and a failure is told in the Deforum setting's terms, which is what the user wrote:
``zoom: "0: (0)" gives a zoom of 0 at frame 0; zoomdream needs a zoom above 0.1``.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..config import ConfigError, load_config
from ..schedules.keyframes import Clock, Schedule, ScheduleError
from .camera import Origins
from .errors import DeforumError, shown

_LABELS = {
    "motion.zoom": "zoom", "motion.rotate": "rotation", "motion.pan_x": "horizontal pan",
    "motion.pan_y": "vertical pan", "motion.tilt_x": "tilt", "motion.tilt_y": "tilt",
    "motion.center.0": "centre", "motion.center.1": "centre", "dream.noise": "noise",
}  # fmt: skip


def check_recipe(config: dict[str, Any], origins: Origins) -> None:
    """Raise one DeforumError line naming the Deforum key unless zoomdream accepts ``config``
    and every schedule from Deforum stays in its range at every frame."""
    bare = {key: value for key, value in config.items() if key not in ("motion", "dream")}
    fields = {field.path: field for field in _load(bare, origins).schedules()}
    frames = int(config["frames"])
    clock, t = Clock(float(config["fps"]), frames, {}), np.arange(frames, dtype=np.float64)
    for path, (key, value) in origins.items():
        if path not in fields:
            continue
        field = fields[path]
        try:
            values = Schedule.parse(_get(config, path), field.interpolation).values(t, clock)
        except ScheduleError as error:
            raise DeforumError(f"{key}: {shown(value)} cannot be carried: {error}") from None
        if field.bounds.integer:
            values = np.round(values)
        problem = field.bounds.first_problem(values)
        if problem:
            frame = problem[0]
            label = _LABELS.get(path, path)
            raise DeforumError(f"{key}: {shown(value)} gives a {label} of {values[frame]:.6g} at frame {frame}; "
                               f"zoomdream needs {_need(field.bounds, float(values[frame]), label)}")
    _load(config, origins)


def _load(config: dict[str, Any], origins: Origins) -> Any:
    try:
        return load_config(copy.deepcopy(config))
    except ConfigError as error:
        raise DeforumError(_blame(str(error), origins)) from None


def _need(bounds: Any, value: float, label: str) -> str:
    """What the field takes, in words: "a zoom above 0.1"."""
    if not math.isfinite(value):
        return f"a finite {label}"
    if bounds.gt is not None and value <= bounds.gt:
        return f"a {label} above {bounds.gt:g}"
    if bounds.ge is not None and value < bounds.ge:
        return f"a {label} of at least {bounds.ge:g}"
    return f"a {label} of at most {bounds.le:g}"


def _blame(message: str, origins: Origins) -> str:
    """A config error as the Deforum setting that caused it."""
    for path in sorted(origins, key=len, reverse=True):
        if message.startswith((f"{path}:", f"{path}.")):
            key, value = origins[path]
            return f"{key}: {shown(value)} cannot be carried: {message[len(path) + 1:].strip(' :')}"
    return f"the converted recipe is not one zoomdream accepts ({message}); please report it with this file"


def _get(config: dict[str, Any], path: str) -> Any:
    """``motion.center.0`` of a recipe mapping."""
    value: Any = config
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value
