"""Posted recipes: YAML or JSON text to a checked ``Config`` whose files lie inside the project and
whose output goes into the studio's renders folder; errors as one line, the key and its line.

A recipe from a request is treated like one from a stranger: its file paths (start image, colour
reference, sound, weights, guide images) are resolved against the project folder and refused
when they lead outside the allowed folders, and ``output.dir`` is always the renders folder's
``<name>``, whatever the recipe says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from ...api import check
from ...config import Config, ConfigError, json_schema
from ...config.loading import _parse_yaml, validate
from ...config.paths import path_fields, relative
from ...config.reference import _default, _resolve, _type
from ...errors import ZoomdreamError
from .security import inside

KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*):\s")
ORIGIN = "recipe"
MAX_RECIPE_BYTES = 1 << 20


def parse(text: str, content_type: str = "") -> dict:
    """The posted body as a mapping: JSON when it says so, else YAML (which also reads JSON)."""
    if len(text.encode()) > MAX_RECIPE_BYTES:
        raise ConfigError(f"{ORIGIN}: larger than {MAX_RECIPE_BYTES >> 10} KiB; a recipe is a few lines of settings")
    if "json" in content_type:
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise ConfigError(f"{ORIGIN}: cannot parse JSON ({error})") from None
    else:
        raw = _parse_yaml(text, ORIGIN)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{ORIGIN}: expected a mapping of settings like 'frames: 60' at the top level")
    return raw


def prepare(raw: dict, renders: Path, project: Path, allowed: list[Path]) -> Config:
    """The recipe checked like the CLI's, its paths made absolute inside ``allowed`` and its
    output forced to ``renders/<name>``."""
    config = validate(dict(raw), ORIGIN)  # no file is read yet: paths are checked first
    for section, key in path_fields(config):
        value = getattr(section, key)
        path = Path(value)
        name = _field_key(config, section, key)
        if value.startswith("~"):
            raise ConfigError(f"{name}: {value}: give the file relative to the project folder {project}")
        resolved = (project / path).resolve()  # an absolute path stays itself; links are followed
        if not inside(resolved, allowed):
            where = " or ".join(str(root) for root in allowed)
            raise ConfigError(f"{name}: {value} leads outside the folders the studio reads ({where}); keep recipe files inside them")
        if not resolved.is_file():
            raise ConfigError(f"{name}: no such file {value} in the project folder {project}")
        setattr(section, key, str(resolved))
    data = config.model_dump(mode="json")
    data.setdefault("output", {})["dir"] = str(renders / config.name)
    return check(data)


def _field_key(config: Config, section: Any, key: str) -> str:
    """The dotted key of a path field, for the error line (``start.image``, ``variants.1.start.image``)."""
    for prefix, part in [("", config), *((f"variants.{i}.", v) for i, v in enumerate(config.variants))]:
        for name in type(part).model_fields:
            value = getattr(part, name, None)
            if value is section:
                return f"{prefix}{name}.{key}"
            terms = getattr(value, "objective", None) if name == "dream" else None
            for i, term in enumerate(terms or []):
                if term is section:
                    return f"{prefix}dream.objective.{i}.{key}"
    return key


def error_body(error: ZoomdreamError, text: str = "") -> dict[str, Any]:
    """``{"error": the line, "key": "motion.zom", "line": 3}`` (key and line when known)."""
    message = str(error)
    match = KEY.match(message) if isinstance(error, ConfigError) else None
    key = match.group(1) if match and match.group(1) != ORIGIN else None
    line = key_line(text, key) if key and text else None
    found = re.match(rf"^{ORIGIN} line (\d+):", message)
    if found:
        line = int(found.group(1))
    return {"error": message, "key": key, "line": line}


def key_line(text: str, key: str) -> int | None:
    """The 1-based line of ``key`` (dotted) in the YAML ``text``, or of the deepest part found."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in key.split("."):
        child = None
        if isinstance(node, yaml.MappingNode):
            for name, value in node.value:
                if str(name.value) == part:
                    line, child = name.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def summary(config: Config, renders: Path) -> str:
    """What ``zoomdream check`` says of a good recipe."""
    width, height = config.size
    return (f"ok — {config.frame_count} frames at {width}x{height}, {config.fps:g} fps, model {config.model.name}, "
            f"output {renders.name}/{config.name}")  # fmt: skip


def editable(config: Config, project: Path) -> str:
    """A render's recipe as YAML to edit and post again: paths relative to the project, no output.dir."""
    copy = config.model_copy(deep=True)
    for section, key in list(path_fields(copy)):
        setattr(section, key, relative(project)(getattr(section, key)))
    full = copy.model_dump(mode="json")
    full.get("output", {}).pop("dir", None)
    short = copy.model_dump(mode="json", exclude_defaults=True)  # only what differs from the defaults
    short.setdefault("output", {}).pop("dir", None)
    short = {k: v for k, v in short.items() if v != {}}
    try:
        same = validate(dict(short)).model_dump(mode="json") == validate(dict(full)).model_dump(mode="json")
    except ZoomdreamError:
        same = False
    return yaml.dump({"name": copy.name, **short} if same else full, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    """Short lists of numbers and words on one line, as people write ``size: [960, 540]``."""


def _flow_lists(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flat = all(isinstance(item, (int, float, str, bool)) or item is None for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _flow_lists)


def reference() -> list[dict[str, str]]:
    """The schema as one row per dotted key: the editor's field reference."""
    schema = json_schema()
    defs = schema.get("$defs", {})
    rows: list[dict[str, str]] = []

    def walk(node: dict, prefix: str, seen: list) -> None:
        for name, field in node.get("properties", {}).items():
            key = f"{prefix}{name}"
            section = _resolve(field, defs)
            is_list = "array" in {field.get("type"), *(o.get("type") for o in field.get("anyOf", []))}
            kind = ("list of sections" if is_list else "section") if section else _type(field)
            rows.append({"key": key, "type": kind, "default": _default(field).strip("`"), "description": field.get("description", "")})
            if section and section not in seen:
                walk(section, f"{key}.0." if is_list else f"{key}.", [*seen, section])

    walk(schema, "", [])
    return rows
