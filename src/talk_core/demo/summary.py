"""What the demo did: records per system before and after, links, edits, conflicts, the delete.

Plain data, filled in by the scenario from what the systems and the state
hold, so that the text and the JSON the command prints say the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.labels import short_id
from talk_core.model import Link


def shown(record: str, global_id: str) -> str:
    """A record as the summary prints it: its label and the end of its global id."""
    return f"{record} ({short_id(global_id)})" if global_id else record


@attrs.define
class SystemOutcome:
    """One system: where it runs, its records per global datatype at each point, talk's writes."""

    name: str
    label: str
    kind: str
    url: str
    before: Counter[str] = attrs.field(factory=Counter)
    after_first: Counter[str] = attrs.field(factory=Counter)
    after: Counter[str] = attrs.field(factory=Counter)
    writes: list[Counter[str]] = attrs.field(factory=list)  # per sync, its runs together
    #: records a person deleted in this system between the syncs (not talk's deletes)
    removed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind, "url": self.url,
                "records": {"before": dict(self.before), "after_first_sync": dict(self.after_first),
                            "after": dict(self.after)},
                "writes": [dict(w) for w in self.writes], "removed_by_a_person": self.removed}


@attrs.frozen
class LinkOutcome:
    """Per global datatype after the first sync: entities tied across systems, and how.

    ``matched``: entities that two or more systems already had and talk
    tied together by their match keys; ``copied``: records talk created.
    """

    global_type: str
    entities: int
    matched: int
    copied: int


@attrs.frozen
class EditOutcome:
    """A change a person made in one system, and what each system holds after the next sync.

    ``record`` is the record's label; ``global_id`` tells it apart where labels repeat.
    """

    system: str
    record: str
    property: str
    old: Any
    new: Any
    now: dict[str, Any]
    global_id: str = ""


@attrs.frozen
class ConflictOutcome:
    """Two systems' values of one property met in a sync: which won, why, and what is held now.

    In the first sync this is a record two systems already had with
    different values; in the second, a property edited in two systems.
    """

    sync: int
    record: str
    property: str
    values: dict[str, Any]
    winner: str
    policy: str
    now: dict[str, Any]
    global_id: str = ""
    #: systems whose value of the property is their own: talk never writes it there
    own: tuple[str, ...] = ()


@attrs.frozen
class RemovalOutcome:
    """A record deleted in one system; ``present`` says which systems still hold it."""

    system: str
    record: str
    present: dict[str, bool]
    global_id: str = ""


@attrs.define
class Report:
    seed: int
    folder: str
    config: str
    state: str
    systems: list[SystemOutcome] = attrs.field(factory=list)
    links: list[LinkOutcome] = attrs.field(factory=list)
    edits: list[EditOutcome] = attrs.field(factory=list)
    conflicts: list[ConflictOutcome] = attrs.field(factory=list)
    removal: RemovalOutcome | None = None
    runs: list[dict[str, Any]] = attrs.field(factory=list)
    env: dict[str, str] = attrs.field(factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Everything but the secrets: those are in ``env`` for the commands to try."""
        return {
            "seed": self.seed, "folder": self.folder, "config": self.config,
            "state": self.state, "env": sorted(self.env),
            "systems": [s.as_dict() for s in self.systems],
            "links": [attrs.asdict(x) for x in self.links],
            "edits": [attrs.asdict(x) for x in self.edits],
            "conflicts": [attrs.asdict(x) for x in self.conflicts],
            "delete": attrs.asdict(self.removal) if self.removal else None,
            "runs": self.runs,
        }


def link_outcomes(links: Iterable[Link], existing: set[tuple[str, str, str]]
                  ) -> list[LinkOutcome]:
    """Tally links per entity: ``existing`` are (system, datatype, id) that predate the sync.

    A record linked under several global types (a customer that is also a
    location) is one record: counted as created under the first of them only,
    so that the created records add up to the ones the systems gained.
    """
    entities: dict[tuple[str, str], list[Link]] = {}
    for link in links:
        entities.setdefault((link.global_type, link.global_id), []).append(link)
    tied: Counter[str] = Counter()
    matched: Counter[str] = Counter()
    copied: Counter[str] = Counter()
    counted: set[tuple[str, str, str]] = set()
    order = {name: n for n, name in enumerate(GLOBAL_TYPES)}
    for (global_type, _), held in sorted(entities.items(),
                                         key=lambda item: order.get(item[0][0], len(order))):
        if len({lk.system for lk in held}) < 2:
            continue
        records = [(lk.system, lk.datatype, lk.external_id) for lk in held]
        old = sum(r in existing for r in records)
        tied[global_type] += 1
        matched[global_type] += old >= 2
        copied[global_type] += sum(r not in existing and r not in counted for r in records)
        counted.update(records)
    return [LinkOutcome(gt, tied[gt], matched[gt], copied[gt]) for gt in GLOBAL_TYPES if tied[gt]]
