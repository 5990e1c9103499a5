"""The objective kinds by name, and what a kind is: a config model that builds its own objective.

A kind is one subclass of ``Kind`` with a ``kind: Literal[...]`` name, its fields, and a
``build`` that checks the term against the network and returns an ``Objective``; the
``register`` decorator puts it in ``KINDS``, which the config validates terms through.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping, TypeVar

import torch
from pydantic import Field

from ..config import DEFAULT_KIND, Term
from ..dream import Activations, Objective

__all__ = ["DEFAULT_KIND", "KINDS", "Context", "Kind", "LayerKind", "ObjectiveError", "layer_widths", "register"]


class ObjectiveError(ValueError):
    """A term that cannot be built for this network; one line starting with the term's key."""


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


def layer_widths(net: Callable[[torch.Tensor], Activations], device: torch.device) -> dict[str, int]:
    """Channel count of every layer the network returns, from one small forward pass."""
    with torch.no_grad():
        return {name: act.shape[1] for name, act in net(torch.zeros(1, 3, 96, 96, device=device)).items()}
