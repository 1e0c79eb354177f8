"""The merged global entities, their parents and the match keys that find them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

from talk_core.errors import StateError
from talk_core.serialize import dumps, loads
from talk_core.store.sqlite_rows import MAX_PARAMS, chunks, marks, now_text

__all__ = ["SQLiteGlobals"]


class SQLiteGlobals:
    """The globals and match_keys tables of ``SQLiteStore``."""

    _conn: sqlite3.Connection
    _atomic: Callable[[], AbstractContextManager[None]]

    # -- global entities and match keys ----------------------------------
    def get_global(self, global_type: str, global_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            'SELECT "values" FROM globals WHERE global_type = ? AND global_id = ?',
            (global_type, global_id),
        ).fetchone()
        return None if row is None else loads(row[0])

    def get_globals(self, global_type: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(ids)
        found: dict[str, dict[str, Any]] = {}
        for chunk in chunks(wanted, MAX_PARAMS - 1):
            rows = self._conn.execute(
                f'SELECT global_id, "values" FROM globals WHERE global_type = ? '
                f"AND global_id IN ({marks(len(chunk))})",
                (global_type, *chunk),
            )
            for global_id, values in rows:
                found[global_id] = loads(values)
        return found

    def put_global(self, global_type: str, global_id: str, values: dict[str, Any]) -> None:
        """Upsert, so the row keeps its rowid (children's order) and its parent."""
        self._conn.execute(
            'INSERT INTO globals (global_type, global_id, "values", updated_at) '
            "VALUES (?, ?, ?, ?) ON CONFLICT (global_type, global_id) DO UPDATE "
            'SET "values" = excluded."values", updated_at = excluded.updated_at',
            (global_type, global_id, dumps(values), now_text()),
        )

    def put_globals(self, global_type: str, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        now = now_text()
        self._conn.executemany(
            'INSERT INTO globals (global_type, global_id, "values", updated_at) '
            "VALUES (?, ?, ?, ?) ON CONFLICT (global_type, global_id) DO UPDATE "
            'SET "values" = excluded."values", updated_at = excluded.updated_at',
            [(global_type, gid, dumps(values), now) for gid, values in items],
        )

    def set_parents(self, global_type: str, pairs: Iterable[tuple[str, str | None]]) -> None:
        self._conn.executemany(
            "UPDATE globals SET parent_id = ? WHERE global_type = ? AND global_id = ?",
            [(parent, global_type, gid) for gid, parent in pairs],
        )

    def delete_global(self, global_type: str, global_id: str) -> None:
        with self._atomic():
            self._conn.execute(
                "DELETE FROM globals WHERE global_type = ? AND global_id = ?",
                (global_type, global_id),
            )
            self._conn.execute(
                "DELETE FROM match_keys WHERE global_type = ? AND global_id = ?",
                (global_type, global_id),
            )

    def set_match_keys(self, global_type: str, global_id: str, keys: dict[str, str]) -> None:
        """Keys whose value is None are left out: an empty key must match nothing."""
        with self._atomic():
            self._conn.execute(
                "DELETE FROM match_keys WHERE global_type = ? AND global_id = ?",
                (global_type, global_id),
            )
            self._conn.executemany(
                "INSERT INTO match_keys (global_type, key, value, global_id) VALUES (?, ?, ?, ?)",
                [(global_type, k, v, global_id) for k, v in keys.items() if v is not None],
            )

    def add_match_keys(self, global_type: str, rows: Iterable[tuple[str, str, str]]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO match_keys (global_type, key, value, global_id) "
            "VALUES (?, ?, ?, ?)",
            [(global_type, key, value, gid) for gid, key, value in rows],
        )

    def find_by_keys(self, global_type: str, key: str, values: Iterable[str]
                     ) -> dict[str, list[str]]:
        wanted = list(dict.fromkeys(values))
        found: dict[str, list[str]] = {}
        for chunk in chunks(wanted, MAX_PARAMS - 2):
            rows = self._conn.execute(
                "SELECT value, global_id FROM match_keys WHERE global_type = ? AND key = ? "
                f"AND value IN ({marks(len(chunk))}) ORDER BY value, global_id",
                (global_type, key, *chunk),
            )
            for value, gid in rows:
                found.setdefault(value, []).append(gid)
        return found

    def find_by_key(self, global_type: str, key: str, value: str) -> list[str]:
        rows = self._conn.execute(
            "SELECT global_id FROM match_keys WHERE global_type = ? AND key = ? AND value = ? "
            "ORDER BY global_id",
            (global_type, key, value),
        )
        return [r[0] for r in rows]

    def children_of(self, global_type: str, parent_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._conn.execute(
            'SELECT global_id, "values" FROM globals WHERE global_type = ? AND parent_id = ? '
            "ORDER BY rowid",
            (global_type, parent_id),
        )
        return [(global_id, loads(values)) for global_id, values in rows]

    def set_parent(self, global_type: str, global_id: str, parent_id: str | None) -> None:
        """Refuses an unknown entity: silently dropping a parent would orphan lines."""
        cur = self._conn.execute(
            "UPDATE globals SET parent_id = ? WHERE global_type = ? AND global_id = ?",
            (parent_id, global_type, global_id),
        )
        if cur.rowcount == 0:
            raise StateError(f"no global {global_type} {global_id!r} to set the parent of")
