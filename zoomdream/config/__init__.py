"""The YAML recipe: ``sections`` and ``output`` (the pydantic models), ``schema`` (the whole
``Config``), ``resume`` (what may change on --resume, declared on the fields), ``loading``
(files, ``--set``, paths), ``errors`` (one-line messages) and ``reference`` (the README table).
Import from here. Importing it imports no torch, so a recipe is checked in a blink.
"""

from .errors import ConfigError
from .loading import load_config, read_config_file
from .output import Frames, Output, Video
from .resume import FIXED, GROWS, differences, fingerprint
from .schema import Config, Variant, json_schema
from .sections import (
    COLOR_REFERENCES, DEFAULT_KIND, MAX_FRAMES, MAX_SIDE, MIN_SIDE, NAME_PATTERN, Audio, Color, Dream, Model, Motion, Noise,
    Section, Start, parse_seconds,
)  # fmt: skip
from ..schedules.field import ScheduleField, Sched
from ..dream.objectives import Term

__all__ = [
    "COLOR_REFERENCES", "DEFAULT_KIND", "FIXED", "GROWS", "MAX_FRAMES", "MAX_SIDE", "MIN_SIDE", "NAME_PATTERN", "Audio", "Color",
    "Config", "ConfigError", "Dream", "Frames", "Model", "Motion", "Noise", "Output", "ScheduleField", "Sched", "Section",
    "Start", "Term", "Variant", "Video", "differences", "fingerprint", "json_schema", "load_config", "parse_seconds",
    "read_config_file",
]  # fmt: skip
