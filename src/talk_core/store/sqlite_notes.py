"""Plugins' notes in the notes table of ``SQLiteStore``, and the tokens kept as notes.

A note put ``at_once`` while no transaction of this store is open commits on
its own at once. While one is open (a dry run holds one for the whole run),
this connection holds SQLite's only write lock, so the note is held beside
the state (``held_notes``) and moved in when the transaction ends. Another
process's transaction also keeps the note out; it is held the same way
after the usual busy wait.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from talk_core.errors import StateError
from talk_core.serialize import dumps, loads
from talk_core.store.held_notes import HeldNote, HeldNotes
from talk_core.store.sqlite_rows import now_text

__all__ = ["SQLiteNotes", "token_note"]

log = logging.getLogger("talk.state")

_UPSERT = (
    "INSERT INTO notes (instance, name, value, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (instance, name) DO UPDATE SET value = excluded.value, "
    "updated_at = excluded.updated_at"
)
#: the store's usual wait for another process's write (``sqlite3.connect``'s timeout)
_BUSY_MS = 5000
_DELETE = "DELETE FROM notes WHERE instance = ? AND name = ?"


def token_note(system: str) -> tuple[str, str]:
    """Where ``get_token(system)`` reads: ``"name#kind"`` is note ``kind`` of ``name``.

    The tokens table used that key for every note of an instance; version 6
    of the state moved those rows to these notes.
    """
    instance, mark, kind = system.partition("#")
    return (instance, kind) if mark else (system, "token")


class SQLiteNotes:
    """The notes table of ``SQLiteStore``."""

    _conn: sqlite3.Connection
    _held: HeldNotes
    _held_pending: bool
    path: str
    #: SQLiteStore's: whether its own transaction holds the file now
    _holds_state: Callable[[], bool]

    def _note_error(self, what: str, exc: sqlite3.Error) -> StateError:
        return StateError(f"{what} in {self.path} failed ({exc})")

    # -- reads ---------------------------------------------------------------
    def get_note(self, instance: str, name: str) -> Any | None:
        try:
            row = self._conn.execute(
                "SELECT value, updated_at FROM notes WHERE instance = ? AND name = ?",
                (instance, name),
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._note_error(f"reading note {name!r} of {instance!r}", exc) from exc
        text, at = (None, "") if row is None else row
        for held_instance, held_name, held_text, held_at in self._held.entries():
            if held_instance == instance and held_name == name and held_at >= at:
                text, at = held_text, held_at
        return None if text is None else loads(text)

    def notes(self, instance: str) -> dict[str, Any]:
        try:
            rows = self._conn.execute(
                "SELECT name, value, updated_at FROM notes WHERE instance = ? ORDER BY name",
                (instance,),
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._note_error(f"reading the notes of {instance!r}", exc) from exc
        found: dict[str, tuple[str | None, str]] = {n: (v, at) for n, v, at in rows}
        for held_instance, name, text, at in self._held.entries():
            if held_instance == instance and at >= found.get(name, (None, ""))[1]:
                found[name] = (text, at)
        return {n: loads(text) for n, (text, _) in sorted(found.items()) if text is not None}

    # -- writes --------------------------------------------------------------
    def put_note(self, instance: str, name: str, value: Any, *, at_once: bool = False) -> None:
        self._write_note((instance, name, dumps(value), now_text()), at_once)

    def delete_note(self, instance: str, name: str, *, at_once: bool = False) -> None:
        self._write_note((instance, name, None, now_text()), at_once)

    def _write_note(self, note: HeldNote, at_once: bool) -> None:
        instance, name, _, _ = note
        if at_once and self._holds_state():
            self._hold(note)
            return
        try:
            self._apply_note(note)
        except sqlite3.OperationalError as exc:
            if not at_once:
                raise self._note_error(f"writing note {name!r} of {instance!r}", exc) from exc
            log.warning("%s is held by another process; note %r of %r kept beside it until "
                        "it is free", self.path, name, instance)
            self._hold(note)
        except sqlite3.Error as exc:
            raise self._note_error(f"writing note {name!r} of {instance!r}", exc) from exc

    def _apply_note(self, note: HeldNote) -> None:
        instance, name, text, at = note
        if text is None:
            self._conn.execute(_DELETE, (instance, name))
        else:
            self._conn.execute(_UPSERT, (instance, name, text, at))

    def _hold(self, note: HeldNote) -> None:
        try:
            self._held.add(note)
        except OSError as exc:
            raise StateError(f"note {note[1]!r} of {note[0]!r} could not be kept beside "
                             f"{self.path} ({exc.strerror})") from exc
        self._held_pending = True

    def _settle_notes(self) -> None:
        """Move held notes into the table, each unless the table's is newer; best effort.

        Called when no transaction of this store is open. A note that cannot be
        moved now (the state is busy, the disk full) stays held, and reads
        still see it.
        """
        self._held_pending = False
        try:
            with self._held.settle() as held:
                if not held:
                    return
                # another process's transaction is not waited for: the notes stay held
                self._conn.execute("PRAGMA busy_timeout = 0")
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                finally:
                    self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
                try:
                    for note in held:
                        instance, name, _, at = note
                        row = self._conn.execute(
                            "SELECT updated_at FROM notes WHERE instance = ? AND name = ?",
                            (instance, name)).fetchone()
                        if row is None or row[0] <= at:
                            self._apply_note(note)
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
        except sqlite3.OperationalError as exc:
            # another process's transaction: the next end of one of ours, or opening, retries
            self._held_pending = True
            log.debug("notes kept beside %s wait for it to be free (%s)", self.path, exc)
        except (sqlite3.Error, OSError) as exc:
            self._held_pending = True
            log.warning("notes kept beside %s could not be moved into it yet (%s)", self.path,
                        exc)

    # -- tokens: notes named "token" -------------------------------------------
    def get_token(self, system: str) -> dict[str, Any] | None:
        token = self.get_note(*token_note(system))
        return token if isinstance(token, dict) else None

    def put_token(self, system: str, token: dict[str, Any]) -> None:
        self.put_note(*token_note(system), token)
