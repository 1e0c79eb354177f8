"""The state a sync keeps, as one protocol per concern.

Each protocol is a group of tables that change together and for one reason:
a backend is written, reviewed and tested one concern at a time, and code
that needs one concern (a plugin's notes, ``talk status``'s runs) can say
so in its types. ``StateStore`` (in ``store.base``) is their sum, and what
the engine is given. Every method is one the engine or a plugin calls;
``talk_core.testing.StoreContract`` states what each owes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

from talk_core.model import Link
from talk_core.store.records import Conflict, DeadLetter, InboxRow, JournalEntry, Run

__all__ = ["GlobalStore", "InboxStore", "JournalStore", "LetterStore", "LinkStore",
           "NoteStore", "RunStore", "Transactions"]


class Transactions(Protocol):
    """Units of durability: what the engine's blocks commit or roll back as one.

    The other protocols' writes land in the innermost open block, or commit
    on their own when none is open.
    """

    path: str

    def close(self) -> None: ...

    def transaction(self, *, carry: bool = False) -> AbstractContextManager[None]:
        """A block that commits at its end and rolls back on an exception. Nestable.

        ``carry``: inside ``carrying``, the commit may wait for the next block's.
        """
        ...

    def carrying(self) -> AbstractContextManager[None]:
        """Where ``transaction(carry=True)`` may share its commit with the next block's."""
        ...

    def begin_dry_run(self) -> None:
        """From now on nothing is committed; ``end_dry_run`` throws it all away."""
        ...

    def end_dry_run(self) -> None: ...


class LinkStore(Protocol):
    """Which record of which system is which global entity, and where one must not go again."""

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


class GlobalStore(Protocol):
    """The merged view of each entity, the keys it is matched by, and its parent."""

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


class InboxStore(Protocol):
    """What was read and not merged yet, where each read resumes, and what a full listing saw.

    Staged rows and the cursor that read them move in one transaction, so a
    record read is never lost between a read and its merge.
    """

    def get_cursor(self, system: str, datatype: str) -> str | None: ...

    def set_cursor(self, system: str, datatype: str, cursor: str | None) -> None: ...

    def cursors(self) -> list[tuple[str, str, str | None, datetime]]: ...

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

    def inbox_referrers(self, system: str, global_type: str, prop: str,
                        external_ids: Iterable[str]) -> list[InboxRow]:
        """Live read rows of ``system`` whose staged ``prop`` names one of ``external_ids``.

        Deferred rows included: a record waiting for what it refers to still
        refers to it. What a propagated delete asks before it removes a record
        that a record read since the last sync (in the same system) refers to.
        """
        ...

    def seen_reset(self, system: str, datatype: str) -> None: ...

    def seen_add(self, system: str, datatype: str, external_ids: Iterable[str]) -> None: ...

    def unseen_links(self, system: str, datatype: str, global_type: str) -> list[Link]: ...


class JournalStore(Protocol):
    """Creates about to be sent: after a crash, what to look for before sending again.

    ``journal_add_many`` may keep a batch's entries together (SQLite keeps
    one row per batch); removal and listing see entries one by one all the
    same, also of a batch a crashed process left.
    """

    def journal_add(self, entry: JournalEntry) -> None: ...

    def journal_remove(self, key: str) -> None: ...

    def journal_add_many(self, entries: Iterable[JournalEntry]) -> None: ...

    def journal_remove_many(self, keys: Iterable[str]) -> None: ...

    def journal_pending(self) -> list[JournalEntry]: ...


class LetterStore(Protocol):
    """What went wrong: conflicts decided by policy, and records that could not be moved."""

    def add_conflict(self, conflict: Conflict) -> None: ...

    def conflicts(self, limit: int = 100) -> list[Conflict]: ...

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


class RunStore(Protocol):
    """One run at a time, and the history of runs ``talk status`` shows."""

    def acquire_lock(self, owner: str) -> None:
        """Take the run lock or raise ``LockedError`` at once, naming the holder."""
        ...

    def release_lock(self) -> None: ...

    def start_run(self) -> int: ...

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None: ...

    def runs(self, limit: int = 10) -> list[Run]: ...


class NoteStore(Protocol):
    """Durable facts of one plugin instance (tokens, budgets, unfinished work), as JSON.

    A note is keyed by (instance, name). ``at_once=True`` commits it at once,
    independently of any open transaction, a dry run's included: a rotated
    OAuth token must survive the rollback, or the next run holds a dead one.
    Notes may hold secrets: a backend keeps them private and never logs them.
    """

    def get_note(self, instance: str, name: str) -> Any | None:
        """The note's value, or None if there is none; the newest of any write, at once or not."""
        ...

    def notes(self, instance: str) -> dict[str, Any]:
        """Every note of ``instance``, by name."""
        ...

    def put_note(self, instance: str, name: str, value: Any, *, at_once: bool = False) -> None:
        """Insert or replace; ``at_once``: committed now, whatever transaction is open."""
        ...

    def delete_note(self, instance: str, name: str, *, at_once: bool = False) -> None: ...

    def get_token(self, system: str) -> dict[str, Any] | None:
        """The note ``token`` of instance ``system``.

        ``"name#kind"`` is the note ``kind`` of ``name``: the key the tokens table
        used for an instance's other notes before version 6 of the state.
        """
        ...

    def put_token(self, system: str, token: dict[str, Any]) -> None:
        """Like ``get_token``; written in the open transaction (``put_note``, not ``at_once``)."""
        ...
