"""talk imports and runs where POSIX-only modules and calls are missing, as on Windows.

A subprocess makes ``fcntl`` unimportable before anything else loads, then
imports every module of talk_core and of the three plugins and runs a small
sync against SQLite state, run lock and held notes included. Windows' lack of
POSIX owners, modes and ``O_NOFOLLOW`` is played in this process by taking
those names away from ``os``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from talk_core.errors import LockedError, StateError
from talk_core.store import file_lock, private
from talk_core.store.sqlite import SQLiteStore

WITHOUT_FCNTL = textwrap.dedent("""
    import sys
    sys.modules["fcntl"] = None  # as on Windows: `import fcntl` fails
    try:
        import fcntl  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("fcntl is still importable")

    import importlib, pkgutil
    # the cli's command modules and its main module import each other: load them as
    # `talk` does, from main
    importlib.import_module("talk_core.cli.main")
    imported = []
    for top in ("talk_core", "talk_invoiced", "talk_exactonline", "talk_custom"):
        package = importlib.import_module(top)
        imported.append(top)
        for info in pkgutil.walk_packages(package.__path__, top + ".",
                                          onerror=lambda name: sys.exit(f"cannot walk {name}")):
            if info.name.rsplit(".", 1)[-1] == "__main__":
                continue  # runs a program; what it imports is imported here anyway
            importlib.import_module(info.name)
            imported.append(info.name)
    print("imported", len(imported))

    from talk_core import DataType, Mapping, Property, Sync, SyncSettings, SystemInstance
    from talk_core import SystemSpec, mapped
    from talk_core.errors import LockedError, StateError
    from talk_core.store.sqlite import SQLiteStore
    from talk_core.testing import InMemoryConnector
    from talk_exactonline.oauth import TokenStore

    PEOPLE = DataType("people", "People", (Property("name", required=True),
                                           Property("email"),))
    def spec(name):
        return SystemSpec(name, name.upper(), (PEOPLE,), (
            Mapping("people", "human", mapped([("name", "name"), ("email", "email")])),),
            factory=lambda **_: InMemoryConnector([PEOPLE]))

    state = sys.argv[1]
    a = InMemoryConnector([PEOPLE], id_prefix="a")
    b = InMemoryConnector([PEOPLE], id_prefix="b")
    a.put("people", {"name": "Kari", "email": "kari@example.com"})
    b.put("people", {"name": "Ola", "email": "ola@example.com"})
    store = SQLiteStore(state)
    sync = Sync(store, [SystemInstance("a", spec("a"), a), SystemInstance("b", spec("b"), b)],
                SyncSettings())
    result = sync.run()
    assert result.status == "done", result.status
    assert sorted(r["name"] for r in a.records("people").values()) == ["Kari", "Ola"]
    assert sorted(r["name"] for r in b.records("people").values()) == ["Kari", "Ola"]
    assert sync.run().writes == 0

    # the run lock still keeps a second store out, with the holder named
    store.acquire_lock("first")
    other = SQLiteStore(state)
    try:
        other.acquire_lock("second")
    except LockedError as exc:
        assert "holds the lock" in str(exc), exc
    else:
        raise SystemExit("a second store took the lock")
    store.release_lock()
    other.acquire_lock("second")
    other.release_lock()

    # a note written at once inside an open transaction, and Exact's token lock
    tokens = TokenStore("exact", store)
    with store.transaction():
        with tokens.locked():
            tokens.save_note("budget", {"left": 3})
    assert SQLiteStore(state).get_note("exact", "budget") == {"left": 3}
    other.close()
    store.close()
    print("synced")
""")


def test_every_module_imports_and_a_sync_runs_without_fcntl(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL, str(tmp_path / "state.db")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    assert lines[-1] == "synced"
    assert int(lines[lines.index("imported") + 1]) > 100  # the walk found every module
    assert (tmp_path / "state.db.lock").exists()


def test_without_os_locks_two_descriptors_of_one_process_still_exclude_each_other(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(fd: int, **_: object) -> bool:
        raise OSError(38, "no file locks here")  # ENOSYS, as filelock says it

    monkeypatch.setattr(file_lock.filelock, "lock_descriptor", unavailable)
    monkeypatch.setattr(file_lock.filelock, "unlock_descriptor", unavailable)
    path = str(tmp_path / "f.lock")
    first = private.open_private(path, os.O_RDWR | os.O_CREAT)
    second = private.open_private(path, os.O_RDWR | os.O_CREAT)
    try:
        assert file_lock.try_lock(first)
        assert file_lock.try_lock(first)  # the holder may take it again, as with flock
        assert not file_lock.try_lock(second)
        file_lock.unlock(first)
        assert file_lock.try_lock(second)
        assert not file_lock.try_lock(first)
        file_lock.unlock(second)
    finally:
        os.close(first)
        os.close(second)


def test_other_errors_of_the_os_lock_are_not_taken_for_a_missing_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int, **_: object) -> bool:
        raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(file_lock.filelock, "lock_descriptor", broken)
    with pytest.raises(OSError, match="Bad file descriptor"):
        file_lock.try_lock(0)


def test_without_posix_owners_and_modes_the_state_opens_and_locks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as on Windows: no uid, no O_NOFOLLOW, no fchmod, and os.stat's modes say little
    for name in ("geteuid", "O_NOFOLLOW", "fchmod"):
        monkeypatch.delattr(os, name)
    assert not private.posix_modes()
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o777)  # refused on POSIX; on Windows the ACLs decide
    state = folder / "state.db"
    store = SQLiteStore(state)
    store.put_note("x", "token", {"a": 1}, at_once=True)
    store.acquire_lock("first")
    second = SQLiteStore(state)
    with pytest.raises(LockedError, match="holds the lock"):
        second.acquire_lock("second")
    store.close()
    second.acquire_lock("second")
    assert second.get_note("x", "token") == {"a": 1}
    second.close()
    # links are still refused without O_NOFOLLOW: the check before opening stands alone
    os.symlink(tmp_path / "elsewhere", folder / "linked.db")
    with pytest.raises(StateError, match="symbolic link"):
        SQLiteStore(folder / "linked.db")
