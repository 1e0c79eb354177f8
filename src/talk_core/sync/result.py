"""What a run did (or, in a dry run, would do), for people and for scripts."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs


@attrs.define
class RunResult:
    """Counts per system and datatype, the conflicts met, and how the run ended.

    ``status`` is ``done``, ``budget`` (a system's request budget ran out:
    progress kept, the next run carries on), ``auth`` (a system refused the
    credentials), ``interrupted``, ``breaker`` (a circuit breaker stopped
    the run before any delete), or ``unavailable`` (a system did not serve:
    it was left alone and the others were synced; ``unavailable`` holds one
    line per such system).
    """

    run_id: int | None = None
    dry_run: bool = False
    status: str = "done"
    message: str = ""
    counts: dict[tuple[str, str], Counter[str]] = attrs.field(factory=dict)
    conflicts: list[dict[str, Any]] = attrs.field(factory=list)
    dead_letters: list[dict[str, Any]] = attrs.field(factory=list)
    planned: list[dict[str, Any]] = attrs.field(factory=list)
    errors: list[str] = attrs.field(factory=list)
    deferred: int = 0
    #: passes over the global types: 1, plus a round for each time the run's own writes
    #: changed a facet of a type already passed (a customer's address is also a location)
    rounds: int = 1
    unavailable: dict[str, str] = attrs.field(factory=dict)

    def count(self, system: str, datatype: str, what: str, n: int = 1) -> None:
        counter = self.counts.get((system, datatype))
        if counter is None:  # not setdefault: a Counter per write is a cost at a million
            counter = self.counts[(system, datatype)] = Counter()
        counter[what] += n

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())

    @property
    def writes(self) -> int:
        return self.total("create") + self.total("update") + self.total("delete")

    @property
    def exit_code(self) -> int:
        """0 done; 1 done with dead letters, conflicts or a datatype that could not be read;
        4 stopped by a circuit breaker; 7 a system was unavailable, the others were synced."""
        if self.status == "breaker":
            return 4
        if self.status == "unavailable":
            return 7
        if self.dead_letters or self.conflicts or self.errors:
            return 1
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "status": self.status,
            "message": self.message,
            "systems": [
                {"system": s, "datatype": d, **dict(sorted(c.items()))}
                for (s, d), c in sorted(self.counts.items())
            ],
            "totals": {
                what: self.total(what)
                for what in ("read", "create", "update", "delete", "conflict", "dead_letter")
            },
            "conflicts": self.conflicts,
            "dead_letters": self.dead_letters,
            "planned": self.planned,
            "errors": self.errors,
            "deferred": self.deferred,
            "rounds": self.rounds,
            "unavailable": sorted(self.unavailable.values()),
        }
