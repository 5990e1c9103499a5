"""Reading a text file the user named (a recipe, a Deforum settings file), with every way it can
fail as one line that names the file and says what to give instead."""

from __future__ import annotations

from pathlib import Path


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
