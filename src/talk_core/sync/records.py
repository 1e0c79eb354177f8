"""Staged records: what a mapping makes of an entity read from a system.

``StagedRecord`` (defined with the store, which persists it) is what
collect stages and identify, merge and siblings read; the functions here
make one from an ``Entity`` through a ``Mapping``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from talk_core.mapping import Mapping, value_hash
from talk_core.model import DataType, Entity, Link
from talk_core.staged import StagedRecord
from talk_core.store.base import InboxRow

__all__ = ["LOST", "ORPHANED", "StagedRecord", "created_hashes", "lost_links", "lost_rows",
           "orphan_row", "project", "read_row", "still_owned", "tombstone_row"]

#: ``InboxRow.kind`` of the mark that a reading's owner was deleted (see ``orphan_row``).
ORPHANED = "orphaned"
#: ``InboxRow.kind`` of what a crash lost the commit of (see ``lost_rows``).
LOST = "lost"


def project(
    mapping: Mapping, datatype: DataType, entity: Entity
) -> tuple[dict[str, Any], str]:
    """The entity's values in global terms (references still the system's) and their hash."""
    values = mapping.to_global(entity, datatype)
    return values, value_hash(values)


def read_row(mapping: Mapping, system: str, datatype: DataType, entity: Entity,
             values: dict[str, Any], digest: str) -> InboxRow:
    return InboxRow(mapping.global_type, system, datatype.name, entity.id,
                    StagedRecord(values, digest, entity.updated))


def tombstone_row(global_type: str, system: str, datatype: str, external_id: str) -> InboxRow:
    return InboxRow(global_type, system, datatype, external_id, StagedRecord.tombstone())


def orphan_row(global_type: str, system: str, datatype: str, external_id: str,
               gone: dict[str, str]) -> InboxRow:
    """The mark that a record's reading waits for an owner talk deleted: it goes too.

    ``gone``: the references, in the system's ids, that name the deleted
    owner (an address's account). The mark is resolved with the reading
    (``Identify``), and the merge deletes the record (``Merge``), while the
    latest reading still names that owner (``still_owned``).
    """
    return InboxRow(global_type, system, datatype, external_id, StagedRecord(dict(gone)),
                    kind=ORPHANED)


def still_owned(mark: InboxRow, reading: InboxRow | None) -> bool:
    """Whether ``reading``, a record's latest, still names the owner ``mark`` says is gone."""
    gone = mark.payload.values if mark.payload is not None else None
    record = reading.payload if reading is not None else None
    if not gone or record is None or record.deleted or record.values is None:
        return False
    return all(str(record.values.get(prop)) == ext for prop, ext in gone.items())


def lost_rows(global_type: str, global_id: str, values: dict[str, Any],
              read: Iterable[Link]) -> list[InboxRow]:
    """A new entity whose commit a crash lost, staged for its merge (``lost_links``).

    One row holds the entity's values (it names no system); one per record
    read that the entity was made of holds what that commit would have
    linked it with: what the record held.
    """
    rows = [InboxRow(global_type, "", "", "", StagedRecord(dict(values)), kind=LOST,
                     global_id=global_id)]
    rows.extend(InboxRow(global_type, link.system, link.datatype, link.external_id,
                         StagedRecord(dict(link.values), link.hash), kind=LOST,
                         global_id=global_id) for link in read)
    return rows


def lost_links(rows: Iterable[InboxRow]) -> tuple[dict[str, Any] | None, dict[str, Link]]:
    """The entity's values and the links per system that ``lost_rows`` staged among ``rows``."""
    values: dict[str, Any] | None = None
    links: dict[str, Link] = {}
    for row in rows:
        if row.kind != LOST or row.payload is None or row.global_id is None:
            continue
        held = row.payload.values or {}
        if not row.system:
            values = held
        else:
            links[row.system] = Link(row.global_type, row.global_id, row.system, row.datatype,
                                     row.external_id, row.payload.hash, held)
    return values, links


def created_hashes(rows: list[InboxRow]) -> dict[tuple[str, str], str | None]:
    """``(system, external id) -> hash`` of the staged facets of records talk created."""
    return {(row.system, row.external_id): row.payload.hash
            for row in rows if row.kind == "read" and row.payload is not None
            and row.payload.created}
