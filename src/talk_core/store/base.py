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

from typing import Protocol

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
from talk_core.store.records import Conflict, DeadLetter, InboxRow, JournalEntry, Run

__all__ = ["Conflict", "DeadLetter", "GlobalStore", "InboxRow", "InboxStore", "JournalEntry",
           "JournalStore", "LetterStore", "LinkStore", "NoteStore", "Run", "RunStore",
           "StateStore", "Transactions"]


class StateStore(Transactions, LinkStore, GlobalStore, InboxStore, JournalStore, LetterStore,
                 RunStore, NoteStore, Protocol):
    """Durable state of one sync setup. Not thread-safe: one run uses one store."""
