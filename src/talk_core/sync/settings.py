"""The knobs of a sync, and the configured system instances it runs over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs

from talk_core.connector import Connector
from talk_core.limits import Limits
from talk_core.sync.conflicts import Resolver
from talk_core.sync.plan import DeletePolicy
from talk_core.system import SystemSpec


@attrs.define
class SystemInstance:
    """A configured system: a name of the user's choice, its kind, its live connector."""

    name: str
    spec: SystemSpec
    connector: Connector


@attrs.define
class DatatypeSettings:
    """Per global datatype: on or off, shared or only read, and how to match.

    ``share = False`` still reads and links, but writes nothing to other
    systems. ``match_keys`` replaces the global type's default keys.
    ``history = "new"`` shares only records created after a system was first
    read: what existed before is linked where it matches, never copied.
    ``filter`` (property -> value or list of values) limits which entities
    are created in other systems. ``directions`` (system -> property ->
    ``from`` | ``to`` | ``none``) makes a property flow only out of a system,
    only into it, or neither.
    """

    enabled: bool = True
    share: bool = True
    match_keys: tuple[tuple[str, ...], ...] | None = None
    history: str = "all"
    filter: dict[str, Any] = attrs.field(factory=dict)
    directions: dict[str, dict[str, str]] = attrs.field(factory=dict)

    def accepts(self, values: dict[str, Any]) -> bool:
        for prop, wanted in self.filter.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            value = values.get(prop)
            if not any(_same_text(value, a) for a in allowed):
                return False
        return True

    def ignored(self, system: str) -> frozenset[str]:
        """Properties whose changes are not taken from ``system``."""
        by_prop = self.directions.get(system)
        if not by_prop:
            return frozenset()
        return frozenset(p for p, d in by_prop.items() if d in ("to", "none"))

    def unwritable(self, system: str) -> frozenset[str]:
        """Properties never written to ``system``."""
        by_prop = self.directions.get(system, {})
        return frozenset(p for p, d in by_prop.items() if d in ("from", "none"))


def _same_text(value: Any, wanted: Any) -> bool:
    if isinstance(value, str) and isinstance(wanted, str):
        return value.casefold() == wanted.casefold()
    return bool(value == wanted)


@attrs.define
class SyncSettings:
    """How conflicts, deletes and failures are handled.

    The circuit breaker trips when a run would delete more than
    ``max_delete_fraction`` of a global datatype's links, and more than
    ``min_delete_count`` records, so that deleting 1 of 3 test records
    does not trip it while deleting 400 of 1,000 does. A full listing that
    comes back empty is a fault when more than ``min_delete_count`` records
    were linked. ``unavailable_after``: seconds one request keeps retrying a
    system that does not serve (no connection, timeouts, 5xx) before the
    system counts as unavailable for the run. ``limits``: how much of an API's
    answer is taken (pages per read, bytes, seconds, JSON depth) for systems
    that do not set their own.
    """

    conflict: str | Resolver = "newest"
    priority: tuple[str, ...] = ()
    deletes: DeletePolicy = attrs.field(default=DeletePolicy.PROPAGATE, converter=DeletePolicy)
    max_delete_fraction: float = 0.25
    min_delete_count: int = 5
    batch_size: int = 1000
    retry_base: timedelta = timedelta(minutes=5)
    retry_max: timedelta = timedelta(hours=12)
    unavailable_after: float = 30.0
    limits: Limits = attrs.field(factory=Limits)
    datatypes: dict[str, DatatypeSettings] = attrs.field(factory=dict)

    def datatype(self, global_type: str) -> DatatypeSettings:
        return self.datatypes.get(global_type) or DatatypeSettings()

    def backoff(self, attempts: int) -> timedelta:
        """Exponential: base, 2x base, 4x base ... capped at ``retry_max``."""
        step = self.retry_base * (2 ** max(attempts - 1, 0))
        return min(step, self.retry_max)
