"""The state store that ships: one SQLite file per sync setup.

Plain ``sqlite3`` with explicit transactions, so that the engine's
``transaction()`` blocks are exactly the units that reach the disk. WAL mode
lets ``talk status`` read while a run writes. The run lock is an OS lock on a
side file rather than a row, so a run killed with SIGKILL cannot leave a
stale lock behind; the row only serves to name the holder in the error.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from talk_core.errors import LockedError, StateError
from talk_core.model import Link
from talk_core.serialize import dumps, format_datetime, loads, parse_datetime
from talk_core.store import schema
from talk_core.store.base import Conflict, DeadLetter, InboxRow, JournalEntry, Run

__all__ = ["SQLiteStore"]

log = logging.getLogger("talk.state")

MEMORY = ":memory:"

#: SQLite's own limit is far higher; 500 keeps statements small and reusable.
MAX_PARAMS = 500

_LINK_COLS = 'global_type, global_id, system, datatype, external_id, hash, "values"'
_INBOX_COLS = "seq, global_type, system, datatype, external_id, kind, payload, global_id, deferred"
_LETTER_COLS = (
    "id, direction, system, datatype, external_id, global_type, global_id, error, payload, "
    "attempts, next_attempt, created_at, updated_at"
)


def _now() -> str:
    return format_datetime(datetime.now(UTC))


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _link(row: Sequence[Any]) -> Link:
    return Link(row[0], row[1], row[2], row[3], row[4], row[5], loads(row[6]))


def _inbox_row(row: Sequence[Any]) -> InboxRow:
    return InboxRow(
        global_type=row[1], system=row[2], datatype=row[3], external_id=row[4],
        kind=row[5], payload=None if row[6] is None else loads(row[6]),
        global_id=row[7], seq=row[0], deferred=row[8],
    )


def _letter(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(
        id=row[0], direction=row[1], system=row[2], datatype=row[3], external_id=row[4],
        global_type=row[5], global_id=row[6], error=row[7],
        payload=None if row[8] is None else loads(row[8]), attempts=row[9],
        next_attempt=None if row[10] is None else parse_datetime(row[10]),
        created_at=parse_datetime(row[11]), updated_at=parse_datetime(row[12]),
    )


def _optional_time(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


def _create_private(path: Path) -> None:
    """Create the file readable by its owner only before anything else can open it.

    The state holds OAuth tokens; relying on the umask would leave them
    world-readable on most machines.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _tighten(path)


def _tighten(path: Path) -> None:
    """A state file others may read (copied, restored, made by hand) is made private again."""
    mode = path.stat().st_mode & 0o777
    if not mode & 0o077:
        return
    try:
        os.chmod(path, 0o600)
    except OSError as exc:
        log.warning("%s holds tokens and is readable by others (mode %03o); could not make "
                    "it private: %s", path, mode, exc.strerror)
        return
    log.warning("%s holds tokens and was readable by others (mode %03o); it is now 0600",
                path, mode)


def _open_error(path: str, exc: sqlite3.Error) -> StateError:
    text = str(exc)
    if "not a database" in text:
        what = f"is not a talk state file ({text})"
    elif "malformed" in text or "corrupt" in text:
        what = f"is damaged ({text})"
    else:
        what = f"cannot be opened as a talk state file ({text})"
    return StateError(f"{path} {what}; move it away or point [state] path elsewhere")


def _verify(conn: sqlite3.Connection, path: str) -> None:
    """Find damage now rather than half-way through a run.

    A damaged page otherwise only shows when a query happens to touch it,
    as a raw ``sqlite3`` error in the middle of a merge. ``quick_check``
    reads the whole file once (about 40 ms for 35 MB), a fair price per run.
    """
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise StateError(
            f"{path} is damaged ({'; '.join(problems)}); move it away or point "
            "[state] path elsewhere"
        )


