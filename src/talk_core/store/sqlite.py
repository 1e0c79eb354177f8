"""The state store that ships: one SQLite file per sync setup.

Plain ``sqlite3`` with explicit transactions, so that the engine's
``transaction()`` blocks are exactly the units that reach the disk. WAL mode
lets ``talk status`` read while a run writes. The run lock is an OS lock on a
side file (``file_lock``: flock on POSIX, LockFileEx on Windows) rather than
a row, so a run killed outright cannot leave a stale lock behind; the row
only serves to name the holder in the error.
The tables' queries live in the ``sqlite_*`` mixins, one group of tables each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from talk_core.errors import LockedError, StateError
from talk_core.serialize import parse_datetime
from talk_core.store import file_lock, private, schema
from talk_core.store.held_notes import FileHeldNotes, HeldNotes, MemoryHeldNotes
from talk_core.store.sqlite_globals import SQLiteGlobals
from talk_core.store.sqlite_inbox import SQLiteInbox
from talk_core.store.sqlite_journal import SQLiteJournal
from talk_core.store.sqlite_links import SQLiteLinks
from talk_core.store.sqlite_notes import SQLiteNotes
from talk_core.store.sqlite_rows import now_text
from talk_core.store.sqlite_runs import SQLiteRuns

__all__ = ["SQLiteStore"]

log = logging.getLogger("talk.state")

MEMORY = ":memory:"


def _create_private(path: Path) -> bool:
    """Create the file readable by its owner only before anything else can open it.

    The state holds OAuth tokens; relying on the umask would leave them
    world-readable on most machines. True if the file was there already: it
    is made private only once it proved to be a talk state file, since
    talk never changes the mode of a file it does not own.
    """
    private.check_directory(path.parent)
    if private.check_file(path):
        private.check_side_files(str(path))
        return True
    private.check_side_files(str(path))
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | private.nofollow(),
                         0o600))
    except FileExistsError:  # made in between: checked like any other
        private.check_file(path)
        return True
    return False


def _tighten(path: Path) -> None:
    """A state file others may read (copied, restored, made by hand) is made private again."""
    mode = path.stat().st_mode & 0o777
    if not mode & 0o077 or not private.posix_modes():
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


class SQLiteStore(SQLiteInbox, SQLiteGlobals, SQLiteLinks, SQLiteJournal, SQLiteRuns,
                  SQLiteNotes):
    """``StateStore`` on one SQLite file. Not thread-safe, like the protocol."""

    path: str
    #: where notes put ``at_once`` wait while the state is held (see ``SQLiteNotes``)
    held_notes_path: str | None

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._depth = 0
        self._dry_run = False
        self._batch_of: dict[str, int] = {}  # see ``SQLiteJournal``
        self._batch_size: dict[int, int] = {}
        self._batches_known = False
        self._carrying = False  # see ``carrying``
        self._carried = False
        self._lock_fd: int | None = None
        self._memory_locked = False
        self.held_notes_path = None if self.is_memory else self.path + ".notes"
        self._held: HeldNotes = (MemoryHeldNotes() if self.held_notes_path is None
                                 else FileHeldNotes(self.held_notes_path))
        self._held_pending = False
        self._conn = self._connect()
        if self._held.entries():  # notes a process held when it stopped
            self._settle_notes()

    @classmethod
    def memory(cls) -> SQLiteStore:
        """A store that lives and dies with the object, for tests and benchmarks."""
        return cls(MEMORY)

    @property
    def is_memory(self) -> bool:
        return self.path == MEMORY

    def _connect(self) -> sqlite3.Connection:
        existed = not self.is_memory and _create_private(Path(self.path))
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=5.0, cached_statements=256
            )
        except sqlite3.Error as exc:
            raise _open_error(self.path, exc) from exc
        try:
            schema.check(conn, self.path)
            if existed:  # a talk state file (or an empty one) from here on
                _tighten(Path(self.path))
            if not self.is_memory:
                _verify(conn, self.path)
            # 16 KiB pages for a new file (an existing one keeps its size): the
            # indexes of a million records are a level shallower, and an initial
            # sync costs about 5% less than with 4 KiB. Only an empty file takes it.
            conn.execute("PRAGMA page_size = 16384")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 10000")
            # 64 MiB of page cache (given in KiB, so whatever the page size), a
            # bound that does not grow with the state: the default 2 MiB let the
            # match-key and link indexes of 100k records fall out of cache
            # between batches.
            conn.execute("PRAGMA cache_size = -65536")
            schema.migrate(conn, self.path)
        except StateError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise _open_error(self.path, exc) from exc
        if not self.is_memory:
            private.check_side_files(self.path)  # made by SQLite just now, with its own mode
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
        self._carried = False
        if self._held_pending:
            self._settle_notes()
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
    def transaction(self, *, carry: bool = False) -> Iterator[None]:
        """Outermost: BEGIN IMMEDIATE .. COMMIT; nested: a savepoint.

        IMMEDIATE takes the write lock up front, so a transaction never fails
        half-way because another connection wrote first. A failing inner
        block undoes only itself; the outer one decides about the rest.

        ``carry``, inside ``carrying``: leave the finished block uncommitted,
        to be committed with the next transaction or when ``carrying`` ends
        (see there). The next block then runs as a savepoint inside it, so a
        failure undoes that block only and the carried work is committed.
        """
        conn = self._conn
        if self._depth == 0 and self._carried:
            yield from self._after_carried(carry)
            return
        if self._depth == 0:
            self._begin()
            self._depth = 1
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                self._finish(carry)
            finally:
                self._depth = 0
                if self._held_pending and not self._carried:
                    self._settle_notes()
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

    def _after_carried(self, carry: bool) -> Iterator[None]:
        """A block that follows carried work: a savepoint in the carried transaction."""
        conn = self._conn
        self._carried = False
        self._depth = 1
        try:
            conn.execute("SAVEPOINT carried")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK TO carried")
                conn.execute("RELEASE carried")
                self._commit()
                raise
            conn.execute("RELEASE carried")
            self._finish(carry)
        finally:
            self._depth = 0
            if self._held_pending and not self._carried:
                self._settle_notes()

    def _finish(self, carry: bool) -> None:
        """The end of an outermost block: commit, or carry it (see ``carrying``)."""
        if carry and self._carrying:
            self._carried = True
        else:
            self._commit()

    def _commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    @contextlib.contextmanager
    def carrying(self) -> Iterator[None]:
        """Let ``transaction(carry=True)`` blocks share their commit with the next one.

        A merge batch commits what its writes produced, then the next batch
        journals its writes, which must be durable before they are sent: two
        commits, each writing the pages it changed to the log. Carried, the
        first commit happens with the second, so each batch costs one. Work
        carried and then lost to a crash is work whose writes were journalled,
        so the next run recovers it as it would after a crash before any
        commit. Whatever is still carried is committed when this block ends,
        also by an exception.
        """
        if self._carrying:
            yield
            return
        self._carrying = True
        try:
            yield
        finally:
            self._carrying = False
            if self._carried:
                self._carried = False
                self._commit()
            if self._held_pending and not self._depth:
                self._settle_notes()

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

    def _holds_state(self) -> bool:
        """Whether this store's own transaction is open, so no other write can commit."""
        return bool(self._depth) or self._carried

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
        if self._held_pending:
            self._settle_notes()

    def acquire_lock(self, owner: str) -> None:
        if self._lock_fd is not None or self._memory_locked:
            raise LockedError(f"this store already holds the lock on {self.path}")
        if self.is_memory:
            self._memory_locked = True
            return
        fd = private.open_private(self.path + ".lock", os.O_RDWR | os.O_CREAT,
                                  "state lock file")
        try:
            taken = file_lock.try_lock(fd)
        except BaseException:
            os.close(fd)
            raise
        if not taken:
            os.close(fd)
            raise LockedError(self._locked_message())
        self._lock_fd = fd
        try:
            with self.transaction():
                self._conn.execute(
                    "INSERT OR REPLACE INTO lock (id, owner, pid, since) VALUES (1, ?, ?, ?)",
                    (owner, os.getpid(), now_text()),
                )
        except BaseException:
            self._unlock_fd()
            raise

    def _holds_lock(self) -> bool:
        return self._lock_fd is not None or self._memory_locked

    def _locked_message(self) -> str:
        row = self._conn.execute("SELECT owner, pid, since FROM lock WHERE id = 1").fetchone()
        if row is None:
            holder = "another sync"
        else:
            since = parse_datetime(row[2]).strftime("%Y-%m-%dT%H:%M:%SZ")
            holder = f"another sync ({row[0]}, pid {row[1]}, started {since})"
        return f"{holder} holds the lock on {self.path}; wait for it to finish"

    def _unlock_fd(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            try:
                file_lock.unlock(fd)
            finally:
                os.close(fd)

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
