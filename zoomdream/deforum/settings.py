"""Reading a Deforum ``*_settings.txt``: JSON text, an animation's and not a still image's, and
numbers the way the many Deforum versions saved them.

Its own module because what counts as a Deforum file is a judgement on the whole file, made once,
before any setting is converted; a still's settings get their own refusal, since "not a Deforum
settings file" would send the user looking for another file that does not exist.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ..io.files import read_text
from .errors import DeforumError, shown

SETTINGS_HINT = "give the *_settings.txt (JSON text) Deforum saved next to its frames"
ONLY_ANIMATIONS = "only Deforum animations (2D, 3D, Video Input, Interpolation) convert to a zoomdream recipe"
STILL_MODES = ("None",)  # Deforum's animation_mode for rendering single pictures
# What Deforum saves for every picture, animated or not; with no animation keys it was a still.
_PICTURE_KEYS = ("prompts", "cond_prompts", "prompt", "sampler", "steps", "scale", "cfg_scale")


def read_settings(path: Path) -> dict[str, Any]:
    """The settings as Deforum saved them, or one line saying why the file cannot be used."""
    text = read_text(path, DeforumError, SETTINGS_HINT)
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as error:
        raise DeforumError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno}); "
            "Deforum settings files are JSON"
        ) from None
    if isinstance(settings, dict) and not {"animation_mode", "max_frames"} & settings.keys() and is_still(settings):
        raise DeforumError(
            f"{path}: these are a still image's settings (Deforum saved them for single pictures: "
            f"a seed and a size but no animation_mode or max_frames); {ONLY_ANIMATIONS}"
        )
    if not isinstance(settings, dict) or not {"animation_mode", "max_frames"} <= settings.keys():
        raise DeforumError(
            f"{path}: not a Deforum settings file (no animation_mode and max_frames); {SETTINGS_HINT}"
        )
    return settings


def is_still(settings: dict[str, Any]) -> bool:
    """Deforum's settings for pictures without animation: a seed, a size and what made the picture."""
    sized = {"W", "H"} <= settings.keys() or {"width", "height"} <= settings.keys()
    return sized and "seed" in settings and any(key in settings for key in _PICTURE_KEYS)


def refuse_still(mode: Any) -> None:
    """Deforum's animation_mode "None" renders pictures, not an animation."""
    if mode in STILL_MODES:
        raise DeforumError(
            f"animation_mode: {shown(mode)} means these are a still image's settings (Deforum renders "
            f"single pictures in that mode); {ONLY_ANIMATIONS}"
        )


def number(key: str, value: Any) -> float:
    """A number, also from the strings some Deforum versions save (``"diffusion_cadence": "2"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, (float, str)):
        raise DeforumError(f"{key}: expected a number (got {shown(value)})")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise DeforumError(f"{key}: expected a number (got {shown(value)})") from None
    if not math.isfinite(result):
        raise DeforumError(f"{key}: expected a finite number (got {shown(value)})")
    return int(result) if result == int(result) else result


def whole(key: str, value: Any, minimum: int) -> int:
    """A whole number of at least ``minimum``."""
    result = number(key, value)
    if result != int(result) or result < minimum:
        raise DeforumError(f"{key}: expected a whole number ≥ {minimum} (got {shown(value)})")
    return int(result)
