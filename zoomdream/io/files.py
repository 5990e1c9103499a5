"""Reading a text file the user named (a recipe, a Deforum settings file), with every way it can
fail as one line that names the file and says what to give instead; and reading the JSON records
zoomdream itself writes, which may be missing or torn while a render is still going."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_text(path: Path, error: type[Exception], hint: str) -> str:
    """The UTF-8 text in ``path``, or ``error`` whose message is one line ending in ``hint``."""
    if path.exists() and not path.is_dir() and not path.is_file():
        raise error(f"{path}: is not a regular file; {hint}")
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise error(f"{path}: not found; {hint}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder; {hint}") from None
    except UnicodeDecodeError:
        raise error(f"{path}: is not UTF-8 text; {hint}") from None
    except OSError as problem:
        raise error(f"{path}: cannot read ({problem.strerror}); {hint}") from None


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object a render wrote to ``path`` (render.json, look.json, progress), or {} while it
    is missing, half written or not an object: a listing shows what it can, never fails on it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
