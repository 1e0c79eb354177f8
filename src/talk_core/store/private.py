"""The state's files belong to the user who runs talk, and nobody else can change them.

The state holds OAuth tokens and decides what is written to every system.
So talk refuses (``StateError``, exit 2) a state file or side file that
another user owns, that group or others may write, or that is reached
through a symlink (which could point talk's writes, and its chmod, at any
file), and a state directory that others may write (they could swap the
file). Files are opened with ``O_NOFOLLOW`` and created with ``O_EXCL``.
A directory talk makes is 0700. An existing ``.talk`` directory (talk's
own) that the user owns and group or others may read, or group may write,
is tightened to 0700 with a warning; any other directory others may write
is refused (its files may have been swapped already) and otherwise left as
it is: talk does not change the mode of a directory that is not its own.

On Windows there are no POSIX owners, modes or ``O_NOFOLLOW``: files carry
ACLs (a user's profile folders are private to that user already) and
``os.stat`` reports only a read-only bit. There talk still refuses links and
anything but a regular file, and leaves owners and permissions to the ACLs.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from talk_core.errors import StateError

log = logging.getLogger("talk.state")

#: files SQLite and talk keep beside the state file, all as private as the file
SIDE_SUFFIXES = ("-wal", "-shm", "-journal", ".lock", ".notes", ".exact-token.lock")

#: the directory talk keeps its state in by default: talk's own, so talk may tighten it
TALK_DIRECTORY = ".talk"

_MOVE = "move it away or point [state] path elsewhere"


def posix_modes() -> bool:
    """Whether files have POSIX owners and modes to check (not on Windows)."""
    return hasattr(os, "geteuid") and os.name == "posix"


def nofollow() -> int:
    """``O_NOFOLLOW`` where the OS has it; on Windows the link checks before opening stand alone."""
    return getattr(os, "O_NOFOLLOW", 0)


def _owner_ok(uid: int) -> bool:
    return not posix_modes() or uid == os.geteuid()


def check_directory(directory: Path) -> None:
    """Make the state's directory (0700) or make sure only the user can change it."""
    if not directory.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode passes through the umask
        return
    info = os.stat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise StateError(f"{directory} is not a directory; point [state] path elsewhere")
    if not posix_modes():
        return
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid not in (os.geteuid(), 0):
        raise StateError(f"the state directory {directory} belongs to another user (uid "
                         f"{info.st_uid}); talk keeps its state only where you alone can "
                         f"change it: point [state] path elsewhere")
    if info.st_uid != os.geteuid() or mode & stat.S_ISVTX:
        if mode & 0o022:
            raise StateError(f"the state directory {directory} may be written by other users "
                             f"(mode {mode:03o}); talk keeps its state only where you alone "
                             f"can change it: point [state] path elsewhere")
        return
    if mode & 0o002 or (mode & 0o020 and directory.name != TALK_DIRECTORY):
        raise StateError(f"the state directory {directory} may be written by other users "
                         f"(mode {mode:03o}); its files cannot be trusted: make it yours alone "
                         f"(chmod 700 {directory}) or point [state] path elsewhere")
    if mode & 0o077 and directory.name == TALK_DIRECTORY:
        os.chmod(directory, mode & ~0o077)
        log.warning("the state directory %s could be read or written by others (mode %03o); "
                    "it is now %03o", directory, mode, mode & ~0o077)


def check_file(path: str | os.PathLike[str], what: str = "state file") -> bool:
    """Whether ``path`` exists; if it does, it must be the user's own regular file.

    Only group or others' write permission is refused here: a file that
    others may only read is made private once it proved to be talk's.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise StateError(f"the {what} {path} is a symbolic link; talk does not follow links "
                         f"for its state (a link could point its writes at any file): "
                         f"{_MOVE}")
    if stat.S_ISDIR(info.st_mode):
        raise StateError(f"{path} is a directory, not a talk {what}; point [state] path "
                         "at a file (it is made if missing)")
    if not stat.S_ISREG(info.st_mode):
        raise StateError(f"the {what} {path} is not a regular file: {_MOVE}")
    if not _owner_ok(info.st_uid):
        raise StateError(f"the {what} {path} belongs to another user (uid {info.st_uid}); "
                         f"talk only uses state files you own: {_MOVE}")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022 and posix_modes():
        raise StateError(f"the {what} {path} may be written by other users (mode {mode:03o}); "
                         f"talk refuses a state others could change: make it yours alone "
                         f"(chmod 600 {path}) or {_MOVE}")
    return True


def open_private(path: str, flags: int, what: str = "state file") -> int:
    """``os.open`` that never follows a link, creates 0600, and checks whose file it is."""
    check_file(path, what)
    try:
        # O_BINARY (Windows only): bytes as written, no newline translation
        fd = os.open(path, flags | nofollow() | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_BINARY", 0), 0o600)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: a link appeared after the check
            raise StateError(f"the {what} {path} is a symbolic link: {_MOVE}") from exc
        raise
    try:
        info = os.fstat(fd)
        if not _owner_ok(info.st_uid) or not stat.S_ISREG(info.st_mode):
            raise StateError(f"the {what} {path} is not your own regular file: {_MOVE}")
        if stat.S_IMODE(info.st_mode) & 0o077 and posix_modes():
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_side_files(path: str) -> None:
    """SQLite follows links and keeps modes of its -wal/-shm files: check them before it opens."""
    for suffix in SIDE_SUFFIXES:
        side = path + suffix
        if check_file(side, "state side file") and posix_modes():
            mode = stat.S_IMODE(os.lstat(side).st_mode)
            if mode & 0o077:
                os.chmod(side, 0o600)  # checked just now: no link
