"""A run's input: staged records, the systems' cursors and what a full listing saw."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from talk_core.model import Link
from talk_core.serialize import dumps, parse_datetime
from talk_core.store.base import InboxRow
from talk_core.store.sqlite_rows import (
    INBOX_COLS,
    LINK_COLS,
    decode_inbox_row,
    decode_link,
    now_text,
)

__all__ = ["SQLiteInbox"]


class SQLiteInbox:
    """The inbox, cursors and seen tables of ``SQLiteStore``."""

    _conn: sqlite3.Connection
    _atomic: Callable[[], AbstractContextManager[None]]

    # -- cursors ---------------------------------------------------------
    def get_cursor(self, system: str, datatype: str) -> str | None:
        row = self._conn.execute(
            "SELECT cursor FROM cursors WHERE system = ? AND datatype = ?", (system, datatype)
        ).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, system: str, datatype: str, cursor: str | None) -> None:
        self._conn.execute(
            "INSERT INTO cursors (system, datatype, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (system, datatype) DO UPDATE "
            "SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            (system, datatype, cursor, now_text()),
        )

    def cursors(self) -> list[tuple[str, str, str | None, datetime]]:
        rows = self._conn.execute(
            "SELECT system, datatype, cursor, updated_at FROM cursors ORDER BY system, datatype"
        )
        return [(s, d, c, parse_datetime(u)) for s, d, c, u in rows]

    # -- inbox -----------------------------------------------------------
    def stage(self, rows: Iterable[InboxRow]) -> None:
        params = [
            (
                r.global_type, r.system, r.datatype, r.external_id, r.kind,
                None if r.payload is None else dumps(r.payload.as_json()), r.global_id, r.deferred,
            )
            for r in rows
        ]
        with self._atomic():
            self._conn.executemany(
                "INSERT INTO inbox (global_type, system, datatype, external_id, kind, "
                "payload, global_id, deferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    def inbox_unresolved(self, global_type: str, limit: int) -> list[InboxRow]:
        rows = self._conn.execute(
            f"SELECT {INBOX_COLS} FROM inbox WHERE global_type = ? AND global_id IS NULL "
            "AND deferred IS NULL ORDER BY seq LIMIT ?",
            (global_type, limit),
        )
        return [decode_inbox_row(r) for r in rows]

    def inbox_resolve_many(self, pairs: Iterable[tuple[int, str]]) -> None:
        self._conn.executemany("UPDATE inbox SET global_id = ? WHERE seq = ?",
                               [(gid, seq) for seq, gid in pairs])

    def inbox_claimant(self, global_type: str, global_id: str, system: str) -> str | None:
        """The external id of a staged record of ``system`` already resolved to the entity."""
        row = self._conn.execute(
            "SELECT external_id FROM inbox WHERE global_type = ? AND global_id = ? "
            "AND system = ? AND kind = 'read' LIMIT 1",
            (global_type, global_id, system),
        ).fetchone()
        return None if row is None else str(row[0])

    def inbox_resolve(self, seq: int, global_id: str) -> None:
        self._conn.execute("UPDATE inbox SET global_id = ? WHERE seq = ?", (global_id, seq))

    def inbox_groups(self, global_type: str, after: str | None, limit: int) -> list[InboxRow]:
        """Pick whole groups by their sizes first, then fetch them as one id range.

        Reading the row counts per id lets the cut fall between groups; the
        second query then takes every row in (after, last id], which is the
        same set of groups without a long ``IN`` list.
        """
        start = "" if after is None else "AND global_id > ?"
        args: tuple[Any, ...] = (global_type,) if after is None else (global_type, after)
        counts = self._conn.execute(
            "SELECT global_id, count(*) FROM inbox WHERE global_type = ? "
            f"AND global_id IS NOT NULL AND deferred IS NULL {start} "
            "GROUP BY global_id ORDER BY global_id LIMIT ?",
            (*args, max(limit, 1)),
        ).fetchall()
        if not counts:
            return []
        total = 0
        last = counts[0][0]
        for global_id, count in counts:
            if total and total + count > limit:
                break
            total += count
            last = global_id
        rows = self._conn.execute(
            f"SELECT {INBOX_COLS} FROM inbox WHERE global_type = ? "
            f"AND global_id IS NOT NULL AND deferred IS NULL {start} AND global_id <= ? "
            "ORDER BY global_id, seq",
            (*args, last),
        )
        return [decode_inbox_row(r) for r in rows]

    def inbox_delete(self, seqs: Iterable[int]) -> None:
        with self._atomic():
            self._conn.executemany("DELETE FROM inbox WHERE seq = ?", [(s,) for s in seqs])

    def inbox_defer(self, seq: int, reason: str) -> None:
        self._conn.execute("UPDATE inbox SET deferred = ? WHERE seq = ?", (reason, seq))

    def inbox_undefer(self, global_type: str) -> int:
        cur = self._conn.execute(
            "UPDATE inbox SET deferred = NULL WHERE global_type = ? AND deferred IS NOT NULL",
            (global_type,),
        )
        return cur.rowcount

    def inbox_count(self, global_type: str | None = None) -> int:
        if global_type is None:
            row = self._conn.execute("SELECT count(*) FROM inbox").fetchone()
        else:
            row = self._conn.execute(
                "SELECT count(*) FROM inbox WHERE global_type = ?", (global_type,)
            ).fetchone()
        return int(row[0])

    def inbox_last_seq(self) -> int:
        row = self._conn.execute("SELECT max(seq) FROM inbox").fetchone()
        return int(row[0] or 0)

    def inbox_reads_until(self, seq: int, system: str, datatype: str,
                          external_ids: Iterable[str]) -> list[InboxRow]:
        """``seq`` is the rowid: only the rows staged up to it are looked at."""
        ids = list(dict.fromkeys(external_ids))
        found: list[InboxRow] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.extend(decode_inbox_row(r) for r in self._conn.execute(
                f"SELECT {INBOX_COLS} FROM inbox WHERE seq <= ? AND system = ? "
                f"AND datatype = ? AND kind = 'read' "
                f"AND external_id IN ({','.join('?' * len(chunk))}) ORDER BY seq",
                (seq, system, datatype, *chunk)))
        return found

    def inbox_deletes(self, global_type: str, datatype: str | None = None) -> dict[str, int]:
        only = "" if datatype is None else "AND datatype = ? "
        args = (global_type,) if datatype is None else (global_type, datatype)
        rows = self._conn.execute(
            "SELECT system, count(DISTINCT datatype || '/' || external_id) FROM inbox "
            "WHERE global_type = ? AND kind = 'read' "
            f"{only}AND json_extract(payload, '$.deleted') = 1 GROUP BY system",
            args,
        )
        return {system: int(n) for system, n in rows}

    def inbox_deferred(self) -> list[InboxRow]:
        rows = self._conn.execute(
            f"SELECT {INBOX_COLS} FROM inbox WHERE deferred IS NOT NULL ORDER BY seq"
        )
        return [decode_inbox_row(r) for r in rows]

    def inbox_referrers(self, system: str, global_type: str, prop: str,
                        external_ids: Iterable[str]) -> list[InboxRow]:
        ids = list(dict.fromkeys(str(e) for e in external_ids))
        path = '$.values."' + prop.replace('"', '') + '"'
        found: list[InboxRow] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.extend(decode_inbox_row(r) for r in self._conn.execute(
                f"SELECT {INBOX_COLS} FROM inbox WHERE global_type = ? AND system = ? "
                "AND kind = 'read' AND CAST(json_extract(payload, ?) AS TEXT) "
                f"IN ({','.join('?' * len(chunk))}) ORDER BY seq",
                (global_type, system, path, *chunk)))
        return found


    # -- full listings: which linked records were seen this run ------------
    def seen_reset(self, system: str, datatype: str) -> None:
        self._conn.execute(
            "DELETE FROM seen WHERE system = ? AND datatype = ?", (system, datatype)
        )

    def seen_add(self, system: str, datatype: str, external_ids: Iterable[str]) -> None:
        with self._atomic():
            self._conn.executemany(
                "INSERT OR IGNORE INTO seen (system, datatype, external_id) VALUES (?, ?, ?)",
                [(system, datatype, e) for e in external_ids],
            )

    def unseen_links(self, system: str, datatype: str, global_type: str) -> list[Link]:
        rows = self._conn.execute(
            f"SELECT {LINK_COLS} FROM links AS l WHERE l.system = ? AND l.datatype = ? "
            "AND l.global_type = ? AND NOT EXISTS (SELECT 1 FROM seen AS s WHERE "
            "s.system = l.system AND s.datatype = l.datatype AND s.external_id = l.external_id) "
            "ORDER BY l.rowid",
            (system, datatype, global_type),
        )
        return [decode_link(r) for r in rows]
