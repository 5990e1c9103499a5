"""The one error every part of the Deforum conversion raises, and how values are quoted in it.

Its own module so that the readers, the camera and the check can all raise it without importing
each other; the CLI and the studio report it like any other ``ZoomdreamError``.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ZoomdreamError


class DeforumError(ZoomdreamError, ValueError):
    """A settings file that cannot be converted; the message names the file or key and the fix."""


def shown(value: Any, limit: int = 70) -> str:
    """A setting's value as it stands in the JSON file, cut to fit on one line."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
