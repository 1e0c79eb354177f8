"""The records the state keeps, shared by every backend.

They live apart from the protocols so that a backend's row decoders can
import them without the protocols, and the protocols without a backend.
``store.base`` re-exports them, where they were first defined.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from talk_core.staged import StagedRecord

__all__ = ["Conflict", "DeadLetter", "InboxRow", "JournalEntry", "Run"]


@attrs.define
class InboxRow:
    """A record read from a system and not yet merged into its global entity.

    Collect stages rows and moves the cursor in one transaction, so nothing
    read is lost if the run stops before the merge. ``payload`` is what was
    read, projected through the mapping (a ``StagedRecord``; None for a reshare).
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
    payload: StagedRecord | None = None
    kind: str = "read"
    global_id: str | None = None
    seq: int | None = None
    deferred: str | None = None


@attrs.define
class JournalEntry:
    """A create that was about to be sent: the guard against duplicates after a crash."""

    key: str
    global_type: str
    global_id: str
    system: str
    datatype: str
    payload: dict[str, Any]
    created_at: datetime | None = None


@attrs.define
class Conflict:
    """Two systems changed one property of one entity since the last run."""

    global_type: str
    global_id: str
    property: str
    values: dict[str, Any]
    winner: str
    policy: str
    run_id: int | None = None
    id: int | None = None
    created_at: datetime | None = None


@attrs.define
class DeadLetter:
    """One record that could not be read or written, kept with why and when to retry.

    ``direction`` is ``"read"`` (the record from ``system`` could not be
    taken in; ``payload`` holds it) or ``"write"`` (global entity
    ``global_id`` could not be written to ``system``).
    """

    system: str
    datatype: str
    external_id: str
    global_type: str
    direction: str
    error: str
    global_id: str | None = None
    payload: dict[str, Any] | None = None
    attempts: int = 1
    next_attempt: datetime | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.define
class Run:
    """One run of a sync, as `talk status` lists it: when, how it ended, what it did."""

    id: int
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    summary: dict[str, Any] = attrs.field(factory=dict)
