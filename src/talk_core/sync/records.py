"""Staged records: what a mapping makes of an entity read from a system.

``StagedRecord`` (defined with the store, which persists it) is what
collect stages and identify, merge and siblings read; the functions here
make one from an ``Entity`` through a ``Mapping``.
"""

from __future__ import annotations

from typing import Any

from talk_core.mapping import Mapping, value_hash
from talk_core.model import DataType, Entity
from talk_core.staged import StagedRecord
from talk_core.store.base import InboxRow

__all__ = ["ORPHANED", "StagedRecord", "created_hashes", "orphan_row", "project", "read_row",
           "still_owned", "tombstone_row"]

#: ``InboxRow.kind`` of the mark that a reading's owner was deleted (see ``orphan_row``).
ORPHANED = "orphaned"


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


def created_hashes(rows: list[InboxRow]) -> dict[tuple[str, str], str | None]:
    """``(system, external id) -> hash`` of the staged facets of records talk created."""
    return {(row.system, row.external_id): row.payload.hash
            for row in rows if row.kind == "read" and row.payload is not None
            and row.payload.created}
