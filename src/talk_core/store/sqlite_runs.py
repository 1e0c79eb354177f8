"""The history of runs."""

from __future__ import annotations

import sqlite3
from typing import Any

from talk_core.errors import StateError
from talk_core.serialize import dumps, loads, parse_datetime
from talk_core.store.base import Run
from talk_core.store.sqlite_rows import now_text

__all__ = ["SQLiteRuns"]


class SQLiteRuns:
    """The runs table of ``SQLiteStore`` (the run lock is ``SQLiteStore``'s own)."""

    _conn: sqlite3.Connection
    path: str

    # -- runs ----------------------------------------------------------------
    def start_run(self) -> int:
        cur = self._conn.execute(
            "INSERT INTO runs (started_at, status, summary) VALUES (?, 'running', '{}')",
            (now_text(),),
        )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        cur = self._conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            (now_text(), status, dumps(summary), run_id),
        )
        if cur.rowcount == 0:
            raise StateError(f"no run {run_id} to finish in {self.path}")

    def runs(self, limit: int = 10) -> list[Run]:
        """Newest first."""
        rows = self._conn.execute(
            "SELECT id, started_at, finished_at, status, summary FROM runs "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            Run(
                id=i, started_at=parse_datetime(s),
                finished_at=None if f is None else parse_datetime(f),
                status=st, summary=loads(sm),
            )
            for i, s, f, st, sm in rows
        ]
