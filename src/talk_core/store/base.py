"""The state a sync keeps between runs, behind one small interface.

The engine never writes SQL: it calls these methods, inside ``transaction()``
blocks that are its units of durability. SQLite is the implementation that
ships; the interface is narrow enough for PostgreSQL to serve where one
machine is not enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

import attrs

from talk_core.model import Link
from talk_core.staged import StagedRecord


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
    id: int
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    summary: dict[str, Any] = attrs.field(factory=dict)


class StateStore(Protocol):
    """Durable state of one sync setup. Not thread-safe: one run uses one store."""

    path: str

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None: ...

    def transaction(self, *, carry: bool = False) -> AbstractContextManager[None]:
        """A block that commits at its end and rolls back on an exception. Nestable.

        ``carry``: inside ``carrying``, the commit may wait for the next block's.
        """
        ...

    def carrying(self) -> AbstractContextManager[None]:
        """Where ``transaction(carry=True)`` may share its commit with the next block's."""
        ...

    def acquire_lock(self, owner: str) -> None:
        """Take the run lock or raise ``LockedError`` at once, naming the holder."""
        ...

    def release_lock(self) -> None: ...

    def begin_dry_run(self) -> None:
        """From now on nothing is committed; ``end_dry_run`` throws it all away."""
        ...

    def end_dry_run(self) -> None: ...

    # -- cursors ---------------------------------------------------------
    def get_cursor(self, system: str, datatype: str) -> str | None: ...

    def set_cursor(self, system: str, datatype: str, cursor: str | None) -> None: ...

    def cursors(self) -> list[tuple[str, str, str | None, datetime]]: ...

    # -- inbox -----------------------------------------------------------
    def stage(self, rows: Iterable[InboxRow]) -> None: ...

    def inbox_unresolved(self, global_type: str, limit: int) -> list[InboxRow]:
        """Rows of a type without a global id yet (deferred ones excluded), oldest first."""
        ...

    def inbox_resolve(self, seq: int, global_id: str) -> None: ...

    def inbox_resolve_many(self, pairs: Iterable[tuple[int, str]]) -> None:
        """(seq, global id) for many rows at once."""
        ...

    def inbox_claimant(self, global_type: str, global_id: str, system: str) -> str | None:
        """The external id of a staged record of ``system`` already resolved to the entity."""
        ...

    def inbox_groups(self, global_type: str, after: str | None, limit: int) -> list[InboxRow]:
        """Resolved, not deferred rows of whole global entities with ids above ``after``.

        Rows come ordered by global id, then seq; every row of each global id
        returned is included (a group is never split), at most about
        ``limit`` rows unless one group is larger.
        """
        ...

    def inbox_delete(self, seqs: Iterable[int]) -> None: ...

    def inbox_defer(self, seq: int, reason: str) -> None: ...

    def inbox_undefer(self, global_type: str) -> int:
        """Clear the deferral of every row of a type so a new run retries them."""
        ...

    def inbox_count(self, global_type: str | None = None) -> int: ...

    def inbox_last_seq(self) -> int:
        """The newest staged row's number (0 if none): rows staged later are this run's."""
        ...

    def inbox_reads_until(self, seq: int, system: str, datatype: str,
                          external_ids: Iterable[str]) -> list[InboxRow]:
        """Read rows of these records staged at or before ``seq`` and not merged yet."""
        ...

    def inbox_deletes(self, global_type: str, datatype: str | None = None) -> dict[str, int]:
        """Staged tombstones of a type per system: what the circuit breaker weighs."""
        ...

    def inbox_deferred(self) -> list[InboxRow]: ...

    # -- global entities and match keys ----------------------------------
    def get_global(self, global_type: str, global_id: str) -> dict[str, Any] | None: ...

    def get_globals(self, global_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def put_global(self, global_type: str, global_id: str, values: dict[str, Any]) -> None: ...

    def put_globals(self, global_type: str, items: Iterable[tuple[str, dict[str, Any]]]
                    ) -> None: ...

    def set_parents(self, global_type: str, pairs: Iterable[tuple[str, str | None]]) -> None: ...

    def delete_global(self, global_type: str, global_id: str) -> None:
        """Remove the entity and its match keys."""
        ...

    def set_match_keys(self, global_type: str, global_id: str, keys: dict[str, str]) -> None:
        """Replace the entity's keys (key name -> normalised value)."""
        ...

    def add_match_keys(self, global_type: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Add (global id, key, value) rows, keeping the keys already there."""
        ...

    def find_by_keys(self, global_type: str, key: str, values: Iterable[str]
                     ) -> dict[str, list[str]]:
        """value -> global ids, for many values of one key at once."""
        ...

    def find_by_key(self, global_type: str, key: str, value: str) -> list[str]:
        """Global ids whose key ``key`` has ``value``."""
        ...

    def children_of(self, global_type: str, parent_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Global entities of ``global_type`` whose parent is ``parent_id``, in insert order."""
        ...

    def set_parent(self, global_type: str, global_id: str, parent_id: str | None) -> None: ...

    # -- links -----------------------------------------------------------
    def get_link(
        self, system: str, datatype: str, external_id: str, global_type: str
    ) -> Link | None: ...

    def links_by_external(
        self, system: str, datatype: str, global_type: str, external_ids: Iterable[str]
    ) -> dict[str, Link]: ...

    def find_link(
        self, system: str, datatype: str, external_id: str, global_types: Iterable[str]
    ) -> Link | None:
        """The link of a referenced record, whichever of ``global_types`` it has."""
        ...

    def link_for(self, global_type: str, global_id: str, system: str) -> Link | None: ...

    def link_ids(self, system: str, datatype: str, global_type: str,
                 external_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """external id -> (global id, hash): what collect and resolve need, cheaply."""
        ...

    def find_links_many(self, system: str, datatype: str, external_ids: Iterable[str],
                        global_types: Iterable[str]) -> dict[str, str]:
        """external id -> global id of referenced records; the first type listed wins."""
        ...

    def links_for_many(self, global_types: Iterable[str], global_ids: Iterable[str],
                       system: str) -> dict[str, str]:
        """global id -> external id in ``system``, over any of the global types."""
        ...

    def links_of(self, global_type: str, global_id: str) -> list[Link]: ...

    def links_of_many(self, global_type: str, ids: Iterable[str]) -> dict[str, list[Link]]: ...

    def put_link(self, link: Link) -> None:
        """Insert or replace, keyed by (global_type, system, datatype, external_id)."""
        ...

    def put_links(self, links: Iterable[Link]) -> None: ...

    def delete_link(self, link: Link) -> None: ...

    def count_links(
        self, global_type: str | None = None, system: str | None = None,
        datatype: str | None = None,
    ) -> int: ...

    def link_counts(self) -> list[tuple[str, str, str, int]]:
        """(system, datatype, global_type, links) for every combination that has links."""
        ...

    def iter_links(
        self, system: str | None = None, datatype: str | None = None,
        global_type: str | None = None, global_id: str | None = None,
    ) -> Iterator[Link]: ...

    def detach(self, global_type: str, global_id: str, system: str) -> None:
        """Remember that this entity must never be created in ``system`` again."""
        ...

    def is_detached(self, global_type: str, global_id: str, system: str) -> bool: ...

    def detached_of(self, global_type: str, global_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(global id, system) pairs among ``global_ids`` that must not be created again."""
        ...

    # -- full listings: which linked records were seen this run ------------
    def seen_reset(self, system: str, datatype: str) -> None: ...

    def seen_add(self, system: str, datatype: str, external_ids: Iterable[str]) -> None: ...

    def unseen_links(self, system: str, datatype: str, global_type: str) -> list[Link]: ...

    # -- journal -----------------------------------------------------------
    def journal_add(self, entry: JournalEntry) -> None: ...

    def journal_remove(self, key: str) -> None: ...

    def journal_add_many(self, entries: Iterable[JournalEntry]) -> None: ...

    def journal_remove_many(self, keys: Iterable[str]) -> None: ...

    def journal_pending(self) -> list[JournalEntry]: ...

    # -- conflicts ---------------------------------------------------------
    def add_conflict(self, conflict: Conflict) -> None: ...

    def conflicts(self, limit: int = 100) -> list[Conflict]: ...

    # -- dead letters ------------------------------------------------------
    def put_dead_letter(self, letter: DeadLetter) -> DeadLetter:
        """Insert, or bump ``attempts`` of the letter with the same identity.

        Identity is (direction, system, datatype, external_id) for reads and
        (direction, system, global_type, global_id) for writes.
        """
        ...

    def dead_letters(self, due_before: datetime | None = None) -> list[DeadLetter]: ...

    def remove_dead_letter(self, letter_id: int) -> None: ...

    def schedule_dead_letter(self, letter_id: int, next_attempt: datetime) -> None: ...

    def remove_read_letter(self, system: str, datatype: str, external_id: str) -> None:
        """Forget a read letter once its record was read and taken in after all."""
        ...

    def clear_dead_letters_for(self, system: str, global_type: str, global_id: str) -> None: ...

    # -- tokens --------------------------------------------------------------
    def get_token(self, system: str) -> dict[str, Any] | None: ...

    def put_token(self, system: str, token: dict[str, Any]) -> None: ...

    # -- runs ----------------------------------------------------------------
    def start_run(self) -> int: ...

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None: ...

    def runs(self, limit: int = 10) -> list[Run]: ...
