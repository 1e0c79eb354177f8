"""Conflict policies: which of two concurrent edits of one property wins.

A conflict is two or more systems changing the same property of the same
entity to different values since the last run. The policy picks a winner;
the engine records every conflict with all values, whoever won.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import attrs


@attrs.frozen
class Candidate:
    """One system's new value for a property, with when that system changed it."""

    system: str
    value: Any
    updated: datetime | None


Resolver = Callable[[str, Sequence[Candidate]], str]
"""``(property, candidates) -> winning system name``: a user's own policy."""


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _rank(priority: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    order = {name: i for i, name in enumerate(priority)}
    return lambda system: (order.get(system, len(order)), system)


def newest(priority: Sequence[str] = ()) -> Resolver:
    """The newest change wins; a value beats an empty one; ties go by priority."""
    rank = _rank(priority)

    def resolve(_prop: str, candidates: Sequence[Candidate]) -> str:
        def key(c: Candidate) -> tuple[bool, float, tuple[int, str]]:
            ts = c.updated.timestamp() if c.updated is not None else float("-inf")
            return (is_empty(c.value), -ts, rank(c.system))

        return min(candidates, key=key).system

    return resolve


def by_priority(priority: Sequence[str] = ()) -> Resolver:
    """The system listed first in ``priority`` wins; unlisted systems come last."""
    rank = _rank(priority)

    def resolve(_prop: str, candidates: Sequence[Candidate]) -> str:
        return min(candidates, key=lambda c: rank(c.system)).system

    return resolve


def make_resolver(policy: str | Resolver, priority: Sequence[str] = ()) -> Resolver:
    if callable(policy):
        return policy
    if policy == "newest":
        return newest(priority)
    if policy == "priority":
        return by_priority(priority)
    raise ValueError(
        f"unknown conflict policy {policy!r}: expected 'newest', 'priority' or a callable"
    )


def policy_name(policy: str | Resolver) -> str:
    return policy if isinstance(policy, str) else getattr(policy, "__name__", "custom")
