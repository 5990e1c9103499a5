"""Objective kinds: what a dream maximises, one kind per module, registered by name.

    terms = build(config.dream.objective, context)     # once per render: checks, guide features
    objective = combine(terms, weights)                # per frame: the weights are schedules

A new kind is a module here with one ``@register``-ed subclass of ``Kind`` (or such a class
anywhere, registered before the config is validated); nothing else changes.
"""

from __future__ import annotations

import functools
import operator
from typing import Sequence

from . import activation, diversity, guide  # noqa: F401  (each registers its kind)
from .activation import Activation
from .base import DEFAULT_KIND, KINDS, Context, Kind, LayerKind, Objective, ObjectiveError, Term, View, register

__all__ = [
    "Activation", "Context", "DEFAULT_KIND", "KINDS", "Kind", "LayerKind", "Objective", "ObjectiveError", "Term", "View",
    "build", "combine", "register",
]  # fmt: skip


def build(terms: Sequence[Kind], context: Context) -> list[Objective]:
    """Each term's objective, built once per render; a term that does not fit is a one-line error."""
    built = []
    for i, term in enumerate(terms):
        try:
            built.append(term.build(context))
        except ObjectiveError as error:
            raise ObjectiveError(f"dream.objective.{i}.{error}") from None
    return built


def combine(terms: Sequence[Objective], weights: Sequence[float]) -> Objective:
    """The weighted sum of built terms for one frame's weights."""
    return functools.reduce(operator.add, [weight * term for term, weight in zip(terms, weights)])
