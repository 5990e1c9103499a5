"""The one exception this package raises, and the "did you mean" hint its messages share."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ...errors import ZoomdreamError


class ModelError(ZoomdreamError):
    """A model, layer or weights file that cannot be used; the message is one line with the fix."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return "; did you mean 'x'?" for the closest choice, or "" when nothing is close."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
