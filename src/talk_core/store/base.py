"""The state a sync keeps between runs, behind one interface.

The engine never writes SQL: it calls these methods, inside ``transaction()``
blocks that are its units of durability. ``StateStore`` is the sum of one
protocol per concern (``store.protocols``), so that a second backend
(PostgreSQL, where one machine is not enough) is written and checked against
``talk_core.testing.StoreContract`` one concern at a time. SQLite is the
implementation that ships. The records and protocols are re-exported here,
where they were first defined, so that imports of them keep working.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from talk_core.store.protocols import (
    GlobalStore,
    InboxStore,
    JournalStore,
    LetterStore,
    LinkStore,
    NoteStore,
    RunStore,
    Transactions,
)
from talk_core.store.records import Conflict, DeadLetter, JournalEntry, Run

__all__ = ["Conflict", "DeadLetter", "GlobalStore", "InboxRow", "InboxStore", "JournalEntry",
           "JournalStore", "LetterStore", "LinkStore", "NoteStore", "Run", "RunStore",
           "StateStore", "Transactions"]


@attrs.define
class InboxRow:
    """A record read from a system and not yet merged into its global entity.

    Collect stages rows and moves the cursor in one transaction, so nothing
    read is lost if the run stops before the merge. ``payload`` is the raw
    entity (``id``, ``properties``, ``updated`` as ISO text, ``deleted``).
    ``global_id`` is filled in once the row is matched to a global entity.
    ``kind`` is ``"read"`` for a record read from a system, ``"reshare"`` for
    a global entity that must be shared again (a retried dead letter, a
    create that a crash left unfinished; system/datatype/external_id are
    then those of the target, or empty).
    """

    global_type: str
    system: str
    datatype: str
    external_id: str
    payload: dict[str, Any] | None = None
    kind: str = "read"
    global_id: str | None = None
    seq: int | None = None
    deferred: str | None = None


class StateStore(Transactions, LinkStore, GlobalStore, InboxStore, JournalStore, LetterStore,
                 RunStore, NoteStore, Protocol):
    """Durable state of one sync setup. Not thread-safe: one run uses one store."""
