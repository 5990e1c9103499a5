"""zoomdream: DeepDream infinite-zoom videos from a YAML recipe."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from .config import Config
    from .render import RenderResult

__version__ = "0.1.0"


def render(config: "Config | str | Path", **overrides: Any) -> "RenderResult":
    """Render a config object or YAML path; overrides nest with ``__`` (``dream__steps=0``).

    Imported on first use so ``import zoomdream`` stays light for tools that only read configs.
    """
    from .render import render as run

    return run(config, **overrides)


def load_config(source: "str | Path | dict", overrides: Sequence[str] = (), **values: Any) -> "Config":
    """Load and validate a recipe; ``overrides`` are ``--set`` strings like ``dream.steps=4``."""
    from .config import load_config as load

    return load(source, overrides, **values)
