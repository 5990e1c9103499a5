"""zoomdream: DeepDream infinite-zoom videos from a YAML recipe.

    import threading, zoomdream
    stop = threading.Event()
    result = zoomdream.render("configs/quickstart.yaml", events=print, stop=stop, frames=24)
    print(result.video)

``render`` and ``check`` here, and ``look`` beside them in ``zoomdream.api``, are the one entry of every front-end: the
CLI, the studio and the sweep runner call nothing else. Names are imported when first used, so
``import zoomdream.config`` stays light (no torch).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.3.0"

_NAMES = {
    "render": "api", "check": "api", "api": None, "Interrupted": "api", "RenderResult": "run.records",
    "Config": "config", "ConfigError": "config", "load_config": "config", "ZoomdreamError": "errors",
    "RenderError": "engine.device", "RenderFolder": "run.folder",
}  # fmt: skip
__all__ = [*_NAMES, "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'zoomdream' has no attribute {name!r}")
    module = _NAMES[name]
    if module is None:
        return importlib.import_module(f".{name}", __name__)
    return getattr(importlib.import_module(f".{module}", __name__), name)