class SQLiteStore:
    """``StateStore`` on one SQLite file. Not thread-safe, like the protocol."""

    path: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._depth = 0
        self._dry_run = False
        self._lock_fd: int | None = None
        self._memory_locked = False
        self._conn = self._connect()

    @classmethod
    def memory(cls) -> SQLiteStore:
        """A store that lives and dies with the object, for tests and benchmarks."""
        return cls(MEMORY)

    @property
    def is_memory(self) -> bool:
        return self.path == MEMORY

    def _connect(self) -> sqlite3.Connection:
        if not self.is_memory:
            _create_private(Path(self.path))
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=5.0, cached_statements=256
            )
        except sqlite3.Error as exc:
            raise _open_error(self.path, exc) from exc
        try:
            schema.check(conn, self.path)
            if not self.is_memory:
                _verify(conn, self.path)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 10000")
            # 64 MiB of page cache, a bound that does not grow with the state:
            # the default 2 MiB let the match-key and link indexes of 100k
            # records fall out of cache between batches.
            conn.execute("PRAGMA cache_size = -65536")
            schema.migrate(conn, self.path)
        except StateError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise _open_error(self.path, exc) from exc
        if not self.is_memory:
            for suffix in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(self.path + suffix, 0o600)
        return conn

    # -- lifecycle -------------------------------------------------------
    def close(self) -> None:
        """Roll back whatever is open (an unfinished dry run included) and let go."""
        if self._conn is None:
            return
        with contextlib.suppress(sqlite3.Error):
            if self._lock_fd is not None or self._memory_locked:
                self.release_lock()
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        self._depth = 0
        self._dry_run = False
        self._conn.close()
        self._conn = None  # type: ignore[assignment]

    def _begin(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(
                f"{self.path} is busy ({exc}); another process is writing to it"
            ) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Outermost: BEGIN IMMEDIATE .. COMMIT; nested: a savepoint.

        IMMEDIATE takes the write lock up front, so a transaction never fails
        half-way because another connection wrote first. A failing inner
        block undoes only itself; the outer one decides about the rest.
        """
        conn = self._conn
        if self._depth == 0:
            self._begin()
            self._depth = 1
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                self._depth = 0
            return
        name = f"sp{self._depth}"
        conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1

    @contextlib.contextmanager
    def _atomic(self) -> Iterator[None]:
        """For this class's own multi-statement methods: a transaction when none is open.

        Inside the caller's transaction no savepoint is needed, since the
        caller commits or rolls back the whole; a savepoint per call cost a
        quarter of an initial sync.
        """
        if self._depth:
            yield
        else:
            with self.transaction():
                yield

    def begin_dry_run(self) -> None:
        """Hold one outer transaction open that only ``end_dry_run`` ends, by rolling back."""
        if self._dry_run:
            raise StateError("a dry run is already in progress")
        if self._depth:
            raise StateError("a dry run must begin outside any transaction")
        self._begin()
        self._depth = 1
        self._dry_run = True

    def end_dry_run(self) -> None:
        if not self._dry_run:
            raise StateError("no dry run in progress")
        if self._depth != 1:
            raise StateError("end_dry_run called inside a transaction")
        self._conn.execute("ROLLBACK")
        self._depth = 0
        self._dry_run = False

    def acquire_lock(self, owner: str) -> None:
        if self._lock_fd is not None or self._memory_locked:
            raise LockedError(f"this store already holds the lock on {self.path}")
        if self.is_memory:
            self._memory_locked = True
            return
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LockedError(self._locked_message()) from None
        self._lock_fd = fd
        try:
            with self.transaction():
                self._conn.execute(
                    "INSERT OR REPLACE INTO lock (id, owner, pid, since) VALUES (1, ?, ?, ?)",
                    (owner, os.getpid(), _now()),
                )
        except BaseException:
            self._unlock_fd()
            raise

    def _locked_message(self) -> str:
        row = self._conn.execute("SELECT owner, pid, since FROM lock WHERE id = 1").fetchone()
        if row is None:
            holder = "another sync"
        else:
            since = parse_datetime(row[2]).strftime("%Y-%m-%dT%H:%M:%SZ")
            holder = f"another sync ({row[0]}, pid {row[1]}, started {since})"
        return f"{holder} holds the lock on {self.path}; wait for it to finish"

    def _unlock_fd(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def release_lock(self) -> None:
        if self._memory_locked:
            self._memory_locked = False
            return
        if self._lock_fd is None:
            return
        try:
            with self.transaction():
                self._conn.execute("DELETE FROM lock WHERE id = 1 AND pid = ?", (os.getpid(),))
        finally:
            self._unlock_fd()

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
            (system, datatype, cursor, _now()),
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
                None if r.payload is None else dumps(r.payload), r.global_id, r.deferred,
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
            f"SELECT {_INBOX_COLS} FROM inbox WHERE global_type = ? AND global_id IS NULL "
            "AND deferred IS NULL ORDER BY seq LIMIT ?",
            (global_type, limit),
        )
        return [_inbox_row(r) for r in rows]

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
            f"SELECT {_INBOX_COLS} FROM inbox WHERE global_type = ? "
            f"AND global_id IS NOT NULL AND deferred IS NULL {start} AND global_id <= ? "
            "ORDER BY global_id, seq",
            (*args, last),
        )
        return [_inbox_row(r) for r in rows]

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
            found.extend(_inbox_row(r) for r in self._conn.execute(
                f"SELECT {_INBOX_COLS} FROM inbox WHERE seq <= ? AND system = ? "
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
            f"SELECT {_INBOX_COLS} FROM inbox WHERE deferred IS NOT NULL ORDER BY seq"
        )
        return [_inbox_row(r) for r in rows]

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
        for chunk in _chunks(wanted, MAX_PARAMS - 1):
            rows = self._conn.execute(
                f'SELECT global_id, "values" FROM globals WHERE global_type = ? '
                f"AND global_id IN ({_marks(len(chunk))})",
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
            (global_type, global_id, dumps(values), _now()),
        )

    def put_globals(self, global_type: str, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        now = _now()
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
        for chunk in _chunks(wanted, MAX_PARAMS - 2):
            rows = self._conn.execute(
                "SELECT value, global_id FROM match_keys WHERE global_type = ? AND key = ? "
                f"AND value IN ({_marks(len(chunk))}) ORDER BY value, global_id",
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

    # -- links -----------------------------------------------------------
    def get_link(
        self, system: str, datatype: str, external_id: str, global_type: str
    ) -> Link | None:
        row = self._conn.execute(
            f"SELECT {_LINK_COLS} FROM links WHERE global_type = ? AND system = ? "
            "AND datatype = ? AND external_id = ?",
            (global_type, system, datatype, external_id),
        ).fetchone()
        return None if row is None else _link(row)

    def links_by_external(
        self, system: str, datatype: str, global_type: str, external_ids: Iterable[str]
    ) -> dict[str, Link]:
        wanted = list(external_ids)
        found: dict[str, Link] = {}
        execute = self._conn.execute
        for chunk in _chunks(wanted, MAX_PARAMS - 3):
            rows = execute(
                f"SELECT {_LINK_COLS} FROM links WHERE global_type = ? AND system = ? "
                f"AND datatype = ? AND external_id IN ({_marks(len(chunk))})",
                (global_type, system, datatype, *chunk),
            )
            for row in rows:
                found[row[4]] = Link(
                    row[0], row[1], row[2], row[3], row[4], row[5], loads(row[6])
                )
        return found

    def link_ids(self, system: str, datatype: str, global_type: str,
                 external_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """external id -> (global id, hash), without decoding the links' values."""
        found: dict[str, tuple[str, str | None]] = {}
        for chunk in _chunks(list(external_ids), MAX_PARAMS - 3):
            rows = self._conn.execute(
                "SELECT external_id, global_id, hash FROM links WHERE global_type = ? "
                f"AND system = ? AND datatype = ? AND external_id IN ({_marks(len(chunk))})",
                (global_type, system, datatype, *chunk),
            )
            for ext, gid, digest in rows:
                found[ext] = (gid, digest)
        return found

    def find_links_many(self, system: str, datatype: str, external_ids: Iterable[str],
                        global_types: Iterable[str]) -> dict[str, str]:
        """external id -> global id for referenced records; the first type listed wins."""
        order = {t: i for i, t in enumerate(global_types)}
        best: dict[str, tuple[int, str]] = {}
        if not order:
            return {}
        for chunk in _chunks(list(external_ids), MAX_PARAMS - 2 - len(order)):
            rows = self._conn.execute(
                "SELECT external_id, global_type, global_id FROM links WHERE system = ? "
                f"AND datatype = ? AND external_id IN ({_marks(len(chunk))}) "
                f"AND global_type IN ({_marks(len(order))})",
                (system, datatype, *chunk, *order),
            )
            for ext, gt, gid in rows:
                rank = order[gt]
                if ext not in best or rank < best[ext][0]:
                    best[ext] = (rank, gid)
        return {ext: gid for ext, (_rank, gid) in best.items()}

    def links_for_many(self, global_types: Iterable[str], global_ids: Iterable[str],
                       system: str) -> dict[str, str]:
        """global id -> external id in ``system``, over any of the global types."""
        types = list(global_types)
        found: dict[str, str] = {}
        for chunk in _chunks(list(global_ids), MAX_PARAMS - 1 - len(types)):
            rows = self._conn.execute(
                "SELECT global_id, external_id FROM links WHERE system = ? "
                f"AND global_type IN ({_marks(len(types))}) "
                f"AND global_id IN ({_marks(len(chunk))})",
                (system, *types, *chunk),
            )
            for gid, ext in rows:
                found.setdefault(gid, ext)
        return found

    def find_link(
        self, system: str, datatype: str, external_id: str, global_types: Iterable[str]
    ) -> Link | None:
        """If the record is linked under several of the types, the first one listed wins."""
        order = {t: i for i, t in enumerate(global_types)}
        if not order:
            return None
        rows = self._conn.execute(
            f"SELECT {_LINK_COLS} FROM links WHERE system = ? AND datatype = ? "
            f"AND external_id = ? AND global_type IN ({_marks(len(order))})",
            (system, datatype, external_id, *order),
        ).fetchall()
        if not rows:
            return None
        return _link(min(rows, key=lambda r: order[r[0]]))

    def link_for(self, global_type: str, global_id: str, system: str) -> Link | None:
        row = self._conn.execute(
            f"SELECT {_LINK_COLS} FROM links WHERE global_type = ? AND global_id = ? "
            "AND system = ?",
            (global_type, global_id, system),
        ).fetchone()
        return None if row is None else _link(row)

    def links_of(self, global_type: str, global_id: str) -> list[Link]:
        rows = self._conn.execute(
            f"SELECT {_LINK_COLS} FROM links WHERE global_type = ? AND global_id = ? "
            "ORDER BY rowid",
            (global_type, global_id),
        )
        return [_link(r) for r in rows]

    def links_of_many(self, global_type: str, ids: Iterable[str]) -> dict[str, list[Link]]:
        """Every id asked for is a key, with an empty list when it has no links."""
        found: dict[str, list[Link]] = {global_id: [] for global_id in ids}
        wanted = list(found)
        for chunk in _chunks(wanted, MAX_PARAMS - 1):
            rows = self._conn.execute(
                f"SELECT {_LINK_COLS} FROM links WHERE global_type = ? "
                f"AND global_id IN ({_marks(len(chunk))}) ORDER BY rowid",
                (global_type, *chunk),
            )
            for row in rows:
                found[row[1]].append(_link(row))
        return found

    def put_link(self, link: Link) -> None:
        """Upsert on the external identity; never silently drops another link.

        ``INSERT OR REPLACE`` would also delete a different link that clashes
        on (global_type, global_id, system), losing it without a word; here
        that clash is an error the caller has to resolve.
        """
        try:
            self._conn.execute(
                f"INSERT INTO links ({_LINK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (global_type, system, datatype, external_id) DO UPDATE "
                'SET global_id = excluded.global_id, hash = excluded.hash, '
                '"values" = excluded."values"',
                (
                    link.global_type, link.global_id, link.system, link.datatype,
                    link.external_id, link.hash, dumps(link.values),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StateError(
                f"global {link.global_type} {link.global_id!r} is already linked to another "
                f"record in {link.system}; cannot also link {link.datatype} "
                f"{link.external_id!r} ({exc})"
            ) from exc

    def put_links(self, links: Iterable[Link]) -> None:
        """``put_link`` for many; a clash is an error as there."""
        try:
            self._conn.executemany(
                f"INSERT INTO links ({_LINK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (global_type, system, datatype, external_id) DO UPDATE "
                'SET global_id = excluded.global_id, hash = excluded.hash, '
                '"values" = excluded."values"',
                [(lk.global_type, lk.global_id, lk.system, lk.datatype, lk.external_id,
                  lk.hash, dumps(lk.values)) for lk in links],
            )
        except sqlite3.IntegrityError as exc:
            raise StateError(f"a global entity is already linked to another record in that "
                             f"system ({exc})") from exc

    def delete_link(self, link: Link) -> None:
        self._conn.execute(
            "DELETE FROM links WHERE global_type = ? AND system = ? AND datatype = ? "
            "AND external_id = ?",
            (link.global_type, link.system, link.datatype, link.external_id),
        )

    @staticmethod
    def _link_filter(**columns: str | None) -> tuple[str, tuple[str, ...]]:
        used = {name: value for name, value in columns.items() if value is not None}
        where = " AND ".join(f"{name} = ?" for name in used)
        return (f"WHERE {where}" if where else ""), tuple(used.values())

    def count_links(
        self, global_type: str | None = None, system: str | None = None,
        datatype: str | None = None,
    ) -> int:
        where, args = self._link_filter(global_type=global_type, system=system, datatype=datatype)
        return int(self._conn.execute(f"SELECT count(*) FROM links {where}", args).fetchone()[0])

    def link_counts(self) -> list[tuple[str, str, str, int]]:
        rows = self._conn.execute(
            "SELECT system, datatype, global_type, count(*) FROM links "
            "GROUP BY system, datatype, global_type ORDER BY system, datatype, global_type"
        )
        return [(s, d, g, int(n)) for s, d, g, n in rows]

    def iter_links(
        self, system: str | None = None, datatype: str | None = None,
        global_type: str | None = None, global_id: str | None = None,
    ) -> Iterator[Link]:
        """Pages by rowid so no cursor stays open while the caller writes between items."""
        where, args = self._link_filter(
            system=system, datatype=datatype, global_type=global_type, global_id=global_id
        )
        where = f"{where} AND rowid > ?" if where else "WHERE rowid > ?"
        last = -1
        while True:
            rows = self._conn.execute(
                f"SELECT rowid, {_LINK_COLS} FROM links {where} ORDER BY rowid LIMIT 1000",
                (*args, last),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _link(row[1:])
            last = rows[-1][0]

    def detach(self, global_type: str, global_id: str, system: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO detached (global_type, global_id, system) VALUES (?, ?, ?)",
            (global_type, global_id, system),
        )

    def detached_of(self, global_type: str, global_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(global id, system) pairs among ``global_ids`` that must not be created again."""
        found: set[tuple[str, str]] = set()
        for chunk in _chunks(list(global_ids), MAX_PARAMS - 1):
            rows = self._conn.execute(
                "SELECT global_id, system FROM detached WHERE global_type = ? "
                f"AND global_id IN ({_marks(len(chunk))})",
                (global_type, *chunk),
            )
            found.update((gid, system) for gid, system in rows)
        return found

    def is_detached(self, global_type: str, global_id: str, system: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM detached WHERE global_type = ? AND global_id = ? AND system = ?",
            (global_type, global_id, system),
        ).fetchone()
        return row is not None

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
            f"SELECT {_LINK_COLS} FROM links AS l WHERE l.system = ? AND l.datatype = ? "
            "AND l.global_type = ? AND NOT EXISTS (SELECT 1 FROM seen AS s WHERE "
            "s.system = l.system AND s.datatype = l.datatype AND s.external_id = l.external_id) "
            "ORDER BY l.rowid",
            (system, datatype, global_type),
        )
        return [_link(r) for r in rows]

    # -- journal -----------------------------------------------------------
    def journal_add(self, entry: JournalEntry) -> None:
        created = entry.created_at or datetime.now(UTC)
        self._conn.execute(
            "INSERT OR REPLACE INTO journal (key, global_type, global_id, system, datatype, "
            "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                entry.key, entry.global_type, entry.global_id, entry.system, entry.datatype,
                dumps(entry.payload), format_datetime(created),
            ),
        )

    def journal_add_many(self, entries: Iterable[JournalEntry]) -> None:
        now = datetime.now(UTC)
        stamps: dict[datetime, str] = {}  # a batch's entries share a handful of times

        def stamp(at: datetime) -> str:
            text = stamps.get(at)
            if text is None:
                text = stamps[at] = format_datetime(at)
            return text

        self._conn.executemany(
            "INSERT OR REPLACE INTO journal (key, global_type, global_id, system, datatype, "
            "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(e.key, e.global_type, e.global_id, e.system, e.datatype, dumps(e.payload),
              stamp(e.created_at or now)) for e in entries],
        )

    def journal_remove_many(self, keys: Iterable[str]) -> None:
        self._conn.executemany("DELETE FROM journal WHERE key = ?", [(k,) for k in keys])

    def journal_remove(self, key: str) -> None:
        self._conn.execute("DELETE FROM journal WHERE key = ?", (key,))

    def journal_pending(self) -> list[JournalEntry]:
        rows = self._conn.execute(
            "SELECT key, global_type, global_id, system, datatype, payload, created_at "
            "FROM journal ORDER BY created_at, key"
        )
        return [
            JournalEntry(k, gt, gi, s, d, loads(p), parse_datetime(c))
            for k, gt, gi, s, d, p, c in rows
        ]

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
        now = _now()
        payload = None if letter.payload is None else dumps(letter.payload)
        next_attempt = _optional_time(letter.next_attempt)
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
                f"SELECT {_LETTER_COLS} FROM dead_letters WHERE id = ?", (letter_id,)
            ).fetchone()
        return _letter(row)

    def dead_letters(self, due_before: datetime | None = None) -> list[DeadLetter]:
        """All letters, or those due by then; a letter without a next attempt is never due."""
        if due_before is None:
            rows = self._conn.execute(f"SELECT {_LETTER_COLS} FROM dead_letters ORDER BY id")
        else:
            rows = self._conn.execute(
                f"SELECT {_LETTER_COLS} FROM dead_letters WHERE next_attempt <= ? ORDER BY id",
                (format_datetime(due_before),),
            )
        return [_letter(r) for r in rows]

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

    # -- tokens --------------------------------------------------------------
    def get_token(self, system: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT token FROM tokens WHERE system = ?", (system,)).fetchone()
        return None if row is None else loads(row[0])

    def put_token(self, system: str, token: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO tokens (system, token, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (system) DO UPDATE SET token = excluded.token, "
            "updated_at = excluded.updated_at",
            (system, dumps(token), _now()),
        )

    # -- runs ----------------------------------------------------------------
    def start_run(self) -> int:
        cur = self._conn.execute(
            "INSERT INTO runs (started_at, status, summary) VALUES (?, 'running', '{}')",
            (_now(),),
        )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        cur = self._conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            (_now(), status, dumps(summary), run_id),
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
