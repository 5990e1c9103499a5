"""What an objective kind is: a config model (torch-free, so a recipe validates without torch)
whose ``build`` makes the ``Objective`` the ascent maximises.

A kind is one subclass of ``Kind`` with a ``kind: Literal[...]`` name, its fields, and a
``build`` that checks the term against the network and returns an ``Objective``; the
``register`` decorator puts it in ``KINDS``, which the config validates terms through. Kinds
import torch inside the functions that compute, never at the top.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ...errors import ZoomdreamError
from ...schedules.field import Sched

if TYPE_CHECKING:
    import torch

__all__ = [
    "DEFAULT_KIND", "KINDS", "Activations", "Context", "Kind", "LayerKind", "Objective", "ObjectiveError", "Summary",
    "Term", "View", "register",
]  # fmt: skip


class ObjectiveError(ZoomdreamError, ValueError):
    """A term that cannot be built for this network; one line starting with the term's key."""


Activations = Mapping[str, "torch.Tensor"]
Summary = Callable[[Activations], "torch.Tensor"]


@dataclass(frozen=True)
class View:
    """What an objective scores: some tiles of one lane (all of them unless the lane spans batches).

    ``image`` is the tiles' pixels in [0, 1] as the network gets them (jittered), with gradient,
    so an objective may read the input as well as the activations. ``totals`` holds every
    lane's summaries (see ``Objective``) summed over all its tiles, detached: what an objective
    that compares lanes compares against.
    """

    activations: Activations
    image: torch.Tensor
    lane: int = 0
    tiles: int = 1
    totals: Mapping[str, torch.Tensor] = field(default_factory=dict)


class Objective:
    """What to maximise; composes like lucent's objectives (``a + 0.5 * b``).

    ``fn`` returns scores that are summed into the loss (one per tile, or one per lane).
    ``summaries`` name per-tile statistics (e.g. a Gram matrix) that ``gradient`` sums over
    each lane's tiles in the same step and hands to every lane in ``View.totals``.
    """

    def __init__(
        self, fn: Callable[[View], torch.Tensor], layers: Sequence[str], summaries: Mapping[str, Summary] | None = None
    ):
        self.fn = fn
        self.layers = tuple(dict.fromkeys(layers))
        self.summaries = dict(summaries or {})

    def __call__(self, view: View) -> torch.Tensor:
        return self.fn(view)

    def __add__(self, other: "Objective") -> "Objective":
        return Objective(lambda v: self(v).sum() + other(v).sum(), self.layers + other.layers, {**self.summaries, **other.summaries})

    def __mul__(self, weight: float) -> "Objective":
        return Objective(lambda v: self(v) * weight, self.layers, self.summaries)

    __rmul__ = __mul__



DEFAULT_KIND = "activation"


class Term(BaseModel):
    """What every objective term has; its kind (a class in zoomdream.objectives) adds the rest."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(DEFAULT_KIND, description="what the term scores; each kind has its own keys (README: objective kinds)")
    weight: Sched() = Field(1.0, description="weight of this term in the objective")  # type: ignore[valid-type]



@dataclass(frozen=True)
class Context:
    """What a builder may use: the cut network (to compute features of its own images), its
    layers' channel counts, the device, the frame size (width, height), the model's name for
    messages, and how many lanes the render has."""

    net: Callable[[torch.Tensor], Activations]
    widths: Mapping[str, int]
    device: torch.device
    size: tuple[int, int]
    model: str
    lanes: int = 1


class Kind(Term):
    """An objective term of one kind. ``paths`` names its fields that hold file paths, which the
    config resolves relative to the config file."""

    paths: ClassVar[tuple[str, ...]] = ()

    def layers(self) -> tuple[str, ...]:
        """The network layers this term reads; the network is cut after the deepest."""
        return ()

    @abstractmethod
    def build(self, context: Context) -> Objective:
        """Check the term against the network (``ObjectiveError`` naming the field) and make its
        objective, with any per-render state (a guide image's features) held inside it."""


class LayerKind(Kind):
    """A kind that reads one layer."""

    layer: str = Field(..., description="layer name, see `zoomdream layers MODEL`")

    def layers(self) -> tuple[str, ...]:
        return (self.layer,)


KINDS: dict[str, type[Kind]] = {}

K = TypeVar("K", bound=type[Kind])


def register(kind: K) -> K:
    """Make a kind known by the default of its ``kind`` field; a name used twice is a bug."""
    name = kind.model_fields["kind"].default
    if name in KINDS and KINDS[name] is not kind:
        raise ValueError(f"objective kind {name!r} is registered twice")
    KINDS[name] = kind
    return kind
