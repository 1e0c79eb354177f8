"""A record read from a system, as it waits in the inbox to be merged.

Kept below the store (which persists it) and the sync (which makes and
reads it), so neither depends on the other for it. It is made for every
record read, so it is a plain slotted class without validation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs


@attrs.define(slots=True)
class StagedRecord:
    """What one mapping of one record said when it was read.

    ``values`` are the record projected through its mapping, still in the
    system's terms (references are the system's ids); ``hash`` is theirs, to
    recognise the echo of our own writes. A tombstone (``deleted``) carries
    neither. ``history``: read on the first read of its system, so it existed
    before talk. ``created``: a facet of a record talk itself just created
    (see ``talk_core.sync.siblings``), staged as if read.
    """

    values: dict[str, Any] | None = None
    hash: str | None = None
    updated: datetime | None = None
    deleted: bool = False
    history: bool = False
    created: bool = False

    @classmethod
    def tombstone(cls) -> StagedRecord:
        return cls(deleted=True)

    def as_json(self) -> dict[str, Any]:
        """The stored form: the keys the inbox has always held, so old state files still read."""
        if self.deleted:
            return {"deleted": True}
        out: dict[str, Any] = {
            "values": self.values, "hash": self.hash,
            "updated": self.updated.isoformat() if self.updated is not None else None,
        }
        if self.history:
            out["history"] = True
        if self.created:
            out["created"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StagedRecord:
        updated = data.get("updated")
        return cls(
            data.get("values"), data.get("hash"),
            datetime.fromisoformat(updated) if updated else None,
            bool(data.get("deleted")), bool(data.get("history")), bool(data.get("created")),
        )
