"""The history of runs.

A run whose process was killed never writes its end: its row says
``running`` although nothing runs. The lock's row, which a run deletes
when it ends, then still names that process (host and pid): once that
process is gone, the row reads as ``killed``, and the next run that takes
the lock marks every earlier ``running`` row ``killed`` for good. A store
used without the lock (a library user's own runs) is read as written.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable
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
    #: SQLiteStore's: whether this store holds the run lock
    _holds_lock: Callable[[], bool]

    # -- runs ----------------------------------------------------------------
    def start_run(self) -> int:
        """With the lock held, a run still ``running`` now is one whose process was killed."""
        if self._holds_lock():
            self._conn.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'")
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
        ).fetchall()
        live = self._live_run()
        return [
            Run(
                id=i, started_at=parse_datetime(s),
                finished_at=None if f is None else parse_datetime(f),
                status="killed" if st == "running" and i != live else st, summary=loads(sm),
            )
            for i, s, f, st, sm in rows
        ]

    def _live_run(self) -> int | None:
        """The run a live process is running now, if any: the newest, while its lock is held."""
        newest = self._conn.execute(
            "SELECT max(id) FROM runs WHERE status = 'running'").fetchone()[0]
        if newest is None:
            return None
        holder = self._conn.execute("SELECT owner, pid FROM lock WHERE id = 1").fetchone()
        if holder is None:
            return int(newest)  # no run took the lock: nothing says it was killed
        owner, pid = str(holder[0]), int(holder[1])
        if owner.rpartition(":")[0] != socket.gethostname():
            return int(newest)  # another host's process: it cannot be asked from here
        return int(newest) if _alive(pid) else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
