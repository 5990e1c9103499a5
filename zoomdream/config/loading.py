"""Reading a config: YAML files, ``--set`` overrides, validation into one-line errors, and paths
made relative to the config file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import yaml
from pydantic import ValidationError

from ..io.files import read_text
from ..schedules.keyframes import shown
from ..schedules.sound import SoundError, track_seconds
from .errors import ConfigError, format_error
from .paths import absolute, rebase
from .schema import Config
from . import video as footage


def _parse_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{origin}{where}: cannot parse YAML ({problem}); check indentation and quotes") from None
    except RecursionError:
        raise ConfigError(f"{origin}: cannot parse YAML (nested too deeply)") from None
    except ValueError as error:  # e.g. an integer with thousands of digits
        raise ConfigError(f"{origin}: cannot parse YAML ({shown(str(error))})") from None


def read_config_file(path: str | Path) -> dict:
    """The raw mapping in a YAML file, with one-line errors for every way reading can fail."""
    path = Path(path)
    text = read_text(path, ConfigError, "give a UTF-8 .yaml recipe")
    raw = _parse_yaml(text, str(path))
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings like 'frames: 60' at the top level")
    return raw


def set_dotted(raw: dict, key: str, value: Any) -> None:
    """Set ``a.b.0.c`` in nested dicts/lists, creating mappings on the way."""
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise ConfigError(f"--set {key!r}: key must look like dream.steps")
    node: Any = raw
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(f"--set {key}: {part!r} is not an index of the list at {'.'.join(parts[:i])}")
            index: Any = int(part)
        elif isinstance(node, dict):
            index = part
            if not last and not isinstance(node.get(part), (dict, list)):
                node[part] = {}
        else:
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i])} is not a section")
        if last:
            node[index] = value
        else:
            node = node[index]


def parse_set(item: str) -> tuple[str, Any]:
    """``dream.steps=4`` -> ("dream.steps", 4); the value is read as YAML."""
    key, sep, text = item.partition("=")
    if not sep:
        raise ConfigError(f"--set {item!r}: write it as key.path=value, e.g. --set dream.steps=4")
    return key.strip(), _parse_yaml(text, f"--set {key.strip()}")



def validate(raw: dict, origin: str = "config") -> Config:
    """Validate a raw mapping; the first problem becomes a one-line ConfigError."""
    try:
        config = Config.model_validate(raw)
    except RecursionError:
        raise ConfigError(f"{origin}: settings are nested too deeply") from None
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        raise ConfigError(format_error(first, Config)) from None
    config.lanes()
    return config


def load_config(
    source: str | Path | dict,
    overrides: Sequence[str] = (),
    **values: Any,
) -> Config:
    """Read a YAML file (or a mapping), apply ``--set`` strings and keyword overrides, validate.

    Keyword overrides use ``__`` for nesting: ``load_config(p, dream__steps=0)``.
    """
    if isinstance(source, dict):
        raw, base, origin = dict(source), Path.cwd(), "config"
    else:
        raw, base, origin = read_config_file(source), Path(source).resolve().parent, str(source)
    for item in overrides:
        set_dotted(raw, *parse_set(item))
    for key, value in values.items():
        set_dotted(raw, key.replace("__", "."), value)
    config = rebase(validate(raw, origin), absolute(base))
    if config.duration == "audio":
        config = validate({**config.model_dump(mode="json"), "duration": _audio_seconds(config)}, origin)
    if config.video is not None:
        config = _with_clip(config, origin)
    return config


def _with_clip(config: Config, origin: str) -> Config:
    """``video:``: the clip's rate, length, display size and sound where the recipe leaves them unset."""
    values = footage.resolved(config)
    try:
        return validate({**config.model_dump(mode="json"), **values}, origin)
    except ConfigError as error:
        if "video" not in values:
            raise
        raise ConfigError(f"{error} ({config.video.file} has no sound of its own)") from None


def _audio_seconds(config: Config) -> float:
    """``duration: audio``: the length of the track after its offset."""
    assert config.audio is not None
    try:
        seconds = track_seconds(config.audio.file, config.audio.offset)
    except SoundError as error:
        raise ConfigError(str(error)) from None
    if seconds * config.fps < 1:
        raise ConfigError(f"duration: audio: nothing of {config.audio.file} is left after audio.offset {config.audio.offset:g} s")
    return seconds
