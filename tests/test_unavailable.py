"""A system that does not serve is left alone for the run; the others are synced.

The first request that fails for the system's reasons (``SystemUnavailable``)
marks it unavailable: its datatypes are not read, what it should receive is
not sent but staged for the next run, and no record gets a dead letter. The
run ends ``unavailable`` (exit code 7), and the next run with the system
back converges without duplicates. A run left ``running`` by a killed
process reads as ``killed``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from systems import SharedClock, make_connectors, make_sync

from talk_core.errors import SystemUnavailable, Unreachable
from talk_core.store.sqlite import SQLiteStore
from talk_core.testing.memory import InMemoryConnector


def _companies(conns: dict[str, InMemoryConnector], count: int) -> None:
    for i in range(count):
        conns["crm"].put("customers", {"name": f"Firm {i}", "type": "company"})


def _down(conn: InMemoryConnector, error: Exception) -> None:
    for operation in ("read", "create", "update", "delete", "recover", "recover_many"):
        conn.fail_next(operation, error, times=10_000)


def test_writes_to_an_unavailable_system_wait_for_the_next_run_without_letters(
        tmp_path: Path) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    _companies(conns, 7)
    erp = conns["erp"]
    erp.fail_next("create", Unreachable("erp POST: not sent, the connection was refused",
                                        where="http://erp.test/"), times=10_000)
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
        assert result.status == "unavailable" and result.exit_code == 7
        assert result.unavailable == {"erp": "erp is unavailable at http://erp.test/: erp POST: "
                                             "not sent, the connection was refused"}
        assert result.message == result.unavailable["erp"]
        assert result.dead_letters == [] and sync.store.dead_letters() == []
        assert sync.store.journal_pending() == []
        assert erp.stats["create"] == 1, "nothing is sent after the first failure"
        # work between the systems that serve went on
        assert conns["shop"].count("companies") == 7
    assert erp.count("Accounts") == 0
    erp.disarm()
    with make_sync(path, conns, clock) as sync:
        back = sync.run()
        assert back.status == "done" and back.exit_code == 0, back
    names = sorted(a["Name"] for a in erp.records("Accounts").values())
    assert names == sorted(f"Firm {i}" for i in range(7))
    with make_sync(path, conns, clock) as sync:
        assert sync.run().writes == 0


def test_an_unreadable_system_is_read_no_further_and_said_once(tmp_path: Path) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    _companies(conns, 2)
    conns["erp"].put("Contacts", {"FullName": "Kari"})
    _down(conns["erp"], SystemUnavailable("erp GET: 503 maintenance", where="http://erp.test/"))
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
        assert result.status == "unavailable"
        assert result.errors == [] and result.dead_letters == []
        assert conns["erp"].stats["read"] == 1, "its other datatype is not read"
        assert ("erp", "Contacts") not in result.counts
    conns["erp"].disarm()
    with make_sync(path, conns, clock) as sync:
        assert sync.run().status == "done"
    assert conns["erp"].count("Accounts") == 2
    assert sorted(c["name"] for c in conns["crm"].records("customers").values()) == [
        "Firm 0", "Firm 1", "Kari"]


def test_a_create_that_may_have_reached_an_unavailable_system_is_recovered(
        tmp_path: Path) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    _companies(conns, 3)
    erp = conns["erp"]
    plain_create = erp.create
    calls = []

    def made_then_gone(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        if len(calls) == 1:
            plain_create(*args, **kwargs)  # made, and its answer lost
        raise SystemUnavailable("erp POST: ReadTimeout after 6 attempt(s)")

    erp.create = made_then_gone  # type: ignore[method-assign]
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
        assert result.status == "unavailable" and result.dead_letters == []
        assert len(sync.store.journal_pending()) == 1, "kept for recovery"
    erp.create = plain_create  # type: ignore[method-assign]
    with make_sync(path, conns, clock) as sync:
        assert sync.run().status == "done"
        assert sync.store.journal_pending() == []
    assert sorted(a["Name"] for a in erp.records("Accounts").values()) == [
        "Firm 0", "Firm 1", "Firm 2"]


def test_a_run_left_running_by_a_killed_process_reads_as_killed(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    try:
        store.acquire_lock(f"{socket.gethostname()}:{os.getpid()}")
        with store.transaction():
            run_id = store.start_run()
        assert store.runs()[0].status == "running"  # its lock is held: it runs
        # the process dies: its lock's row stays, naming a process that is gone
        with store.transaction():
            store._conn.execute("UPDATE lock SET pid = ?", (_dead_pid(),))
        assert [r.status for r in store.runs()] == ["killed"]
        store._unlock_fd()
    finally:
        store.close()
    other = SQLiteStore(path)
    try:
        assert other.runs()[0].status == "killed"
        other.acquire_lock("next")
        with other.transaction():
            newer = other.start_run()
        statuses = {r.id: r.status for r in other.runs()}
        assert statuses == {run_id: "killed", newer: "running"}
        other.release_lock()
    finally:
        other.close()


def _dead_pid() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid
