"""What every state store owes the engine and plugins, as a test class a backend inherits.

The engine's guarantees (nothing read is lost, no duplicate after a crash,
one run at a time) rest on the store: a transaction that is all or
nothing, a lock that a killed run does not keep, a journal that a crashed
process's batches still answer for, JSON that comes back exactly. A second
backend (PostgreSQL) is only as good as its proof of those; this suite is
that proof, the same for every backend, as ``ConnectorContract`` is for
connectors.

Use it by subclassing (the base name has no ``Test`` prefix, so pytest only
collects the subclass) and defining on the subclass::

    class TestMyStore(StoreContract):
        @pytest.fixture
        def open_store(self, tmp_path):     # a fresh state per test
            return lambda: MyStore(tmp_path / "state")

``open_store()`` opens the test's state anew at each call, as another
process would, on the same data where the backend keeps data between
openings (``shares_state``). Optional fixtures a subclass may override:

``shares_state``
    True (the default) when two stores from ``open_store`` see one state;
    False for a store that lives in memory: tests about another process,
    a crash or reopening are skipped.
``child_store_code``
    Python statements that bind ``store`` to this state in a new process
    (for the lock held by a process that is then SIGKILLed); None skips.
``state_files``
    A callable listing the files the state is kept in, to check they are
    private (0600); None for a backend without files.
``old_versions`` and ``old_state``
    The earlier state versions, and a hook that builds a state at one of
    them holding ``OldSample`` and returns its ``open_store``: every
    version must open, migrate and keep its data. An empty list skips.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from talk_core.errors import LockedError, StateError
from talk_core.model import Link
from talk_core.staged import StagedRecord
from talk_core.store.base import Conflict, DeadLetter, InboxRow, JournalEntry, StateStore

__all__ = ["JSON_EDGES", "OldSample", "StoreContract"]

OpenStore = Callable[[], StateStore]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: JSON values a store must give back exactly: integers beyond 64 bits (ids
#: and phone numbers of some systems are), emoji and right-to-left text, NUL
#: inside strings and keys (JSON escapes it, so it is allowed there).
JSON_EDGES: dict[str, Any] = {
    "big": 2**70,
    "negative": -(2**90),
    "at_64": 2**64,
    "emoji": "👩‍💻 🚀 ∑",
    "rtl": "שלום עולם · مرحبا بالعالم",
    "nul": "a\x00b",
    "key\x00nul": True,
    "mixed": [2**65, {"é": "ü", "n": -1.5, "none": None}],
    "digits": "4712345678901234567890",
}


class OldSample:
    """What ``old_state`` writes into a state of an earlier version, the way it held it then.

    Tokens were one table keyed by system before version 6; ``"erp#budget"``
    was the key of the instance's other notes, as Exact's budget used it.
    """

    global_type = "organisation"
    global_id = "g1"
    values: dict[str, Any] = {"name": "Acme AS", "n": 2**70, "city": "تل أبيب 🚀"}
    match_key = ("name", "acme as")
    link = Link("organisation", "g1", "erp", "Accounts", "A-ü", "h1", {"n": 2**65})
    cursor = ("erp", "Accounts", "c1")
    journal = JournalEntry("k1", "organisation", "g1", "crm", "customers",
                           {"properties": {"n": 2**66}}, T0)
    tokens: dict[str, dict[str, Any]] = {
        "erp": {"access_token": "a1", "refresh_token": "r1", "issued_at": 1.5},
        "erp#budget": {"daily_remaining": 5, "daily_reset": 1_700_000_000},
    }


def _link(ext: str, gid: str | None = None, **kw: Any) -> Link:
    fields: dict[str, Any] = {
        "global_type": "customer", "system": "crm", "datatype": "contact", "hash": "h",
        "values": {"name": ext},
    }
    fields.update(kw)
    return Link(global_id=gid or f"g-{ext}", external_id=ext, **fields)


def _row(ext: str, gid: str | None = None, **kw: Any) -> InboxRow:
    fields: dict[str, Any] = {"global_type": "customer", "system": "crm", "datatype": "contact"}
    fields.update(kw)
    return InboxRow(external_id=ext, global_id=gid, payload=StagedRecord({"id": ext}, "h"),
                    **fields)


def _entries(n: int, at: datetime = T0) -> list[JournalEntry]:
    return [JournalEntry(f"k{i:02}", "customer", f"g{i}", "crm", "contact",
                         {"properties": {"n": i, "big": 2**70}}, at + timedelta(seconds=i % 3))
            for i in range(n)]


def _letter(**kw: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "system": "crm", "datatype": "contact", "external_id": "1", "global_type": "customer",
        "direction": "read", "error": "bad", "payload": {"id": "1"}, "next_attempt": T0,
    }
    fields.update(kw)
    return DeadLetter(**fields)


class StoreContract:
    """State store contract tests; subclass and provide ``open_store``.

    ``open_store`` is a fixture answering an ``OpenStore``: a callable that
    opens the backend's store (the same state each call where the backend
    keeps state). Like ``ConnectorContract``'s ``connector``, the base class
    does not define it, so a subclass that forgets it fails with pytest's
    "fixture 'open_store' not found".
    """

    # -- fixtures a subclass may override -----------------------------------------

    @pytest.fixture
    def shares_state(self) -> bool:
        return True

    @pytest.fixture
    def child_store_code(self) -> str | None:
        return None

    @pytest.fixture
    def state_files(self) -> Callable[[], list[Path]] | None:
        return None

    @pytest.fixture
    def old_versions(self) -> list[int]:
        return []

    @pytest.fixture
    def old_state(self) -> Callable[[int], OpenStore] | None:
        return None

    @pytest.fixture
    def store(self, open_store: OpenStore) -> Iterator[StateStore]:
        s = open_store()
        yield s
        s.close()

    @pytest.fixture
    def other(self, open_store: OpenStore, shares_state: bool) -> Iterator[StateStore]:
        """A second store on the same state: what another process sees."""
        if not shares_state:
            pytest.skip("this store keeps no state another process could see")
        s = open_store()
        yield s
        s.close()

    # -- transactions -----------------------------------------------------------

    def test_writes_outside_a_transaction_commit_on_their_own(
            self, store: StateStore, other: StateStore) -> None:
        store.set_cursor("crm", "contact", "c1")
        assert other.get_cursor("crm", "contact") == "c1"

    def test_a_transaction_commits_at_its_end_only(
            self, store: StateStore, other: StateStore) -> None:
        with store.transaction():
            store.set_cursor("crm", "contact", "c1")
            store.put_link(_link("1"))
            assert store.get_cursor("crm", "contact") == "c1"  # its own writes are seen
            assert other.get_cursor("crm", "contact") is None
            assert other.count_links() == 0
        assert other.get_cursor("crm", "contact") == "c1"
        assert other.count_links() == 1

    def test_an_exception_rolls_the_transaction_back(self, store: StateStore) -> None:
        store.set_cursor("crm", "contact", "before")
        with pytest.raises(RuntimeError), store.transaction():
            store.set_cursor("crm", "contact", "during")
            store.put_link(_link("1"))
            store.put_global("customer", "g1", {"a": 1})
            raise RuntimeError("boom")
        assert store.get_cursor("crm", "contact") == "before"
        assert store.count_links() == 0
        assert store.get_global("customer", "g1") is None
        with store.transaction():  # the store is usable again
            store.put_link(_link("2"))
        assert store.count_links() == 1

    def test_a_failing_nested_block_undoes_only_itself(self, store: StateStore) -> None:
        with store.transaction():
            store.put_link(_link("outer"))
            with pytest.raises(RuntimeError), store.transaction():
                store.put_link(_link("inner"))
                raise RuntimeError("boom")
            with store.transaction(), store.transaction():
                store.put_link(_link("deep"))
        assert {lk.external_id for lk in store.iter_links()} == {"outer", "deep"}

    def test_carried_work_is_committed_with_the_next_transaction(
            self, store: StateStore, other: StateStore) -> None:
        with store.carrying():
            with store.transaction(carry=True):
                store.set_cursor("crm", "a", "1")
            assert store.get_cursor("crm", "a") == "1"  # seen by its own store
            with store.transaction():
                store.set_cursor("crm", "b", "2")
            assert (other.get_cursor("crm", "a"), other.get_cursor("crm", "b")) == ("1", "2")

    def test_carried_work_is_committed_when_carrying_ends_even_by_an_exception(
            self, store: StateStore, other: StateStore) -> None:
        with pytest.raises(RuntimeError), store.carrying():
            with store.transaction(carry=True):
                store.set_cursor("crm", "a", "1")
            raise RuntimeError("boom")
        assert other.get_cursor("crm", "a") == "1"
        with store.transaction():  # the store is usable again
            store.set_cursor("crm", "b", "2")
        assert other.get_cursor("crm", "b") == "2"

    def test_a_failing_block_after_carried_work_undoes_only_itself(
            self, store: StateStore) -> None:
        with store.carrying():
            with store.transaction(carry=True):
                store.set_cursor("crm", "a", "1")
            with pytest.raises(RuntimeError), store.transaction():
                store.set_cursor("crm", "b", "2")
                raise RuntimeError("boom")
            with store.transaction(carry=True):
                store.set_cursor("crm", "c", "3")
        assert [(d, c) for _, d, c, _ in store.cursors()] == [("a", "1"), ("c", "3")]

    def test_carry_outside_carrying_commits_at_once(
            self, store: StateStore, other: StateStore) -> None:
        with store.transaction(carry=True):
            store.set_cursor("crm", "a", "1")
        assert other.get_cursor("crm", "a") == "1"

    def test_a_dry_run_is_seen_by_itself_and_thrown_away(self, store: StateStore) -> None:
        store.put_link(_link("1"))
        store.set_cursor("crm", "contact", "c1")
        store.begin_dry_run()
        with store.transaction():
            store.put_link(_link("2"))
            store.set_cursor("crm", "contact", "c2")
        with pytest.raises(RuntimeError), store.transaction():
            store.put_link(_link("3"))
            raise RuntimeError("boom")
        store.stage([_row("9")])
        store.start_run()
        store.put_note("crm", "n", {"v": 1})
        assert store.count_links() == 2
        assert store.get_cursor("crm", "contact") == "c2"
        store.end_dry_run()
        assert store.count_links() == 1
        assert store.get_cursor("crm", "contact") == "c1"
        assert store.inbox_count() == 0
        assert store.runs() == []
        assert store.get_note("crm", "n") is None

    def test_a_dry_run_is_not_seen_by_another_store(
            self, store: StateStore, other: StateStore) -> None:
        store.begin_dry_run()
        store.put_link(_link("1"))
        assert other.count_links() == 0
        store.end_dry_run()
        assert other.count_links() == 0

    def test_dry_run_misuse_is_refused(self, store: StateStore) -> None:
        with pytest.raises(StateError):
            store.end_dry_run()
        with store.transaction(), pytest.raises(StateError):
            store.begin_dry_run()
        store.begin_dry_run()
        with pytest.raises(StateError):
            store.begin_dry_run()
        store.end_dry_run()
        store.set_cursor("crm", "a", "1")  # usable after
        assert store.get_cursor("crm", "a") == "1"
        store.put_token("crm", {"t": 1})
        assert store.get_token("crm") == {"t": 1}

    def test_closing_during_a_dry_run_throws_it_away(self, open_store: OpenStore,
                                                     shares_state: bool) -> None:
        if not shares_state:
            pytest.skip("this store keeps no state to reopen")
        s = open_store()
        s.begin_dry_run()
        s.put_link(_link("1"))
        s.close()
        s = open_store()
        assert s.count_links() == 0
        s.close()

    def test_state_survives_close_and_reopen(self, open_store: OpenStore,
                                             shares_state: bool) -> None:
        if not shares_state:
            pytest.skip("this store keeps no state to reopen")
        s = open_store()
        s.put_link(_link("1"))
        s.put_global("customer", "g-1", {"a": 1})
        s.set_cursor("crm", "contact", "c")
        s.put_note("crm", "n", [1])
        s.close()
        s = open_store()
        assert s.get_link("crm", "contact", "1", "customer") == _link("1")
        assert s.get_global("customer", "g-1") == {"a": 1}
        assert s.get_cursor("crm", "contact") == "c"
        assert s.get_note("crm", "n") == [1]
        s.close()

    # -- the run lock -----------------------------------------------------------

    def test_a_second_holder_is_refused_at_once_naming_the_holder(
            self, store: StateStore, other: StateStore) -> None:
        store.acquire_lock("sync-a")
        started = datetime.now(UTC)
        with pytest.raises(LockedError) as err:
            other.acquire_lock("sync-b")
        assert datetime.now(UTC) - started < timedelta(seconds=3)  # no waiting for it
        assert "sync-a" in str(err.value)
        store.release_lock()
        other.acquire_lock("sync-b")
        with pytest.raises(LockedError, match="sync-b"):
            store.acquire_lock("sync-a")
        other.close()  # closing lets go of the lock
        store.acquire_lock("sync-a")
        store.release_lock()

    def test_the_same_store_cannot_take_the_lock_twice(self, store: StateStore) -> None:
        store.acquire_lock("a")
        with pytest.raises(LockedError):
            store.acquire_lock("a")
        store.release_lock()
        store.acquire_lock("a")
        store.release_lock()
        store.release_lock()  # releasing what is not held is harmless

    def test_a_killed_holders_lock_is_released(
            self, open_store: OpenStore, child_store_code: str | None) -> None:
        if child_store_code is None:
            pytest.skip("this store cannot be opened by another process")
        open_store().close()
        script = child_store_code + textwrap.dedent("""
            import time
            store.acquire_lock("child-sync")
            print("ready", flush=True)
            time.sleep(120)
            """)
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                 text=True)
        s = open_store()
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            with pytest.raises(LockedError) as err:
                s.acquire_lock("parent")
            assert "child-sync" in str(err.value)
            assert f"pid {child.pid}" in str(err.value)
        finally:
            child.kill()  # SIGKILL: nothing of the child runs after this
            child.wait(timeout=30)
        s.acquire_lock("parent")  # the dead holder left no stale lock
        s.release_lock()
        s.close()

    # -- links --------------------------------------------------------------------

    def test_links_round_trip_and_upsert(self, store: StateStore) -> None:
        assert store.get_link("crm", "contact", "1", "customer") is None
        store.put_link(_link("1", "g1"))
        assert store.get_link("crm", "contact", "1", "customer") == _link("1", "g1")
        assert store.get_link("crm", "contact", "1", "supplier") is None
        store.put_link(_link("1", "g1", hash="h2", values={"name": "new"}))
        got = store.get_link("crm", "contact", "1", "customer")
        assert got is not None and (got.hash, got.values) == ("h2", {"name": "new"})
        assert store.count_links() == 1
        store.put_links([_link("2"), _link("3", hash=None)])
        assert store.get_link("crm", "contact", "3", "customer") == _link("3", hash=None)

    def test_one_link_per_global_and_system(self, store: StateStore) -> None:
        store.put_link(_link("1", "g1"))
        with pytest.raises(StateError, match="already linked"):
            store.put_link(_link("2", "g1"))
        assert store.get_link("crm", "contact", "2", "customer") is None
        assert store.link_for("customer", "g1", "crm") == _link("1", "g1")
        store.put_link(_link("1", "g1", system="books"))  # another system is fine
        store.put_link(_link("1", "s1", global_type="supplier"))  # so is another type
        assert store.count_links() == 3

    def test_links_found_by_external_ids_across_types(self, store: StateStore) -> None:
        store.put_link(_link("1", "s1", global_type="supplier"))
        store.put_link(_link("1", "c1", global_type="customer"))
        store.put_link(_link("2", "c2", global_type="customer"))
        found = store.find_link("crm", "contact", "1", ["customer", "supplier"])
        assert found is not None and found.global_id == "c1"
        found = store.find_link("crm", "contact", "1", ["supplier", "customer"])
        assert found is not None and found.global_id == "s1"
        assert store.find_link("crm", "contact", "2", ["supplier"]) is None
        assert store.find_link("crm", "contact", "1", []) is None
        assert store.find_links_many("crm", "contact", ["1", "2", "3"],
                                     ["supplier", "customer"]) == {"1": "s1", "2": "c2"}
        assert store.links_by_external("crm", "contact", "customer", ["1", "2", "9"]) == {
            "1": _link("1", "c1"), "2": _link("2", "c2")}
        assert store.link_ids("crm", "contact", "customer", ["1", "9"]) == {"1": ("c1", "h")}
        assert store.links_for_many(["customer", "supplier"], ["c1", "s1", "x"], "crm") == {
            "c1": "1", "s1": "1"}

    def test_many_links_at_once_beyond_a_statements_parameters(
            self, store: StateStore) -> None:
        with store.transaction():
            store.put_links(_link(str(i)) for i in range(1500))
        wanted = [str(i) for i in range(0, 1600, 3)]
        found = store.links_by_external("crm", "contact", "customer", iter(wanted))
        assert set(found) == {w for w in wanted if int(w) < 1500}
        assert len(store.link_ids("crm", "contact", "customer", wanted)) == len(found)
        many = store.links_of_many("customer", [f"g-{i}" for i in range(1400)])
        assert len(many) == 1400 and many["g-1399"] == [_link("1399")]

    def test_links_of_an_entity(self, store: StateStore) -> None:
        store.put_link(_link("1", "g1"))
        store.put_link(_link("b1", "g1", system="books", datatype="debtor"))
        store.put_link(_link("2", "g2"))
        assert store.link_for("customer", "g1", "books") == _link(
            "b1", "g1", system="books", datatype="debtor")
        assert store.link_for("customer", "g2", "books") is None
        assert [lk.system for lk in store.links_of("customer", "g1")] == ["crm", "books"]
        assert store.links_of("customer", "nope") == []
        many = store.links_of_many("customer", ["g1", "g3"])
        assert [lk.external_id for lk in many["g1"]] == ["1", "b1"] and many["g3"] == []

    def test_delete_count_iterate_and_group_links(self, store: StateStore) -> None:
        with store.transaction():
            for i in range(30):
                store.put_link(_link(str(i), system="crm" if i % 2 else "books"))
            store.put_link(_link("x", global_type="supplier"))
        assert store.count_links() == 31
        assert store.count_links(system="crm") == 16
        assert store.count_links(global_type="customer", system="crm", datatype="contact") == 15
        assert store.count_links(datatype="nope") == 0
        assert store.link_counts() == [("books", "contact", "customer", 15),
                                       ("crm", "contact", "customer", 15),
                                       ("crm", "contact", "supplier", 1)]
        assert list(store.iter_links(global_id="g-7")) == [_link("7")]
        visited = []
        for lk in store.iter_links(system="crm"):  # writing while iterating
            visited.append(lk.external_id)
            store.delete_link(lk)
        assert len(visited) == len(set(visited)) == 16
        assert store.count_links(system="crm") == 0
        store.delete_link(_link("not-there"))
        assert store.count_links() == 15

    def test_detached(self, store: StateStore) -> None:
        assert not store.is_detached("customer", "g1", "crm")
        store.detach("customer", "g1", "crm")
        store.detach("customer", "g1", "crm")
        assert store.is_detached("customer", "g1", "crm")
        assert not store.is_detached("customer", "g1", "books")
        assert not store.is_detached("supplier", "g1", "crm")
        store.detach("customer", "g2", "books")
        assert store.detached_of("customer", ["g1", "g2", "g3"]) == {("g1", "crm"),
                                                                    ("g2", "books")}
        assert store.detached_of("customer", []) == set()

    # -- globals, match keys, parents ---------------------------------------------

    def test_globals_put_get_update_delete(self, store: StateStore) -> None:
        assert store.get_global("customer", "g1") is None
        store.put_global("customer", "g1", {"name": "A"})
        store.put_global("customer", "g1", {"name": "B"})
        assert store.get_global("customer", "g1") == {"name": "B"}
        assert store.get_global("invoice", "g1") is None
        store.put_globals("customer", [("g2", {"n": 2}), ("g3", {"n": 3})])
        assert store.get_globals("customer", ["g1", "g3", "g9"]) == {
            "g1": {"name": "B"}, "g3": {"n": 3}}
        assert store.get_globals("customer", []) == {}
        store.set_match_keys("customer", "g1", {"email": "a@x"})
        store.delete_global("customer", "g1")
        assert store.get_global("customer", "g1") is None
        assert store.find_by_key("customer", "email", "a@x") == []

    def test_match_keys_are_replaced_added_and_scoped_by_type(self, store: StateStore) -> None:
        store.set_match_keys("customer", "g1", {"email": "a@x", "vat": "NL1"})
        store.set_match_keys("customer", "g2", {"email": "a@x"})
        store.set_match_keys("supplier", "s1", {"email": "a@x"})
        assert store.find_by_key("customer", "email", "a@x") == ["g1", "g2"]
        store.set_match_keys("customer", "g1", {"email": "b@x"})
        assert store.find_by_key("customer", "email", "a@x") == ["g2"]
        assert store.find_by_key("customer", "vat", "NL1") == []
        store.add_match_keys("customer", [("g1", "vat", "NL2"), ("g3", "email", "b@x")])
        assert store.find_by_key("customer", "email", "b@x") == ["g1", "g3"]  # kept and added
        assert store.find_by_keys("customer", "email", ["a@x", "b@x", "z@x"]) == {
            "a@x": ["g2"], "b@x": ["g1", "g3"]}
        assert store.find_by_key("supplier", "email", "a@x") == ["s1"]

    def test_children_in_insert_order_and_reparenting(self, store: StateStore) -> None:
        for gid in ["z", "a", "m"]:
            store.put_global("line", gid, {"n": gid})
        store.set_parents("line", [("z", "inv1"), ("a", "inv1")])
        store.set_parent("line", "m", "inv1")
        store.put_global("line", "other", {})
        store.set_parent("line", "other", "inv2")
        store.put_global("line", "z", {"n": "z2"})  # an update keeps order and parent
        assert store.children_of("line", "inv1") == [("z", {"n": "z2"}), ("a", {"n": "a"}),
                                                      ("m", {"n": "m"})]
        store.set_parent("line", "a", None)
        assert [gid for gid, _ in store.children_of("line", "inv1")] == ["z", "m"]
        assert store.children_of("invoice", "inv1") == []
        with pytest.raises(StateError, match="nope"):
            store.set_parent("line", "nope", "inv1")

    # -- inbox, cursors, seen sets ----------------------------------------------------

    def test_cursors(self, store: StateStore) -> None:
        assert store.get_cursor("crm", "contact") is None
        store.set_cursor("crm", "contact", "c1")
        store.set_cursor("crm", "contact", "c2")
        store.set_cursor("books", "invoice", None)
        assert store.get_cursor("crm", "contact") == "c2"
        assert store.get_cursor("crm", "company") is None
        listed = store.cursors()
        assert [(s, d, c) for s, d, c, _ in listed] == [
            ("books", "invoice", None), ("crm", "contact", "c2")]
        for *_, updated in listed:
            assert updated.tzinfo is not None
            assert abs(updated - datetime.now(UTC)) < timedelta(minutes=1)

    def test_stage_resolve_and_claim(self, store: StateStore) -> None:
        assert store.inbox_last_seq() == 0
        store.stage([_row("1"), _row("2"), _row("x", global_type="invoice"), _row("3")])
        store.stage([InboxRow("customer", "", "", "", None, kind="reshare", global_id="g9")])
        rows = store.inbox_unresolved("customer", 10)
        assert [r.external_id for r in rows] == ["1", "2", "3"]
        assert (rows[0].payload, rows[0].kind) == (StagedRecord({"id": "1"}, "h"), "read")
        seqs = [r.seq for r in rows]
        assert None not in seqs and seqs == sorted(seqs)  # type: ignore[type-var]
        assert store.inbox_last_seq() > max(seqs)  # type: ignore[type-var, operator]
        assert [r.external_id for r in store.inbox_unresolved("customer", 2)] == ["1", "2"]
        store.inbox_resolve(rows[0].seq, "g1")  # type: ignore[arg-type]
        store.inbox_resolve_many([(rows[2].seq, "g3")])  # type: ignore[list-item]
        assert store.inbox_claimant("customer", "g1", "crm") == "1"
        assert store.inbox_claimant("customer", "g1", "books") is None
        assert [r.external_id for r in store.inbox_unresolved("customer", 10)] == ["2"]
        reshare = store.inbox_groups("customer", None, 10)[-1]
        assert (reshare.kind, reshare.payload, reshare.global_id) == ("reshare", None, "g9")

    def test_inbox_groups_come_whole_in_order_without_deferred_rows(
            self, store: StateStore) -> None:
        rows = [_row("g2-1", "g2"), _row("g1-1", "g1"), _row("g3-1", "g3"), _row("g2-2", "g2"),
                _row("g1-2", "g1"), _row("g2-3", "g2"), _row("u")]
        store.stage(rows)
        page = store.inbox_groups("customer", None, 3)
        assert [r.external_id for r in page] == ["g1-1", "g1-2"]  # g2 would overflow
        assert [r.global_id for r in store.inbox_groups("customer", "g1", 3)] == ["g2"] * 3
        assert [r.global_id for r in store.inbox_groups("customer", "g1", 1)] == ["g2"] * 3
        assert [r.global_id for r in store.inbox_groups("customer", "g2", 3)] == ["g3"]
        assert store.inbox_groups("customer", "g3", 3) == []
        g3 = store.inbox_groups("customer", "g2", 3)[0]
        store.inbox_defer(g3.seq, "waiting")  # type: ignore[arg-type]
        assert store.inbox_groups("customer", "g2", 3) == []
        assert len(store.inbox_groups("customer", None, 100)) == 5
        assert store.inbox_groups("invoice", None, 100) == []

    def test_inbox_defer_undefer_delete_and_count(self, store: StateStore) -> None:
        store.stage([_row("1"), _row("2"), _row("3"), _row("i", global_type="invoice")])
        one, _two, three = store.inbox_unresolved("customer", 10)
        (inv,) = store.inbox_unresolved("invoice", 10)
        store.inbox_defer(one.seq, "no parent")  # type: ignore[arg-type]
        store.inbox_defer(inv.seq, "no customer")  # type: ignore[arg-type]
        assert [(r.external_id, r.deferred) for r in store.inbox_deferred()] == [
            ("1", "no parent"), ("i", "no customer")]
        assert [r.external_id for r in store.inbox_unresolved("customer", 10)] == ["2", "3"]
        assert (store.inbox_count(), store.inbox_count("customer")) == (4, 3)
        assert store.inbox_undefer("customer") == 1
        assert store.inbox_undefer("customer") == 0
        assert [r.external_id for r in store.inbox_deferred()] == ["i"]
        store.inbox_delete([one.seq, three.seq])  # type: ignore[list-item]
        store.inbox_delete([])
        assert [r.external_id for r in store.inbox_unresolved("customer", 10)] == ["2"]
        assert (store.inbox_count(), store.inbox_count("customer")) == (2, 1)

    def test_inbox_reads_until_and_tombstones(self, store: StateStore) -> None:
        store.stage([
            InboxRow("organisation", "a", "customers", "1", StagedRecord.tombstone()),
            InboxRow("organisation", "a", "customers", "2", StagedRecord.tombstone()),
            InboxRow("organisation", "b", "accounts", "3", StagedRecord.tombstone()),
            InboxRow("organisation", "b", "accounts", "4", StagedRecord({})),
            InboxRow("human", "a", "customers", "5", StagedRecord.tombstone()),
        ])
        assert store.inbox_deletes("organisation") == {"a": 2, "b": 1}
        assert store.inbox_deletes("organisation", "accounts") == {"b": 1}
        assert store.inbox_deletes("product") == {}
        until = store.inbox_last_seq()
        store.stage([InboxRow("organisation", "a", "customers", "1",
                              StagedRecord({"again": True}))])
        got = store.inbox_reads_until(until, "a", "customers", ["1", "2", "9"])
        assert sorted((r.external_id, r.payload is not None and r.payload.deleted)
                      for r in got) == [("1", True), ("2", True)]

    def test_inbox_referrers_are_live_reads_naming_a_record(self, store: StateStore) -> None:
        store.stage([
            InboxRow("agreement", "a", "invoices", "i1", StagedRecord({"customer": "c1"})),
            InboxRow("agreement", "a", "invoices", "i2", StagedRecord({"customer": 7})),
            InboxRow("agreement", "a", "invoices", "i3", StagedRecord({"customer": "c2"})),
            InboxRow("agreement", "b", "quotes", "q1", StagedRecord({"customer": "c1"})),
            InboxRow("human", "a", "customers", "h1", StagedRecord({"customer": "c1"})),
            InboxRow("agreement", "a", "invoices", "i4", StagedRecord.tombstone()),
        ])
        first = store.inbox_unresolved("agreement", 1)[0]
        assert first.seq is not None and first.external_id == "i1"
        store.inbox_defer(first.seq, "waiting for its customer")  # it still refers to it
        got = store.inbox_referrers("a", "agreement", "customer", ["c1", "7", "c9"])
        assert sorted(r.external_id for r in got) == ["i1", "i2"]
        assert store.inbox_referrers("a", "agreement", "customer", []) == []
        assert store.inbox_referrers("a", "agreement", "seller", ["c1"]) == []

    def test_seen_sets_of_full_listings(self, store: StateStore) -> None:
        with store.transaction():
            store.put_links(_link(str(i)) for i in range(20))
        store.put_link(_link("0", "s0", global_type="supplier"))
        store.put_link(_link("c1", "c1", datatype="company"))
        store.seen_reset("crm", "contact")
        store.seen_add("crm", "contact", (str(i) for i in range(1, 20)))
        store.seen_add("crm", "contact", ["5"])  # twice is harmless
        store.seen_add("crm", "company", ["0"])  # another datatype does not count
        assert store.unseen_links("crm", "contact", "customer") == [_link("0")]
        assert store.unseen_links("crm", "contact", "supplier") == [
            _link("0", "s0", global_type="supplier")]
        store.seen_reset("crm", "contact")
        assert len(store.unseen_links("crm", "contact", "customer")) == 20
        assert store.unseen_links("crm", "company", "customer") == [
            _link("c1", "c1", datatype="company")]

    # -- journal --------------------------------------------------------------------

    def test_journal_add_replace_and_remove(self, store: StateStore) -> None:
        assert store.journal_pending() == []
        store.journal_add(JournalEntry("k2", "customer", "g2", "crm", "contact", {"a": 2}, T0))
        store.journal_add(JournalEntry("k1", "customer", "g1", "crm", "contact", {"a": 1}))
        pending = store.journal_pending()
        assert [e.key for e in pending] == ["k2", "k1"]
        assert pending[0].created_at == T0
        assert pending[1].created_at is not None and pending[1].created_at.tzinfo is not None
        store.journal_add(JournalEntry("k2", "customer", "g2", "crm", "contact", {"a": 3}, T0))
        assert [e.payload for e in store.journal_pending()] == [{"a": 3}, {"a": 1}]
        store.journal_remove("k2")
        store.journal_remove("unknown")
        assert [e.key for e in store.journal_pending()] == ["k1"]

    def test_journal_batches_read_back_as_entries(self, store: StateStore) -> None:
        store.journal_add(JournalEntry("single", "customer", "g", "crm", "contact", {"a": 1}, T0))
        store.journal_add_many(_entries(20))
        store.journal_add_many(_entries(2, T0 + timedelta(days=1)))  # a small batch
        pending = store.journal_pending()
        assert len(pending) == 21
        assert [(e.created_at, e.key) for e in pending] == sorted(
            (e.created_at, e.key) for e in pending)
        by_key = {e.key: e for e in pending}
        assert by_key["k07"].payload == {"properties": {"n": 7, "big": 2**70}}
        assert by_key["k00"].created_at == T0 + timedelta(days=1)  # journalled again
        store.journal_remove_many(["k00", "k05", "single"])
        assert {e.key for e in store.journal_pending()} == {f"k{i:02}" for i in range(1, 20)
                                                           } - {"k05"}
        store.journal_add(JournalEntry("k04", "customer", "g4", "crm", "contact", {"again": 1}))
        assert [e.payload for e in store.journal_pending() if e.key == "k04"] == [{"again": 1}]
        store.journal_remove_many([f"k{i:02}" for i in range(20)])
        assert store.journal_pending() == []

    def test_a_batch_left_by_a_crash_is_settled_by_the_next_process(
            self, open_store: OpenStore, shares_state: bool) -> None:
        if not shares_state:
            pytest.skip("this store keeps no state a next process could open")
        crashed = open_store()
        crashed.journal_add_many(_entries(10))  # and the process dies: never closed
        again = open_store()
        again.journal_remove("k03")  # without listing the journal first
        again.journal_remove_many(["k04", "k05"])
        assert {e.key for e in again.journal_pending()} == {
            f"k{i:02}" for i in range(10)} - {"k03", "k04", "k05"}
        again.close()
        last = open_store()
        assert len(last.journal_pending()) == 7
        last.journal_remove_many([f"k{i:02}" for i in range(10)])
        assert last.journal_pending() == []
        last.close()
        crashed.close()

    def test_a_rolled_back_removal_keeps_the_batch_entries(self, store: StateStore) -> None:
        store.journal_add_many(_entries(10))
        with pytest.raises(RuntimeError), store.transaction():
            store.journal_remove_many([f"k{i:02}" for i in range(5)])
            raise RuntimeError("boom")
        store.journal_remove_many(["k00"])
        assert len(store.journal_pending()) == 9

    # -- conflicts and dead letters ----------------------------------------------------

    def test_conflicts_newest_first(self, store: StateStore) -> None:
        for i in range(5):
            store.add_conflict(Conflict("customer", f"g{i}", "name",
                                        {"crm": f"a{i}", "books": "1.0"}, "crm", "newest",
                                        run_id=7))
        got = store.conflicts(limit=3)
        assert [c.global_id for c in got] == ["g4", "g3", "g2"]
        assert got[0].values == {"crm": "a4", "books": "1.0"}
        assert (got[0].winner, got[0].policy, got[0].run_id) == ("crm", "newest", 7)
        assert got[0].id is not None and got[0].created_at is not None
        assert len(store.conflicts()) == 5

    def test_a_dead_letter_repeated_bumps_its_attempts(self, store: StateStore) -> None:
        first = store.put_dead_letter(_letter())
        assert first.id is not None and first.attempts == 1
        assert first.created_at is not None and first.created_at == first.updated_at
        again = store.put_dead_letter(_letter(error="worse", payload={"id": "1", "v": 2},
                                              next_attempt=T0 + timedelta(1)))
        assert (again.id, again.attempts) == (first.id, 2)
        assert (again.error, again.payload) == ("worse", {"id": "1", "v": 2})
        assert again.next_attempt == T0 + timedelta(1)
        assert again.created_at == first.created_at
        assert store.dead_letters() == [again]

    def test_dead_letter_identity_per_direction(self, store: StateStore) -> None:
        read = store.put_dead_letter(_letter())
        other_record = store.put_dead_letter(_letter(external_id="2"))
        write = store.put_dead_letter(_letter(direction="write", external_id="",
                                              global_id="g1", payload=None))
        write2 = store.put_dead_letter(_letter(direction="write", external_id="77",
                                               global_id="g1", payload=None))
        other_global = store.put_dead_letter(_letter(direction="write", global_id="g2"))
        assert len({read.id, other_record.id, write.id, other_global.id}) == 4
        assert write2.id == write.id and write2.attempts == 2
        with pytest.raises(ValueError, match="direction"):
            store.put_dead_letter(_letter(direction="sideways"))

    def test_dead_letters_are_scheduled_due_removed_and_cleared(
            self, store: StateStore) -> None:
        early = store.put_dead_letter(_letter(external_id="1", next_attempt=T0))
        late = store.put_dead_letter(_letter(external_id="2", next_attempt=T0 + timedelta(1)))
        never = store.put_dead_letter(_letter(external_id="3", next_attempt=None))
        assert store.dead_letters(due_before=T0.astimezone(timezone(timedelta(hours=-5)))
                                  ) == [early]
        assert store.dead_letters(due_before=T0 - timedelta(seconds=1)) == []
        assert store.dead_letters(due_before=T0 + timedelta(2)) == [early, late]
        assert store.dead_letters() == [early, late, never]
        store.schedule_dead_letter(early.id, T0 + timedelta(days=5))  # type: ignore[arg-type]
        assert store.dead_letters(due_before=T0 + timedelta(2)) == [late]
        store.remove_dead_letter(late.id)  # type: ignore[arg-type]
        store.remove_read_letter("crm", "contact", "9")
        store.remove_read_letter("crm", "contact", "3")
        assert [d.external_id for d in store.dead_letters()] == ["1"]
        w1 = store.put_dead_letter(_letter(direction="write", global_id="g1"))
        store.put_dead_letter(_letter(direction="write", global_id="g1", system="books"))
        store.put_dead_letter(_letter(direction="write", global_id="g1",
                                      global_type="supplier"))
        store.clear_dead_letters_for("books", "customer", "g1")
        writes = [(d.system, d.global_type) for d in store.dead_letters()
                  if d.direction == "write"]
        assert writes == [("crm", "customer"), ("crm", "supplier")]
        assert w1 in store.dead_letters()

    # -- runs ---------------------------------------------------------------------------

    def test_runs_newest_first(self, store: StateStore) -> None:
        first = store.start_run()
        second = store.start_run()
        assert second > first
        store.finish_run(first, "ok", {"created": 3})
        runs = store.runs()
        assert [r.id for r in runs] == [second, first]
        assert (runs[0].status, runs[0].finished_at, runs[0].summary) == ("running", None, {})
        assert (runs[1].status, runs[1].summary) == ("ok", {"created": 3})
        assert runs[1].finished_at is not None and runs[1].finished_at >= runs[1].started_at
        assert runs[1].started_at.tzinfo is not None
        assert [r.id for r in store.runs(limit=1)] == [second]
        with pytest.raises(StateError, match="no run"):
            store.finish_run(9999, "ok", {})

    # -- notes ----------------------------------------------------------------------------

    def test_notes_round_trip_per_instance(self, store: StateStore) -> None:
        assert store.get_note("erp", "budget") is None
        assert store.notes("erp") == {}
        store.put_note("erp", "budget", {"left": 5})
        store.put_note("erp", "token", {"access_token": "a"})
        store.put_note("billing", "budget", [1, 2])
        store.put_note("erp", "budget", {"left": 4})
        assert store.get_note("erp", "budget") == {"left": 4}
        assert store.notes("erp") == {"budget": {"left": 4}, "token": {"access_token": "a"}}
        assert store.notes("billing") == {"budget": [1, 2]}
        store.delete_note("erp", "budget")
        store.delete_note("erp", "never-there")
        assert store.get_note("erp", "budget") is None
        assert store.notes("erp") == {"token": {"access_token": "a"}}

    def test_tokens_are_notes(self, store: StateStore) -> None:
        assert store.get_token("crm") is None
        store.put_token("crm", {"access_token": "a", "expires_at": 17.5})
        store.put_token("crm", {"access_token": "a2"})
        store.put_token("crm#budget", {"left": 1})
        assert store.get_token("crm") == {"access_token": "a2"}
        assert store.get_note("crm", "token") == {"access_token": "a2"}
        assert store.get_note("crm", "budget") == {"left": 1}
        store.put_note("crm", "token", {"access_token": "a3"}, at_once=True)
        assert store.get_token("crm") == {"access_token": "a3"}

    def test_a_note_follows_the_transaction_unless_at_once(self, store: StateStore) -> None:
        with pytest.raises(RuntimeError), store.transaction():
            store.put_note("erp", "plain", 1)
            store.put_note("erp", "at-once", 2, at_once=True)
            assert (store.get_note("erp", "plain"), store.get_note("erp", "at-once")) == (1, 2)
            raise RuntimeError("boom")
        assert store.get_note("erp", "plain") is None
        assert store.get_note("erp", "at-once") == 2
        with pytest.raises(RuntimeError), store.transaction():
            store.delete_note("erp", "at-once", at_once=True)
            raise RuntimeError("boom")
        assert store.get_note("erp", "at-once") is None

    def test_a_note_put_at_once_survives_a_dry_run(self, store: StateStore) -> None:
        store.put_note("erp", "token", {"refresh_token": "r0"})
        store.begin_dry_run()
        with store.transaction():
            store.put_note("erp", "token", {"refresh_token": "r1"}, at_once=True)
            store.put_note("erp", "other", {"n": 1})
        assert store.get_note("erp", "token") == {"refresh_token": "r1"}
        store.end_dry_run()
        assert store.get_note("erp", "token") == {"refresh_token": "r1"}
        assert store.get_note("erp", "other") is None
        store.put_note("erp", "token", {"refresh_token": "r2"})  # later writes win
        assert store.get_note("erp", "token") == {"refresh_token": "r2"}

    def test_a_note_put_at_once_is_seen_by_another_store_at_once(
            self, store: StateStore, other: StateStore) -> None:
        store.put_note("erp", "token", {"refresh_token": "r0"}, at_once=True)
        assert other.get_note("erp", "token") == {"refresh_token": "r0"}
        with store.transaction():
            store.put_note("erp", "token", {"refresh_token": "r1"}, at_once=True)
            assert other.get_note("erp", "token") == {"refresh_token": "r1"}
        store.begin_dry_run()
        store.put_note("erp", "token", {"refresh_token": "r2"}, at_once=True)
        assert other.get_note("erp", "token") == {"refresh_token": "r2"}
        assert other.notes("erp") == {"token": {"refresh_token": "r2"}}
        store.end_dry_run()
        assert other.get_note("erp", "token") == {"refresh_token": "r2"}

    def test_a_note_put_at_once_by_a_killed_dry_run_is_kept(
            self, open_store: OpenStore, shares_state: bool) -> None:
        if not shares_state:
            pytest.skip("this store keeps no state a next process could open")
        killed = open_store()
        killed.begin_dry_run()
        killed.put_link(_link("1"))
        killed.put_note("erp", "token", {"refresh_token": "r1"}, at_once=True)
        # the process dies here: no end_dry_run, no close
        nxt = open_store()
        assert nxt.get_note("erp", "token") == {"refresh_token": "r1"}
        assert nxt.count_links() == 0
        nxt.close()
        killed.close()
        last = open_store()
        assert last.get_note("erp", "token") == {"refresh_token": "r1"}
        assert last.count_links() == 0
        last.close()

    # -- JSON values ---------------------------------------------------------------------

    def test_json_values_come_back_exactly_everywhere(self, store: StateStore) -> None:
        v = JSON_EDGES
        store.put_global("customer", "g-ü🚀", v)
        store.put_link(_link("ext-שלום-🚀", "g-ü🚀", values=v))
        store.stage([InboxRow("customer", "crm", "contact", "e-1", StagedRecord(v))])
        store.journal_add(JournalEntry("k-1", "customer", "g", "crm", "contact", v, T0))
        store.journal_add_many(JournalEntry(f"b{i}", "customer", f"g{i}", "crm", "contact",
                                            {"i": i, **v}, T0) for i in range(10))
        store.add_conflict(Conflict("customer", "g", "name", v, "crm", "newest"))
        store.put_dead_letter(_letter(payload=v))
        run = store.start_run()
        store.finish_run(run, "ok", v)
        store.put_note("erp", "n", v)
        store.put_note("erp", "held", v, at_once=True)
        with store.transaction():
            store.put_note("erp", "held-in-a-transaction", v, at_once=True)
        store.set_match_keys("customer", "g-ü🚀", {"name": "مرحبا 🚀"})

        def exact(got: Any) -> None:
            assert got == v
            assert repr(got) == repr(v)  # ints stay ints, floats floats, keys in order

        exact(store.get_global("customer", "g-ü🚀"))
        exact(store.get_link("crm", "contact", "ext-שלום-🚀", "customer").values)  # type: ignore[union-attr]
        exact(store.inbox_unresolved("customer", 1)[0].payload.values)  # type: ignore[union-attr]
        journal = {e.key: e.payload for e in store.journal_pending()}
        exact(journal["k-1"])
        exact({k: x for k, x in journal["b7"].items() if k != "i"})
        exact(store.conflicts()[0].values)
        exact(store.dead_letters()[0].payload)
        exact(store.runs()[0].summary)
        for name in ("n", "held", "held-in-a-transaction"):
            exact(store.get_note("erp", name))
        assert store.find_by_key("customer", "name", "مرحبا 🚀") == ["g-ü🚀"]

    # -- migrations ------------------------------------------------------------------------

    def test_every_earlier_state_version_opens_with_its_data(
            self, old_versions: list[int],
            old_state: Callable[[int], OpenStore] | None) -> None:
        if not old_versions or old_state is None:
            pytest.skip("this store has no earlier state versions")
        s = OldSample
        for version in old_versions:
            opener = old_state(version)
            store = opener()
            where = f"from state version {version}"
            assert store.get_global(s.global_type, s.global_id) == s.values, where
            assert type(store.get_global(s.global_type, s.global_id)["n"]) is int, where  # type: ignore[index]
            assert store.find_by_key(s.global_type, *s.match_key) == [s.global_id], where
            assert store.links_of(s.global_type, s.global_id) == [s.link], where
            assert store.get_cursor(*s.cursor[:2]) == s.cursor[2], where
            assert store.journal_pending() == [s.journal], where
            assert store.get_token("erp") == s.tokens["erp"], where
            assert store.get_note("erp", "token") == s.tokens["erp"], where
            assert store.notes("erp") == {"token": s.tokens["erp"],
                                          "budget": s.tokens["erp#budget"]}, where
            store.put_note("erp", "budget", {"daily_remaining": 4}, at_once=True)
            store.journal_remove(s.journal.key)
            store.close()
            store = opener()  # migrated once: opens again as it is, with the writes kept
            assert store.get_note("erp", "budget") == {"daily_remaining": 4}, where
            assert store.journal_pending() == [], where
            assert store.get_global(s.global_type, s.global_id) == s.values, where
            store.close()

    # -- files -------------------------------------------------------------------------------

    def test_every_file_of_the_state_is_private(
            self, open_store: OpenStore,
            state_files: Callable[[], list[Path]] | None) -> None:
        if state_files is None:
            pytest.skip("this store keeps no files")
        old = os.umask(0o000)
        try:
            s = open_store()
            s.put_note("erp", "token", {"refresh_token": "r0"})
            s.acquire_lock("files")
            s.begin_dry_run()
            s.put_note("erp", "token", {"refresh_token": "r1"}, at_once=True)
            during = {p.name: stat.S_IMODE(p.stat().st_mode) for p in state_files()}
            s.end_dry_run()
            s.release_lock()
            s.close()
        finally:
            os.umask(old)
        after = {p.name: stat.S_IMODE(p.stat().st_mode) for p in state_files()}
        assert during and after
        assert {name: mode for name, mode in {**during, **after}.items()
                if mode != 0o600} == {}
