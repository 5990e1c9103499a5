"""What a render tells its front-ends as it goes: typed events, and the bus that delivers them.

Any number of subscribers (the CLI's progress bar, a web page's live view, a sweep's table)
receive the same events; one that raises is dropped with a ``Notice`` to the others, so a broken
live view never corrupts a render.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Union

import numpy as np


@dataclass(frozen=True)
class Started:
    """The render is about to make its first frame (``done`` frames were made before a resume)."""

    name: str
    folder: Path
    total: int
    done: int
    device: str
    size: tuple[int, int]


@dataclass(frozen=True)
class Frames:
    """Output frames ``first .. first + count - 1`` are made (and queued for the writer).

    ``previews`` holds the newest frame of each lane as a small uint8 RGB array (H, W, 3) for a
    live view; ``fps`` and ``eta`` (seconds) are measured over this session's frames.
    """

    first: int
    count: int
    done: int
    total: int
    fps: float
    eta: float | None
    previews: list[np.ndarray] = field(default_factory=list, repr=False)
    look: dict[str, float | None] = field(default_factory=dict, repr=False)  # the newest figures of the first lane


@dataclass(frozen=True)
class Checkpointed:
    """A checkpoint covering the frames before ``frame`` is on disk."""

    frame: int


@dataclass(frozen=True)
class Notice:
    """A line for the user, such as "no checkpoint yet; rendering from the first frame"."""

    message: str


@dataclass(frozen=True)
class Finished:
    """The render is whole; ``result`` says what it wrote."""

    result: Any  # run.records.RenderResult


Event = Union[Started, Frames, Checkpointed, Notice, Finished]
Subscriber = Callable[[Event], Any]


class Bus:
    """Delivers every event to every subscriber, in order, on the render's thread."""

    def __init__(self, subscribers: Subscriber | Iterable[Subscriber] | None = None):
        if subscribers is None:
            subscribers = []
        elif callable(subscribers):
            subscribers = [subscribers]
        self.subscribers = list(subscribers)

    def __call__(self, event: Event) -> None:
        for subscriber in list(self.subscribers):
            try:
                subscriber(event)
            except Exception as error:  # a subscriber's bug is not the render's
                self.subscribers.remove(subscriber)
                where = traceback.extract_tb(error.__traceback__)[-1]
                self(Notice(f"an event subscriber failed ({type(error).__name__}: {error} at "
                            f"{Path(where.filename).name}:{where.lineno}) and gets no more events"))  # fmt: skip

    @property
    def wants_previews(self) -> bool:
        return bool(self.subscribers)
