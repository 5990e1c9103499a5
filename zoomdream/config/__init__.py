"""The YAML recipe: ``schema`` (the pydantic models), ``loading`` (files, ``--set``, paths) and
``errors`` (one-line messages). Import from here; the modules are an implementation detail.

Import graph (a tree): errors <- schema <- loading <- this package.
"""

from .errors import ConfigError
from .loading import load_config, read_config_file
from .schema import (
    COLOR_REFERENCES,
    DEFAULT_KIND,
    MAX_FRAMES,
    MAX_SIDE,
    MIN_SIDE,
    NAME_PATTERN,
    Audio,
    Color,
    Config,
    Dream,
    Frames,
    Model,
    Motion,
    Noise,
    Output,
    ScheduleField,
    Section,
    Sched,
    Start,
    Term,
    Video,
    json_schema,
)

__all__ = [
    "COLOR_REFERENCES",
    "DEFAULT_KIND",
    "MAX_FRAMES",
    "MAX_SIDE",
    "MIN_SIDE",
    "NAME_PATTERN",
    "Audio",
    "Color",
    "Config",
    "ConfigError",
    "Dream",
    "Frames",
    "Model",
    "Motion",
    "Noise",
    "Output",
    "ScheduleField",
    "Sched",
    "Section",
    "Start",
    "Term",
    "Video",
    "json_schema",
    "load_config",
    "read_config_file",
]
