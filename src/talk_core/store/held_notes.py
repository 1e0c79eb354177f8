"""Notes written at once while the store's own transaction holds the state.

A note put ``at_once`` must outlive whatever transaction is open, a dry
run's rollback included. SQLite lets one writer in at a time, and while the
run's connection holds the write lock, that writer is the run itself: no
second connection can commit. Such a note is kept here instead, durable at
once, and moved into the state when the transaction ends (or, after a
crash, when the state is opened next). Reads take the newer of the two.

On disk this is a private file beside the state, one JSON line per write,
appended under an OS lock on the file itself (``file_lock``) (which is never removed, only
emptied, so that every process locks the same file). A line cut short by a
crash is skipped: that write never returned.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from talk_core.store import file_lock, private

__all__ = ["FileHeldNotes", "HeldNote", "HeldNotes", "MemoryHeldNotes"]

#: (instance, name, value as JSON text or None for a deletion, when as fixed-width UTC text)
HeldNote = tuple[str, str, str | None, str]


class HeldNotes(Protocol):
    def add(self, note: HeldNote) -> None: ...

    def entries(self) -> list[HeldNote]: ...

    def settle(self) -> AbstractContextManager[list[HeldNote]]:
        """The held notes, emptied when the block ends without an exception."""
        ...


class MemoryHeldNotes:
    """For a store that lives in memory: the held notes die with it, as the store does."""

    def __init__(self) -> None:
        self._notes: list[HeldNote] = []

    def add(self, note: HeldNote) -> None:
        self._notes.append(note)

    def entries(self) -> list[HeldNote]:
        return list(self._notes)

    @contextlib.contextmanager
    def settle(self) -> Iterator[list[HeldNote]]:
        """The held notes; forgotten when the block ends without an exception."""
        notes = list(self._notes)
        yield notes
        del self._notes[: len(notes)]


class FileHeldNotes:
    """Held notes in ``path``, mode 0600, shared by every process using the state."""

    def __init__(self, path: str) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self, create: bool) -> Iterator[int | None]:
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        try:
            # never through a link, never another user's file; made 0600 (notes hold secrets)
            fd = private.open_private(self.path, flags, "state notes file")
        except FileNotFoundError:
            yield None
            return
        try:
            file_lock.lock(fd)
        except BaseException:
            os.close(fd)
            raise
        try:
            yield fd
        finally:
            try:
                file_lock.unlock(fd)
            finally:
                os.close(fd)

    def add(self, note: HeldNote) -> None:
        line = (json.dumps(list(note), ensure_ascii=True) + "\n").encode("ascii")
        with self._locked(create=True) as fd:
            assert fd is not None
            os.lseek(fd, 0, os.SEEK_END)
            os.write(fd, line)
            os.fsync(fd)

    def entries(self) -> list[HeldNote]:
        try:
            if os.stat(self.path).st_size == 0:
                return []
        except FileNotFoundError:
            return []
        with self._locked(create=False) as fd:
            return [] if fd is None else _read(fd)

    @contextlib.contextmanager
    def settle(self) -> Iterator[list[HeldNote]]:
        """The held notes, under the lock; emptied when the block ends without an exception."""
        try:
            if os.stat(self.path).st_size == 0:
                yield []
                return
        except FileNotFoundError:
            yield []
            return
        with self._locked(create=False) as fd:
            if fd is None:
                yield []
                return
            notes = _read(fd)
            yield notes
            os.ftruncate(fd, 0)
            os.fsync(fd)


def _read(fd: int) -> list[HeldNote]:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    notes: list[HeldNote] = []
    for line in b"".join(chunks).splitlines():
        try:
            instance, name, value, at = json.loads(line)
        except (ValueError, TypeError):
            continue  # cut short by a crash: that write never returned
        if isinstance(instance, str) and isinstance(name, str) and isinstance(at, str) and (
                value is None or isinstance(value, str)):
            notes.append((instance, name, value, at))
    return notes
