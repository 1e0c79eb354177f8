"""One exclusive lock on an open file, the same on POSIX and on Windows.

talk locks descriptors it opened itself (``private.open_private``: never
through a link, made 0600), so the lock is on exactly the file it checked.
``filelock`` takes the OS's lock on such a descriptor: ``flock`` on POSIX,
``LockFileEx`` on Windows. Both die with the process, so a run killed
outright leaves no stale lock, and both keep apart two descriptors of one
process as well as two processes. Where the OS offers neither, the lock
only keeps this process's threads and stores apart, and says so once.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import warnings

with warnings.catch_warnings():
    # without fcntl, filelock warns that its FileLock class falls back to marker files;
    # talk locks descriptors and says itself what it can and cannot do (below)
    warnings.filterwarnings("ignore", "only soft file lock is available")
    import filelock

__all__ = ["lock", "try_lock", "unlock"]

log = logging.getLogger("talk.state")

#: seconds between tries while another holder keeps the lock
POLL = 0.01

#: without OS locks: which descriptor of this process holds each file, by (device, inode)
_held: dict[tuple[int, int], int] = {}
_guard = threading.Lock()
_warned = False


def try_lock(fd: int) -> bool:
    """Take the lock on ``fd``'s file if nobody else holds it; False at once if somebody does."""
    try:
        return filelock.lock_descriptor(fd, blocking=False)
    except OSError as exc:
        if exc.errno != errno.ENOSYS:
            raise
    return _try_in_process(fd)


def lock(fd: int) -> None:
    """Wait for the lock on ``fd``'s file."""
    while not try_lock(fd):
        time.sleep(POLL)


def unlock(fd: int) -> None:
    """Let go of the lock; the descriptor stays open."""
    with _guard:
        key = _identity(fd)
        if _held.get(key) == fd:
            del _held[key]
            return
    try:
        filelock.unlock_descriptor(fd)
    except OSError as exc:
        if exc.errno != errno.ENOSYS:
            raise


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _try_in_process(fd: int) -> bool:
    global _warned
    with _guard:
        if not _warned:
            _warned = True
            log.warning("this system offers no file locks: talk keeps its own runs in this "
                        "process apart, but cannot tell whether another talk uses the same "
                        "state; run one talk at a time on it")
        key = _identity(fd)
        holder = _held.get(key)
        if holder is not None and holder != fd:
            return False
        _held[key] = fd
        return True
