"""The recipe's file paths: relative to the recipe file when read, relative to the render folder
when written there, so a recipe and a render folder both work from any folder and on any
machine that mounts them at another place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

from pydantic import BaseModel

from .sections import COLOR_REFERENCES


def path_fields(config: BaseModel) -> Iterator[tuple[BaseModel, str]]:
    """(section, attribute) of every field of the recipe that holds a file path."""
    for part in (config, *getattr(config, "variants", [])):  # a variant has the same sections, each optional
        if part.start and part.start.image:
            yield part.start, "image"
        if part.color and part.color.reference not in COLOR_REFERENCES:
            yield part.color, "reference"
        for term in (part.dream.objective if part.dream else None) or []:
            for key in getattr(term, "paths", ()):
                yield term, key
    if config.model.weights:
        yield config.model, "weights"
    if config.audio:
        yield config.audio, "file"
    if getattr(config, "video", None):
        yield config.video, "file"


def rebase(config: BaseModel, change: Callable[[str], str]) -> BaseModel:
    """``config`` with every path passed through ``change`` (on the config itself)."""
    for section, key in list(path_fields(config)):
        setattr(section, key, change(getattr(section, key)))
    return config


def absolute(base: Path) -> Callable[[str], str]:
    def resolve(value: str) -> str:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    return resolve


def relative(folder: Path) -> Callable[[str], str]:
    def relate(value: str) -> str:
        return os.path.relpath(Path(value).resolve(), Path(folder).resolve())

    return relate
