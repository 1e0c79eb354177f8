"""What is still owed or went wrong: pending writes, recorded conflicts, dead letters."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from talk_core.serialize import dumps, format_datetime, loads, parse_datetime
from talk_core.store.base import Conflict, DeadLetter, JournalEntry
from talk_core.store.sqlite_rows import LETTER_COLS, decode_letter, now_text, optional_time

__all__ = ["SQLiteJournal"]

#: Fewer entries than this are journalled as rows of their own.
_BATCH_MIN = 8


class SQLiteJournal:
    """The journal, conflicts and dead_letters tables of ``SQLiteStore``."""

    _conn: sqlite3.Connection
    _atomic: Callable[[], AbstractContextManager[None]]

    # -- journal -----------------------------------------------------------
    # A merge batch journals up to a thousand creates at once and removes
    # them together once their links are stored. One row per entry cost a
    # b-tree insert and delete each; a batch of entries is one row of
    # ``journal_batches`` instead. Single entries stay rows of ``journal``.
    #: entry key -> the batch row that holds it: a hint, the table is the truth
    _batch_of: dict[str, int]
    #: batch row -> how many keys it held when this store wrote or read it
    _batch_size: dict[int, int]
    _batches_known: bool

    def journal_add(self, entry: JournalEntry) -> None:
        created = entry.created_at or datetime.now(UTC)
        if entry.key in self._batch_of:
            self.journal_remove_many([entry.key])
        self._conn.execute(
            "INSERT OR REPLACE INTO journal (key, global_type, global_id, system, datatype, "
            "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.key, entry.global_type, entry.global_id, entry.system, entry.datatype,
                dumps(entry.payload), format_datetime(created),
            ),
        )

    def journal_add_many(self, entries: Iterable[JournalEntry]) -> None:
        batch = list(entries)
        if len(batch) < _BATCH_MIN:
            for entry in batch:
                self.journal_add(entry)
            return
        now = datetime.now(UTC)
        stamps: dict[datetime, str] = {}  # a batch's entries share a handful of times

        def stamp(at: datetime) -> str:
            text = stamps.get(at)
            if text is None:
                text = stamps[at] = format_datetime(at)
            return text

        rows = [[e.key, e.global_type, e.global_id, e.system, e.datatype, e.payload,
                 stamp(e.created_at or now)] for e in batch]
        with self._atomic():
            self.journal_remove_many([e.key for e in batch if e.key in self._batch_of])
            cur = self._conn.execute(
                "INSERT INTO journal_batches (created_at, entries) VALUES (?, ?)",
                (min(str(row[6]) for row in rows), dumps(rows)),
            )
        self._learn_batch(int(cur.lastrowid or 0), rows)

    def journal_remove_many(self, keys: Iterable[str]) -> None:
        self._know_batches()
        singles: list[tuple[str]] = []
        batched: dict[int, set[str]] = {}
        for key in keys:
            batch_id = self._batch_of.pop(key, None)
            if batch_id is None:
                singles.append((key,))
            else:
                batched.setdefault(batch_id, set()).add(key)
        with self._atomic():
            cur = self._conn.executemany("DELETE FROM journal WHERE key = ?", singles)
            if singles and cur.rowcount < len(singles):
                # a key may be in a batch the hints lost (a rolled-back removal)
                self._batches_known = False
                self._know_batches()
                for (key,) in singles:
                    batch_id = self._batch_of.pop(key, None)
                    if batch_id is not None:
                        batched.setdefault(batch_id, set()).add(key)
            for batch_id, gone in batched.items():
                self._remove_from_batch(batch_id, gone)

    def _know_batches(self) -> None:
        """Learn which entries the batch rows hold, once per store (a crash leaves some)."""
        if self._batches_known:
            return
        self._batches_known = True
        for batch_id, text in self._conn.execute("SELECT id, entries FROM journal_batches"):
            self._learn_batch(batch_id, loads(text))

    def _learn_batch(self, batch_id: int, entries: list[list[Any]]) -> None:
        for entry in entries:
            self._batch_of[entry[0]] = batch_id
        self._batch_size[batch_id] = len({entry[0] for entry in entries})

    def _remove_from_batch(self, batch_id: int, gone: set[str]) -> None:
        """Drop entries from a batch row.

        When every key the row was known to hold goes, the row goes unread
        (it can only have lost entries since). Otherwise it is read again,
        so that a rolled-back change is not trusted.
        """
        if len(gone) >= self._batch_size.get(batch_id, len(gone) + 1):
            self._conn.execute("DELETE FROM journal_batches WHERE id = ?", (batch_id,))
            return
        row = self._conn.execute(
            "SELECT entries FROM journal_batches WHERE id = ?", (batch_id,)).fetchone()
        if row is None:
            return
        kept = [entry for entry in loads(row[0]) if entry[0] not in gone]
        if kept:
            self._conn.execute(
                "UPDATE journal_batches SET created_at = ?, entries = ? WHERE id = ?",
                (min(entry[6] for entry in kept), dumps(kept), batch_id))
        else:
            self._conn.execute("DELETE FROM journal_batches WHERE id = ?", (batch_id,))

    def journal_remove(self, key: str) -> None:
        self.journal_remove_many([key])

    def journal_pending(self) -> list[JournalEntry]:
        rows = self._conn.execute(
            "SELECT key, global_type, global_id, system, datatype, payload, created_at "
            "FROM journal ORDER BY created_at, key"
        )
        pending = [
            JournalEntry(k, gt, gi, s, d, loads(p), parse_datetime(c))
            for k, gt, gi, s, d, p, c in rows
        ]
        self._batches_known = True
        for batch_id, text in self._conn.execute("SELECT id, entries FROM journal_batches"):
            entries = loads(text)
            self._learn_batch(batch_id, entries)
            pending.extend(JournalEntry(k, gt, gi, s, d, p, parse_datetime(c))
                           for k, gt, gi, s, d, p, c in entries)
        pending.sort(key=lambda e: (e.created_at, e.key))
        return pending

    # -- conflicts ---------------------------------------------------------
    def add_conflict(self, conflict: Conflict) -> None:
        """Record a conflict, unless it repeats the last one on the same property.

        A run repeated after a crash meets the same conflict again; it is one
        conflict, recorded once.
        """
        last = self._conn.execute(
            'SELECT "values", winner FROM conflicts WHERE global_type = ? AND global_id = ? '
            "AND property = ? ORDER BY id DESC LIMIT 1",
            (conflict.global_type, conflict.global_id, conflict.property),
        ).fetchone()
        values = dumps(conflict.values)
        if last is not None and last[0] == values and last[1] == conflict.winner:
            return
        created = conflict.created_at or datetime.now(UTC)
        self._conn.execute(
            'INSERT INTO conflicts (run_id, global_type, global_id, property, "values", '
            "winner, policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conflict.run_id, conflict.global_type, conflict.global_id, conflict.property,
                values, conflict.winner, conflict.policy, format_datetime(created),
            ),
        )

    def conflicts(self, limit: int = 100) -> list[Conflict]:
        """Newest first: the ones a user asking about conflicts wants to see."""
        rows = self._conn.execute(
            'SELECT id, run_id, global_type, global_id, property, "values", winner, policy, '
            "created_at FROM conflicts ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            Conflict(
                global_type=gt, global_id=gi, property=p, values=loads(v), winner=w,
                policy=pol, run_id=run, id=i, created_at=parse_datetime(c),
            )
            for i, run, gt, gi, p, v, w, pol, c in rows
        ]

    # -- dead letters ------------------------------------------------------
    def _letter_id(self, letter: DeadLetter) -> int | None:
        if letter.direction == "read":
            row = self._conn.execute(
                "SELECT id FROM dead_letters WHERE direction = 'read' AND system = ? "
                "AND datatype = ? AND external_id = ?",
                (letter.system, letter.datatype, letter.external_id),
            ).fetchone()
        elif letter.direction == "write":
            row = self._conn.execute(
                "SELECT id FROM dead_letters WHERE direction = 'write' AND system = ? "
                "AND global_type = ? AND global_id IS ?",
                (letter.system, letter.global_type, letter.global_id),
            ).fetchone()
        else:
            raise ValueError(f"dead letter direction must be 'read' or 'write', not "
                             f"{letter.direction!r}")
        return None if row is None else int(row[0])

    def put_dead_letter(self, letter: DeadLetter) -> DeadLetter:
        now = now_text()
        payload = None if letter.payload is None else dumps(letter.payload)
        next_attempt = optional_time(letter.next_attempt)
        with self._atomic():
            letter_id = self._letter_id(letter)
            if letter_id is None:
                cur = self._conn.execute(
                    "INSERT INTO dead_letters (direction, system, datatype, external_id, "
                    "global_type, global_id, error, payload, attempts, next_attempt, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        letter.direction, letter.system, letter.datatype, letter.external_id,
                        letter.global_type, letter.global_id, letter.error, payload,
                        letter.attempts, next_attempt, now, now,
                    ),
                )
                letter_id = int(cur.lastrowid or 0)
            else:
                self._conn.execute(
                    "UPDATE dead_letters SET attempts = attempts + 1, error = ?, payload = ?, "
                    "next_attempt = ?, updated_at = ? WHERE id = ?",
                    (letter.error, payload, next_attempt, now, letter_id),
                )
            row = self._conn.execute(
                f"SELECT {LETTER_COLS} FROM dead_letters WHERE id = ?", (letter_id,)
            ).fetchone()
        return decode_letter(row)

    def dead_letters(self, due_before: datetime | None = None) -> list[DeadLetter]:
        """All letters, or those due by then; a letter without a next attempt is never due."""
        if due_before is None:
            rows = self._conn.execute(f"SELECT {LETTER_COLS} FROM dead_letters ORDER BY id")
        else:
            rows = self._conn.execute(
                f"SELECT {LETTER_COLS} FROM dead_letters WHERE next_attempt <= ? ORDER BY id",
                (format_datetime(due_before),),
            )
        return [decode_letter(r) for r in rows]

    def remove_dead_letter(self, letter_id: int) -> None:
        self._conn.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))

    def schedule_dead_letter(self, letter_id: int, next_attempt: datetime) -> None:
        self._conn.execute(
            "UPDATE dead_letters SET next_attempt = ? WHERE id = ?",
            (format_datetime(next_attempt), letter_id),
        )

    def remove_read_letter(self, system: str, datatype: str, external_id: str) -> None:
        self._conn.execute(
            "DELETE FROM dead_letters WHERE direction = 'read' AND system = ? AND datatype = ? "
            "AND external_id = ?",
            (system, datatype, external_id),
        )

    def clear_dead_letters_for(self, system: str, global_type: str, global_id: str) -> None:
        self._conn.execute(
            "DELETE FROM dead_letters WHERE system = ? AND global_type = ? AND global_id = ?",
            (system, global_type, global_id),
        )
