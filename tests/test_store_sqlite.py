"""The SQLite state store, method group by method group.

Most tests run against both a file store and ``SQLiteStore.memory()``; the
ones about files, locks and processes use files only.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talk_core.errors import LockedError, StateError
from talk_core.model import Link
from talk_core.serialize import SLOW_MARK, converter, dumps, format_datetime, loads, parse_datetime
from talk_core.staged import StagedRecord
from talk_core.store import schema
from talk_core.store.base import Conflict, DeadLetter, InboxRow, JournalEntry, Run
from talk_core.store.sqlite import SQLiteStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "state.db") if request.param == "file" else SQLiteStore.memory()
    yield s
    s.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


def raw(path: Path) -> sqlite3.Connection:
    """A second, independent connection: what another process would see."""
    return sqlite3.connect(path, isolation_level=None)


def link(ext: str, gid: str | None = None, **kw: Any) -> Link:
    fields: dict[str, Any] = {
        "global_type": "customer", "system": "crm", "datatype": "contact", "hash": "h",
        "values": {"name": ext},
    }
    fields.update(kw)
    return Link(global_id=gid or f"g-{ext}", external_id=ext, **fields)


def inbox(ext: str, gid: str | None = None, **kw: Any) -> InboxRow:
    fields: dict[str, Any] = {"global_type": "customer", "system": "crm", "datatype": "contact"}
    fields.update(kw)
    return InboxRow(external_id=ext, global_id=gid, payload=StagedRecord({"id": ext}), **fields)


# -- serialize ------------------------------------------------------------------


def test_converter_round_trips_every_store_record_with_utc_text() -> None:
    plus_two = timezone(timedelta(hours=2))
    records = [
        InboxRow("customer", "crm", "contact", "1",
                 StagedRecord({"id": "1"}, "h", T0, history=True), seq=4, deferred="why"),
        JournalEntry("k", "customer", "g", "crm", "contact", {"a": 1}, T0),
        Conflict("customer", "g", "name", {"crm": "a"}, "crm", "newest", 3, 9, T0),
        DeadLetter("crm", "contact", "1", "customer", "read", "boom", next_attempt=T0, id=2),
        Run(1, datetime(2026, 3, 1, 14, 0, tzinfo=plus_two), summary={"created": 2}),
        Link("customer", "g", "crm", "contact", "1", "h", {"n": [1, 2.5, None]}),
    ]
    for record in records:
        plain = converter.unstructure(record)
        assert json.loads(json.dumps(plain)) == plain
        assert converter.structure(plain, type(record)) == record
    run_plain = converter.unstructure(records[4])
    assert run_plain["started_at"] == "2026-03-01T12:00:00.000000Z"


def test_converter_turns_decimals_into_strings_and_back() -> None:
    plain = converter.unstructure({"total": Decimal("10.10")})
    assert plain == {"total": "10.10"}
    assert converter.structure("10.10", Decimal) == Decimal("10.10")


def test_dumps_is_compact_and_converts_datetime_and_decimal_explicitly() -> None:
    text = dumps({"b": Decimal("1.50"), "a": T0, "c": [1, "x"]})
    assert text == '{"b":"1.50","a":"2026-03-01T12:00:00.000000Z","c":[1,"x"]}'
    assert loads(text)["b"] == "1.50"


@pytest.mark.parametrize("bad", [{1, 2}, object(), b"bytes"])
def test_dumps_refuses_what_json_cannot_carry(bad: object) -> None:
    with pytest.raises(TypeError, match="cannot store"):
        dumps({"x": bad})


def test_naive_datetimes_and_nan_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        dumps({"at": datetime(2026, 1, 1)})
    with pytest.raises(ValueError):
        dumps({"x": float("nan")})


def test_nested_non_finite_floats_are_refused_too() -> None:
    with pytest.raises(ValueError):
        dumps({"lines": [{"price": float("inf")}]})


def test_what_the_fast_encoder_cannot_take_still_round_trips() -> None:
    big = {"a": 2**70, "b": -(2**80)}
    assert loads(dumps(big)) == big
    assert dumps({1: "x"}) == SLOW_MARK + '{"1":"x"}'
    assert loads(dumps({1: "x"})) == {"1": "x"}


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False).map(Decimal),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_JSONISH)
@settings(max_examples=300, deadline=None)
def test_dumps_means_what_the_standard_encoder_means(value: object) -> None:
    """Same data back (float text may differ: 0.00001 for 1e-05), and same types."""
    standard = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                                default=str)
    ours, theirs = loads(dumps(value)), json.loads(standard.encode(value))
    assert ours == theirs
    assert repr(ours) == repr(theirs)


@given(_JSONISH | st.integers(min_value=2**60, max_value=2**90).map(lambda n: {"id": n}))
@settings(max_examples=300, deadline=None)
def test_loads_reads_back_exactly_what_dumps_wrote(value: object) -> None:
    """Integers beyond 64 bits included, which a fast decoder would turn into floats."""
    standard = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                                default=str)
    ours, theirs = loads(dumps(value)), json.loads(standard.encode(value))
    assert repr(ours) == repr(theirs)


def test_text_the_fast_decoder_would_misread_is_marked() -> None:
    text = dumps({"n": 2**64})
    assert text.startswith(SLOW_MARK) and json.loads(text) == {"n": 2**64}
    assert loads(text) == {"n": 2**64} and type(loads(text)["n"]) is int
    assert not dumps({"n": 2**62}).startswith(SLOW_MARK)


def test_an_escaped_lone_surrogate_is_read_the_standard_way() -> None:
    assert loads('["\\ud800x"]') == ["\ud800x"]


def test_datetime_text_is_fixed_width_so_it_sorts_like_time() -> None:
    times = [T0, T0 + timedelta(microseconds=1), T0 + timedelta(seconds=1, microseconds=5)]
    texts = [format_datetime(t) for t in times]
    assert len({len(t) for t in texts}) == 1
    assert sorted(texts) == texts
    assert [parse_datetime(t) for t in texts] == times
    assert parse_datetime("2026-03-01T12:00:00") == T0


# -- opening, schema and migrations --------------------------------------------


def test_new_file_is_private_and_parent_is_created(db_path: Path) -> None:
    old = os.umask(0o022)
    try:
        s = SQLiteStore(db_path)
        s.put_token("crm", {"access_token": "secret"})
    finally:
        os.umask(old)
    assert db_path.parent.is_dir()
    assert db_path.stat().st_mode & 0o777 == 0o600
    sides = [Path(f"{db_path}{suffix}") for suffix in ("-wal", "-shm")]
    assert any(p.exists() for p in sides)
    for p in sides:
        if p.exists():
            assert p.stat().st_mode & 0o777 == 0o600
    s.close()


def test_file_is_in_wal_mode_at_the_current_version(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    conn = raw(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384


def test_a_file_with_smaller_pages_keeps_them_and_works(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = raw(db_path)
    conn.execute("PRAGMA page_size = 4096")
    for migration in schema.MIGRATIONS:
        for statement in migration:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS)}")
    conn.close()
    store = SQLiteStore(db_path)
    store.put_link(link("1"))
    store.close()
    assert raw(db_path).execute("PRAGMA page_size").fetchone()[0] == 4096
    again = SQLiteStore(db_path)
    assert again.count_links() == 1
    again.close()


def test_state_survives_close_and_reopen(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.put_link(link("1"))
    s.set_cursor("crm", "contact", "c1")
    s.close()
    s.close()  # closing twice is harmless
    again = SQLiteStore(db_path)
    assert again.get_link("crm", "contact", "1", "customer") == link("1")
    assert again.get_cursor("crm", "contact") == "c1"
    again.close()


@pytest.mark.parametrize(
    "content", [b"\x00\x01garbage" * 400, b"hello, I am a text file\n" * 20],
)
def test_a_file_that_is_not_a_database_is_refused_clearly(db_path: Path, content: bytes) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(content)
    with pytest.raises(StateError) as err:
        SQLiteStore(db_path)
    message = str(err.value)
    assert str(db_path) in message
    assert "not a talk state file" in message
    assert "move it away" in message
    assert db_path.read_bytes() == content


def _filled_file(db_path: Path) -> bytes:
    s = SQLiteStore(db_path)
    with s.transaction():
        for i in range(2000):
            s.put_global("customer", str(i), {"name": "x" * 50})
    s.close()
    return db_path.read_bytes()


@pytest.mark.parametrize("damage", ["truncate", "smash_page"])
def test_a_damaged_file_is_refused_clearly(db_path: Path, damage: str) -> None:
    data = _filled_file(db_path)
    assert len(data) > 16 * 4096
    if damage == "truncate":
        damaged = data[: len(data) // 2]
    else:
        damaged = data[: 4 * 4096] + bytes(range(256)) * 16 + data[5 * 4096 :]
    db_path.write_bytes(damaged)
    with pytest.raises(StateError) as err:
        SQLiteStore(db_path)
    assert str(db_path) in str(err.value)
    assert "damaged" in str(err.value)


def test_another_programs_database_is_refused_and_left_alone(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = raw(db_path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.close()
    with pytest.raises(StateError, match="some other program"):
        SQLiteStore(db_path)
    tables = raw(db_path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("photos",)]


def test_a_versioned_database_of_another_program_is_refused(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = raw(db_path)
    conn.execute("CREATE TABLE photos (id INTEGER)")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with pytest.raises(StateError, match="application id 0x0"):
        SQLiteStore(db_path)


def test_a_file_from_a_newer_talk_is_refused(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    newer = len(schema.MIGRATIONS) + 3
    raw(db_path).execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(StateError) as err:
        SQLiteStore(db_path)
    message = str(err.value)
    assert str(db_path) in message
    assert f"state version {newer}" in message
    assert f"up to {len(schema.MIGRATIONS)}" in message


def test_an_empty_file_is_initialised(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"")
    s = SQLiteStore(db_path)
    s.put_token("crm", {"t": 1})
    assert s.get_token("crm") == {"t": 1}
    s.close()


def test_an_old_file_is_migrated_forward_keeping_its_data(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = SQLiteStore(db_path)
    s.put_link(link("1"))
    s.close()
    old = len(schema.MIGRATIONS)
    monkeypatch.setattr(
        schema, "MIGRATIONS",
        [*schema.MIGRATIONS, ["ALTER TABLE links ADD COLUMN note TEXT",
                              "UPDATE links SET note = 'migrated'"]],
    )
    s = SQLiteStore(db_path)
    assert s.get_link("crm", "contact", "1", "customer") == link("1")
    s.close()
    conn = raw(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == old + 1
    assert conn.execute("SELECT note FROM links").fetchall() == [("migrated",)]


def test_a_failing_migration_leaves_the_file_unchanged(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    SQLiteStore(db_path).close()
    old = len(schema.MIGRATIONS)
    monkeypatch.setattr(
        schema, "MIGRATIONS",
        [*schema.MIGRATIONS, ["CREATE TABLE extra (a)", "THIS IS NOT SQL"]],
    )
    with pytest.raises(StateError, match=f"from state version {old} to {old + 1}"):
        SQLiteStore(db_path)
    conn = raw(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == old
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchone() is None


# -- transactions and dry runs ------------------------------------------------------


def test_writes_outside_a_transaction_commit_on_their_own(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.set_cursor("crm", "contact", "c1")
    assert raw(db_path).execute("SELECT cursor FROM cursors").fetchall() == [("c1",)]
    s.close()


def test_a_transaction_commits_at_its_end_only(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    other = raw(db_path)
    with s.transaction():
        s.set_cursor("crm", "contact", "c1")
        assert other.execute("SELECT count(*) FROM cursors").fetchone()[0] == 0
    assert other.execute("SELECT cursor FROM cursors").fetchall() == [("c1",)]
    s.close()


def _cursors(path: Path) -> list[tuple[str, str]]:
    return raw(path).execute("SELECT datatype, cursor FROM cursors ORDER BY datatype").fetchall()


def test_carried_work_is_committed_with_the_next_transaction(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    with s.carrying():
        with s.transaction(carry=True):
            s.set_cursor("crm", "a", "1")
        assert _cursors(db_path) == []  # not committed yet
        assert s.get_cursor("crm", "a") == "1"  # but seen by its own connection
        with s.transaction():
            s.set_cursor("crm", "b", "2")
        assert _cursors(db_path) == [("a", "1"), ("b", "2")]
    s.close()


def test_carried_work_is_committed_when_carrying_ends_even_by_an_exception(
        db_path: Path) -> None:
    s = SQLiteStore(db_path)
    with pytest.raises(RuntimeError), s.carrying():
        with s.transaction(carry=True):
            s.set_cursor("crm", "a", "1")
        raise RuntimeError("boom")
    assert _cursors(db_path) == [("a", "1")]
    with s.transaction():  # the store is usable again
        s.set_cursor("crm", "b", "2")
    assert _cursors(db_path) == [("a", "1"), ("b", "2")]
    s.close()


def test_a_failing_block_after_carried_work_undoes_only_itself(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    with s.carrying():
        with s.transaction(carry=True):
            s.set_cursor("crm", "a", "1")
        with pytest.raises(RuntimeError), s.transaction():
            s.set_cursor("crm", "b", "2")
            raise RuntimeError("boom")
        assert _cursors(db_path) == [("a", "1")]
        with s.transaction(carry=True):
            s.set_cursor("crm", "c", "3")
        with s.transaction(carry=True):  # carried on again, as one commit
            s.set_cursor("crm", "d", "4")
        assert _cursors(db_path) == [("a", "1")]
    assert _cursors(db_path) == [("a", "1"), ("c", "3"), ("d", "4")]
    s.close()


def test_carry_outside_carrying_commits_at_once(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    with s.transaction(carry=True):
        s.set_cursor("crm", "a", "1")
    assert _cursors(db_path) == [("a", "1")]
    s.close()


def test_a_dry_run_leaves_the_file_unchanged(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.put_link(link("1"))
    s.set_cursor("crm", "contact", "c1")
    s.close()
    before = db_path.read_bytes()
    dump_before = list(raw(db_path).iterdump())

    s = SQLiteStore(db_path)
    s.begin_dry_run()
    with s.transaction():
        s.put_link(link("2"))
        s.set_cursor("crm", "contact", "c2")
    with pytest.raises(RuntimeError), s.transaction():
        s.put_link(link("3"))
        raise RuntimeError("boom")
    s.stage([inbox("9")])
    s.start_run()
    assert s.count_links() == 2  # the run sees its own writes...
    assert s.get_cursor("crm", "contact") == "c2"
    assert raw(db_path).execute("SELECT count(*) FROM links").fetchone()[0] == 1  # ...nobody else
    s.end_dry_run()
    assert s.count_links() == 1
    assert s.get_cursor("crm", "contact") == "c1"
    s.close()

    assert list(raw(db_path).iterdump()) == dump_before
    assert db_path.read_bytes() == before


def test_closing_during_a_dry_run_throws_it_away(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.begin_dry_run()
    s.put_link(link("1"))
    s.close()
    s = SQLiteStore(db_path)
    assert s.count_links() == 0
    s.close()


# -- the run lock ------------------------------------------------------------------------


def test_lock_refuses_a_second_store_naming_the_holder(db_path: Path) -> None:
    first = SQLiteStore(db_path)
    second = SQLiteStore(db_path)
    first.acquire_lock("sync-a")
    with pytest.raises(LockedError) as err:
        second.acquire_lock("sync-b")
    message = str(err.value)
    assert f"pid {os.getpid()}" in message
    assert "sync-a" in message
    assert str(db_path) in message
    assert "wait for it to finish" in message
    assert Path(f"{db_path}.lock").stat().st_mode & 0o777 == 0o600
    first.release_lock()
    second.acquire_lock("sync-b")
    with pytest.raises(LockedError):
        first.acquire_lock("sync-a")
    second.close()  # closing releases the lock
    first.acquire_lock("sync-a")
    first.close()


def test_the_lock_row_names_the_holder_while_held(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.acquire_lock("owner-x")
    row = raw(db_path).execute("SELECT owner, pid FROM lock").fetchone()
    assert row == ("owner-x", os.getpid())
    s.release_lock()
    assert raw(db_path).execute("SELECT count(*) FROM lock").fetchone()[0] == 0
    s.close()


def test_lock_held_by_another_process_until_it_is_killed(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    script = textwrap.dedent(
        """
        import sys, time
        from talk_core.store.sqlite import SQLiteStore
        store = SQLiteStore(sys.argv[1])
        store.acquire_lock("child")
        print("ready", flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        s = SQLiteStore(db_path)
        with pytest.raises(LockedError) as err:
            s.acquire_lock("parent")
        assert f"pid {child.pid}" in str(err.value)
        assert "child" in str(err.value)
    finally:
        child.kill()
        child.wait(timeout=30)
    s.acquire_lock("parent")  # a SIGKILLed holder leaves no stale lock
    assert raw(db_path).execute("SELECT owner, pid FROM lock").fetchone() == (
        "parent", os.getpid()
    )
    s.close()


# -- cursors ------------------------------------------------------------------------------


# -- inbox ---------------------------------------------------------------------------------


def test_stage_and_unresolved_oldest_first(store: SQLiteStore) -> None:
    store.stage([inbox("1"), inbox("2"), inbox("x", global_type="invoice"), inbox("3")])
    store.stage([InboxRow("customer", "", "", "", None, kind="reshare", global_id="g9")])
    rows = store.inbox_unresolved("customer", 10)
    assert [r.external_id for r in rows] == ["1", "2", "3"]
    assert rows[0].payload == StagedRecord({"id": "1"})
    assert rows[0].kind == "read"
    assert rows[0].seq is not None and rows[0].seq < rows[1].seq < rows[2].seq  # type: ignore[operator]
    assert [r.external_id for r in store.inbox_unresolved("customer", 2)] == ["1", "2"]
    store.inbox_resolve(rows[0].seq, "g1")  # type: ignore[arg-type]
    store.inbox_defer(rows[1].seq, "parent missing")  # type: ignore[arg-type]
    assert [r.external_id for r in store.inbox_unresolved("customer", 10)] == ["3"]
    reshare = store.inbox_groups("customer", None, 10)[-1]
    assert (reshare.kind, reshare.payload, reshare.global_id) == ("reshare", None, "g9")


def _stage_groups(store: SQLiteStore, sizes: dict[str, int]) -> None:
    """Stage rows of several groups interleaved, so seq order differs from group order."""
    pending = dict(sizes)
    rows: list[InboxRow] = []
    while pending:
        for gid in list(pending):
            rows.append(inbox(f"{gid}-{pending[gid]}", gid))
            pending[gid] -= 1
            if not pending[gid]:
                del pending[gid]
    store.stage(rows)


def test_inbox_groups_never_split_a_group(store: SQLiteStore) -> None:
    _stage_groups(store, {"g2": 3, "g1": 2, "g3": 1})
    page = store.inbox_groups("customer", None, 3)
    assert [r.global_id for r in page] == ["g1", "g1"]  # g2 would overflow the limit
    seqs = [r.seq for r in page]
    assert seqs == sorted(seqs)  # type: ignore[type-var]
    page = store.inbox_groups("customer", "g1", 3)
    assert [r.global_id for r in page] == ["g2", "g2", "g2"]
    assert [r.global_id for r in store.inbox_groups("customer", "g2", 3)] == ["g3"]
    assert store.inbox_groups("customer", "g3", 3) == []
    # A group larger than the limit still comes whole.
    assert [r.global_id for r in store.inbox_groups("customer", "g1", 1)] == ["g2"] * 3
    assert len(store.inbox_groups("customer", None, 100)) == 6
    assert store.inbox_groups("invoice", None, 100) == []


def test_inbox_groups_leave_out_deferred_and_unresolved_rows(store: SQLiteStore) -> None:
    store.stage([inbox("a", "g1"), inbox("b", "g2"), inbox("c")])
    g2 = store.inbox_groups("customer", "g1", 10)[0]
    store.inbox_defer(g2.seq, "waiting")  # type: ignore[arg-type]
    assert [r.external_id for r in store.inbox_groups("customer", None, 10)] == ["a"]


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3), st.integers(1, 5), max_size=15
    ),
    limit=st.integers(1, 8),
)
def test_paging_through_groups_returns_every_row_once_in_whole_groups(
    sizes: dict[str, int], limit: int
) -> None:
    store = SQLiteStore.memory()
    _stage_groups(store, sizes)
    seen: list[InboxRow] = []
    after: str | None = None
    while page := store.inbox_groups("customer", after, limit):
        ids = [r.global_id for r in page]
        assert ids == sorted(ids)  # type: ignore[type-var]
        for gid in set(ids):
            assert ids.count(gid) == sizes[gid]  # type: ignore[index]
        assert len(page) <= limit or len(set(ids)) == 1
        seen.extend(page)
        after = ids[-1]
    assert len(seen) == sum(sizes.values())
    assert len({r.seq for r in seen}) == len(seen)
    store.close()


def test_inbox_defer_undefer_delete_and_count(store: SQLiteStore) -> None:
    store.stage([inbox("1"), inbox("2"), inbox("3"), inbox("i", global_type="invoice")])
    one, _two, three = store.inbox_unresolved("customer", 10)
    (inv,) = store.inbox_unresolved("invoice", 10)
    store.inbox_defer(one.seq, "no parent")  # type: ignore[arg-type]
    store.inbox_defer(inv.seq, "no customer")  # type: ignore[arg-type]
    deferred = store.inbox_deferred()
    assert [(r.external_id, r.deferred) for r in deferred] == [
        ("1", "no parent"), ("i", "no customer"),
    ]
    assert store.inbox_count() == 4
    assert store.inbox_count("customer") == 3
    assert store.inbox_undefer("customer") == 1
    assert store.inbox_undefer("customer") == 0
    assert [r.external_id for r in store.inbox_deferred()] == ["i"]
    assert [r.external_id for r in store.inbox_unresolved("customer", 10)] == ["1", "2", "3"]
    store.inbox_delete([one.seq, three.seq])  # type: ignore[list-item]
    store.inbox_delete([])
    assert [r.external_id for r in store.inbox_unresolved("customer", 10)] == ["2"]
    assert store.inbox_count("customer") == 1
    assert store.inbox_count() == 2


def test_inbox_payload_round_trips_json(store: SQLiteStore) -> None:
    payload = StagedRecord({"amount": "1.50", "tags": ["a", 2]}, "h1",
                           datetime(2026, 3, 1, 12, 30, tzinfo=UTC), history=True, created=True)
    store.stage([InboxRow("customer", "crm", "contact", "1", payload)])
    assert store.inbox_unresolved("customer", 1)[0].payload == payload


def test_inbox_payload_keeps_the_json_earlier_versions_wrote(store: SQLiteStore) -> None:
    """State files staged before the typed record still read, and new rows read the same."""
    store.stage([InboxRow("customer", "crm", "contact", "1",
                          StagedRecord({"n": 1}, "h", datetime(2026, 3, 1, tzinfo=UTC))),
                 InboxRow("customer", "crm", "contact", "2", StagedRecord.tombstone())])
    stored = [loads(text) for (text,) in store._conn.execute(
        "SELECT payload FROM inbox ORDER BY seq")]
    assert stored == [{"values": {"n": 1}, "hash": "h", "updated": "2026-03-01T00:00:00+00:00"},
                      {"deleted": True}]
    old = dumps({"values": {"n": 2}, "hash": "h2", "updated": "2026-03-02T00:00:00+00:00",
                 "history": True})
    store._conn.execute(
        "INSERT INTO inbox (global_type, system, datatype, external_id, kind, payload) "
        "VALUES ('customer', 'crm', 'contact', '3', 'read', ?)", (old,))
    rows = store.inbox_unresolved("customer", 10)
    assert rows[2].payload == StagedRecord({"n": 2}, "h2", datetime(2026, 3, 2, tzinfo=UTC),
                                           history=True)
    assert rows[1].payload is not None and rows[1].payload.deleted


# -- global entities and match keys -------------------------------------------------------


def test_globals_put_get_update_delete(store: SQLiteStore) -> None:
    assert store.get_global("customer", "g1") is None
    store.put_global("customer", "g1", {"name": "A", "total": Decimal("2.50")})
    assert store.get_global("customer", "g1") == {"name": "A", "total": "2.50"}
    store.put_global("customer", "g1", {"name": "B"})
    assert store.get_global("customer", "g1") == {"name": "B"}
    assert store.get_global("invoice", "g1") is None
    store.set_match_keys("customer", "g1", {"email": "a@x"})
    store.delete_global("customer", "g1")
    assert store.get_global("customer", "g1") is None
    assert store.find_by_key("customer", "email", "a@x") == []


def test_get_globals_in_chunks(store: SQLiteStore) -> None:
    with store.transaction():
        for i in range(1200):
            store.put_global("customer", f"g{i}", {"i": i})
    store.put_global("invoice", "g5", {"i": "other"})
    wanted = [f"g{i}" for i in range(0, 1300, 2)]
    found = store.get_globals("customer", iter(wanted))
    assert len(found) == 600
    assert found["g1198"] == {"i": 1198}
    assert found["g4"] == {"i": 4}
    assert "g1200" not in found
    assert store.get_globals("customer", []) == {}


def test_match_keys_are_replaced_and_scoped_by_type(store: SQLiteStore) -> None:
    store.set_match_keys("customer", "g1", {"email": "a@x", "vat": "NL1"})
    store.set_match_keys("customer", "g2", {"email": "a@x"})
    store.set_match_keys("supplier", "s1", {"email": "a@x"})
    assert store.find_by_key("customer", "email", "a@x") == ["g1", "g2"]
    assert store.find_by_key("customer", "vat", "NL1") == ["g1"]
    store.set_match_keys("customer", "g1", {"email": "b@x", "phone": None})  # type: ignore[dict-item]
    assert store.find_by_key("customer", "email", "a@x") == ["g2"]
    assert store.find_by_key("customer", "vat", "NL1") == []
    assert store.find_by_key("customer", "email", "b@x") == ["g1"]
    assert store.find_by_key("supplier", "email", "a@x") == ["s1"]


# -- links ----------------------------------------------------------------------------------


def test_find_link_across_global_types(store: SQLiteStore) -> None:
    store.put_link(link("1", "s1", global_type="supplier"))
    store.put_link(link("1", "c1", global_type="customer"))
    store.put_link(link("2", "c2", global_type="customer"))
    found = store.find_link("crm", "contact", "1", ["customer", "supplier"])
    assert found is not None and found.global_id == "c1"
    found = store.find_link("crm", "contact", "1", ["supplier", "customer"])
    assert found is not None and found.global_id == "s1"
    found = store.find_link("crm", "contact", "2", iter(["supplier", "customer"]))
    assert found is not None and found.global_id == "c2"
    assert store.find_link("crm", "contact", "2", ["supplier"]) is None
    assert store.find_link("crm", "company", "1", ["customer"]) is None
    assert store.find_link("crm", "contact", "1", []) is None


def test_links_by_external_in_chunks(store: SQLiteStore) -> None:
    with store.transaction():
        for i in range(1500):
            store.put_link(link(str(i)))
    store.put_link(link("5", "x", datatype="company"))
    store.put_link(link("6", "y", global_type="supplier"))
    wanted = [str(i) for i in range(0, 1600, 3)]
    found = store.links_by_external("crm", "contact", "customer", iter(wanted))
    assert set(found) == {w for w in wanted if int(w) < 1500}
    assert found["999"] == link("999")
    assert found["6"].global_type == "customer"
    assert store.links_by_external("crm", "company", "customer", ["5", "6"]) == {
        "5": link("5", "x", datatype="company")
    }
    assert store.links_by_external("crm", "contact", "customer", []) == {}


def test_link_for_links_of_and_links_of_many(store: SQLiteStore) -> None:
    store.put_link(link("1", "g1"))
    store.put_link(link("b1", "g1", system="books", datatype="debtor"))
    store.put_link(link("2", "g2"))
    store.put_link(link("1", "g1", global_type="supplier"))
    assert store.link_for("customer", "g1", "books") == link(
        "b1", "g1", system="books", datatype="debtor"
    )
    assert store.link_for("customer", "g2", "books") is None
    assert [lk.system for lk in store.links_of("customer", "g1")] == ["crm", "books"]
    assert store.links_of("customer", "nope") == []
    with store.transaction():
        for i in range(700):
            store.put_link(link(f"m{i}", f"m{i}"))
    ids = ["g1", "g2", "g3", *[f"m{i}" for i in range(700)]]
    many = store.links_of_many("customer", ids)
    assert set(many) == set(ids)
    assert [lk.external_id for lk in many["g1"]] == ["1", "b1"]
    assert many["g3"] == []
    assert many["m699"] == [link("m699", "m699")]


def test_delete_count_and_iter_links(store: SQLiteStore) -> None:
    with store.transaction():
        for i in range(2500):
            store.put_link(link(str(i), system="crm" if i % 2 else "books"))
        store.put_link(link("x", global_type="supplier"))
    assert store.count_links() == 2501
    assert store.count_links(system="crm") == 1251
    assert store.count_links(global_type="customer", system="crm", datatype="contact") == 1250
    assert store.count_links(datatype="nope") == 0
    assert sum(1 for _ in store.iter_links()) == 2501
    books = list(store.iter_links(system="books", global_type="customer"))
    assert len(books) == 1250 and {lk.system for lk in books} == {"books"}
    assert list(store.iter_links(global_id="g-7")) == [link("7")]
    # Writing while iterating neither breaks the iteration nor repeats links.
    visited = []
    for lk in store.iter_links(system="crm"):
        visited.append(lk.external_id)
        store.delete_link(lk)
    assert len(visited) == len(set(visited)) == 1251
    assert store.count_links(system="crm") == 0
    store.delete_link(link("not-there"))
    assert store.count_links() == 1250


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=60, deadline=None)
@given(values=st.dictionaries(st.text(), json_values, max_size=6))
def test_link_values_round_trip_exactly(values: dict[str, Any]) -> None:
    store = SQLiteStore.memory()
    store.put_link(link("1", values=values))
    got = store.links_by_external("crm", "contact", "customer", ["1"])["1"].values
    assert got == values
    assert json.dumps(got) == json.dumps(values)  # same types, same key order
    store.close()


def test_detach(store: SQLiteStore) -> None:
    assert not store.is_detached("customer", "g1", "crm")
    store.detach("customer", "g1", "crm")
    store.detach("customer", "g1", "crm")
    assert store.is_detached("customer", "g1", "crm")
    assert not store.is_detached("customer", "g1", "books")
    assert not store.is_detached("supplier", "g1", "crm")


# -- seen and unseen ------------------------------------------------------------------------


def test_unseen_links(store: SQLiteStore) -> None:
    with store.transaction():
        for i in range(1200):
            store.put_link(link(str(i)))
    store.put_link(link("0", "s0", global_type="supplier"))
    store.put_link(link("c1", "c1", datatype="company"))
    store.seen_reset("crm", "contact")
    store.seen_add("crm", "contact", (str(i) for i in range(1, 1200)))
    store.seen_add("crm", "contact", ["5"])  # adding twice is harmless
    store.seen_add("crm", "company", ["0"])  # another datatype does not count
    assert store.unseen_links("crm", "contact", "customer") == [link("0")]
    assert store.unseen_links("crm", "contact", "supplier") == [
        link("0", "s0", global_type="supplier")
    ]
    assert store.unseen_links("crm", "company", "customer") == [
        link("c1", "c1", datatype="company")
    ]
    store.seen_reset("crm", "contact")
    assert len(store.unseen_links("crm", "contact", "customer")) == 1200
    assert store.unseen_links("crm", "company", "customer") == [
        link("c1", "c1", datatype="company")
    ]


# -- journal, conflicts, dead letters -------------------------------------------------


def _entries(n: int, at: datetime = T0) -> list[JournalEntry]:
    return [JournalEntry(f"k{i:02}", "customer", f"g{i}", "crm", "contact",
                         {"properties": {"n": i, "big": 2**70}}, at + timedelta(seconds=i % 3))
            for i in range(n)]


def test_a_batch_of_journal_entries_is_one_row_and_reads_back_as_entries(
        db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.journal_add(JournalEntry("single", "customer", "g", "crm", "contact", {"a": 1}, T0))
    s.journal_add_many(_entries(20))
    conn = raw(db_path)
    assert conn.execute("SELECT count(*) FROM journal_batches").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM journal").fetchone()[0] == 1
    pending = s.journal_pending()
    assert len(pending) == 21
    assert [(e.created_at, e.key) for e in pending] == sorted(
        (e.created_at, e.key) for e in pending)
    by_key = {e.key: e for e in pending}
    assert by_key["k07"].payload == {"properties": {"n": 7, "big": 2**70}}
    assert by_key["k07"].global_id == "g7" and by_key["k07"].created_at == T0 + timedelta(
        seconds=1)
    s.journal_remove_many(["k00", "k05", "single"])
    assert {e.key for e in s.journal_pending()} == {f"k{i:02}" for i in range(20)} - {
        "k00", "k05"}
    s.journal_remove_many([f"k{i:02}" for i in range(20)])
    assert s.journal_pending() == []
    assert conn.execute("SELECT count(*) FROM journal_batches").fetchone()[0] == 0
    s.close()


def test_a_batch_left_by_a_crash_is_removed_by_the_next_process(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.journal_add_many(_entries(10))
    s.close()
    again = SQLiteStore(db_path)
    again.journal_remove("k03")  # without listing the journal first
    assert len(again.journal_pending()) == 9
    again.close()
    last = SQLiteStore(db_path)
    assert "k03" not in {e.key for e in last.journal_pending()}
    last.journal_remove_many([f"k{i:02}" for i in range(10)])
    assert last.journal_pending() == []
    last.close()


def test_a_rolled_back_removal_keeps_the_batch_entries(db_path: Path) -> None:
    """The store's note of which batch holds a key is a hint: the table decides."""
    s = SQLiteStore(db_path)
    s.journal_add_many(_entries(10))
    with pytest.raises(RuntimeError), s.transaction():
        s.journal_remove_many([f"k{i:02}" for i in range(5)])
        raise RuntimeError("boom")
    s.journal_remove_many(["k00"])  # without listing the journal first
    assert len(s.journal_pending()) == 9
    s.journal_remove_many([f"k{i:02}" for i in range(5, 10)])
    assert [e.key for e in s.journal_pending()] == sorted(
        (f"k{i:02}" for i in range(1, 5)), key=lambda k: (int(k[1:]) % 3, k))
    s.close()


def test_a_batched_key_journalled_again_alone_is_one_entry(store: SQLiteStore) -> None:
    store.journal_add_many(_entries(10))
    store.journal_add(JournalEntry("k04", "customer", "g4", "crm", "contact", {"again": 1}, T0))
    pending = [e for e in store.journal_pending() if e.key == "k04"]
    assert [e.payload for e in pending] == [{"again": 1}]


def test_conflicts_newest_first(store: SQLiteStore) -> None:
    for i in range(5):
        store.add_conflict(
            Conflict("customer", f"g{i}", "name", {"crm": f"a{i}", "books": Decimal("1.0")},
                     "crm", "newest", run_id=7)
        )
    got = store.conflicts(limit=3)
    assert [c.global_id for c in got] == ["g4", "g3", "g2"]
    assert got[0].values == {"crm": "a4", "books": "1.0"}
    assert (got[0].winner, got[0].policy, got[0].run_id) == ("crm", "newest", 7)
    assert got[0].id is not None and got[0].created_at is not None
    assert len(store.conflicts()) == 5


def _read_letter(**kw: Any) -> DeadLetter:
    fields: dict[str, Any] = {
        "system": "crm", "datatype": "contact", "external_id": "1", "global_type": "customer",
        "direction": "read", "error": "bad", "payload": {"id": "1"}, "next_attempt": T0,
    }
    fields.update(kw)
    return DeadLetter(**fields)


def test_dead_letter_repeat_bumps_attempts(store: SQLiteStore) -> None:
    first = store.put_dead_letter(_read_letter())
    assert first.id is not None and first.attempts == 1
    assert first.created_at is not None and first.created_at == first.updated_at
    again = store.put_dead_letter(
        _read_letter(error="worse", payload={"id": "1", "v": 2}, next_attempt=T0 + timedelta(1))
    )
    assert again.id == first.id
    assert again.attempts == 2
    assert (again.error, again.payload) == ("worse", {"id": "1", "v": 2})
    assert again.next_attempt == T0 + timedelta(1)
    assert again.created_at == first.created_at
    assert again.updated_at is not None and again.updated_at >= first.created_at  # type: ignore[operator]
    assert store.dead_letters() == [again]


def test_dead_letter_identity_per_direction(store: SQLiteStore) -> None:
    read = store.put_dead_letter(_read_letter())
    other_record = store.put_dead_letter(_read_letter(external_id="2"))
    write = store.put_dead_letter(
        _read_letter(direction="write", external_id="", global_id="g1", payload=None)
    )
    # A write is the same letter whatever external id it carries.
    write2 = store.put_dead_letter(
        _read_letter(direction="write", external_id="77", global_id="g1", payload=None)
    )
    other_global = store.put_dead_letter(_read_letter(direction="write", global_id="g2"))
    assert len({read.id, other_record.id, write.id, other_global.id}) == 4
    assert write2.id == write.id and write2.attempts == 2
    assert write2.payload is None
    assert len(store.dead_letters()) == 4
    with pytest.raises(ValueError, match="direction"):
        store.put_dead_letter(_read_letter(direction="sideways"))


def test_dead_letters_due_remove_and_clear(store: SQLiteStore) -> None:
    early = store.put_dead_letter(_read_letter(external_id="1", next_attempt=T0))
    late = store.put_dead_letter(_read_letter(external_id="2", next_attempt=T0 + timedelta(1)))
    never = store.put_dead_letter(_read_letter(external_id="3", next_attempt=None))
    other_zone = timezone(timedelta(hours=-5))
    assert store.dead_letters(due_before=T0.astimezone(other_zone)) == [early]
    assert store.dead_letters(due_before=T0 - timedelta(seconds=1)) == []
    assert store.dead_letters(due_before=T0 + timedelta(2)) == [early, late]
    assert store.dead_letters() == [early, late, never]
    store.remove_dead_letter(late.id)  # type: ignore[arg-type]
    assert store.dead_letters() == [early, never]
    w1 = store.put_dead_letter(_read_letter(direction="write", global_id="g1"))
    store.put_dead_letter(_read_letter(direction="write", global_id="g1", system="books"))
    store.put_dead_letter(_read_letter(direction="write", global_id="g1",
                                       global_type="supplier"))
    store.clear_dead_letters_for("books", "customer", "g1")
    left = store.dead_letters()
    assert w1 in left
    assert [(d.system, d.global_type) for d in left if d.direction == "write"] == [
        ("crm", "customer"), ("crm", "supplier"),
    ]


# -- tokens and runs ------------------------------------------------------------------------


def test_tokens(store: SQLiteStore) -> None:
    assert store.get_token("crm") is None
    store.put_token("crm", {"access_token": "a", "expires_at": 17.5})
    store.put_token("books", {"access_token": "b"})
    store.put_token("crm", {"access_token": "a2"})
    assert store.get_token("crm") == {"access_token": "a2"}
    assert store.get_token("books") == {"access_token": "b"}


def test_runs(store: SQLiteStore) -> None:
    first = store.start_run()
    second = store.start_run()
    assert second > first
    store.finish_run(first, "ok", {"created": 3, "at": T0})
    runs = store.runs()
    assert [r.id for r in runs] == [second, first]
    assert (runs[0].status, runs[0].finished_at, runs[0].summary) == ("running", None, {})
    assert runs[1].status == "ok"
    assert runs[1].summary == {"created": 3, "at": "2026-03-01T12:00:00.000000Z"}
    assert runs[1].finished_at is not None and runs[1].finished_at >= runs[1].started_at
    assert runs[1].started_at.tzinfo is not None
    assert [r.id for r in store.runs(limit=1)] == [second]
    with pytest.raises(StateError, match="no run"):
        store.finish_run(9999, "ok", {})


def test_inbox_deletes_counts_tombstones_per_system(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from talk_core.store.base import InboxRow
    from talk_core.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    store.stage([
        InboxRow("organisation", "a", "customers", "1", StagedRecord.tombstone()),
        InboxRow("organisation", "a", "customers", "2", StagedRecord.tombstone()),
        InboxRow("organisation", "b", "accounts", "3", StagedRecord.tombstone()),
        InboxRow("organisation", "b", "accounts", "4", StagedRecord({}, "h")),
        InboxRow("human", "a", "customers", "5", StagedRecord.tombstone()),
    ])
    assert store.inbox_deletes("organisation") == {"a": 2, "b": 1}
    assert store.inbox_deletes("product") == {}
    assert store.inbox_deletes("organisation", "accounts") == {"b": 1}


def test_schedule_and_remove_read_letter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from talk_core.store.base import DeadLetter
    from talk_core.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    letter = store.put_dead_letter(DeadLetter("a", "customers", "1", "organisation", "read", "bad"))
    assert letter.id is not None
    when = datetime(2030, 1, 1, tzinfo=UTC)
    store.schedule_dead_letter(letter.id, when)
    assert store.dead_letters(due_before=datetime(2029, 1, 1, tzinfo=UTC)) == []
    assert [d.id for d in store.dead_letters(due_before=when)] == [letter.id]
    store.remove_read_letter("a", "customers", "2")
    assert len(store.dead_letters()) == 1
    store.remove_read_letter("a", "customers", "1")
    assert store.dead_letters() == []


def test_a_conflict_repeated_at_once_is_recorded_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from talk_core.store.base import Conflict
    from talk_core.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    c = Conflict("organisation", "g", "city", {"a": "Oslo", "b": "Bergen"}, "b", "newest")
    store.add_conflict(c)
    store.add_conflict(c)
    assert len(store.conflicts()) == 1
    store.add_conflict(Conflict("organisation", "g", "city", {"a": "X", "b": "Bergen"}, "b",
                                "newest"))
    store.add_conflict(c)
    assert len(store.conflicts()) == 3


def test_link_counts_group_by_system_datatype_and_type(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from talk_core.model import Link
    from talk_core.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    for i in range(3):
        store.put_link(Link("organisation", f"g{i}", "crm", "customers", str(i)))
    store.put_link(Link("human", "h1", "crm", "customers", "9"))
    store.put_link(Link("organisation", "g0", "erp", "Accounts", "A"))
    assert store.link_counts() == [
        ("crm", "customers", "human", 1), ("crm", "customers", "organisation", 3),
        ("erp", "Accounts", "organisation", 1)]


def test_a_version_1_file_migrates_keeping_its_match_keys_and_journal(db_path: Path) -> None:
    """Version 1 as it was released, with a key and a journal entry in it: both are kept."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = raw(db_path)
    for statement in schema.MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO match_keys VALUES ('organisation', 'name', 'acme as', 'g1')")
    conn.execute("INSERT INTO journal VALUES ('k1', 'organisation', 'g1', 'erp', 'Accounts', "
                 "'{\"properties\":{}}', '2026-01-01T00:00:00.000000Z')")
    conn.commit()
    conn.close()
    store = SQLiteStore(db_path)
    assert store.find_by_key("organisation", "name", "acme as") == ["g1"]
    assert [e.key for e in store.journal_pending()] == ["k1"]
    store.close()
    SQLiteStore(db_path).close()  # opening checks the migrated file's integrity
    conn = raw(db_path)
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "links_external" not in names
    assert "match_keys_lookup" in names
    for table in ("match_keys", "journal"):
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        assert "WITHOUT ROWID" in sql
    parents = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'globals_parent'")
    assert "WHERE parent_id IS NOT NULL" in parents.fetchone()[0]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS)


def test_a_version_3_file_keeps_its_big_integers_exact(db_path: Path) -> None:
    """Text written before the mark (by the standard encoder) is marked by migration 4."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = raw(db_path)
    for migration in schema.MIGRATIONS[:3]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    big = {"n": 2**70, "phone": "4712345678901234567890"}
    conn.execute("INSERT INTO globals VALUES ('organisation', 'g1', ?, NULL, "
                 "'2026-01-01T00:00:00.000000Z')", (json.dumps(big, separators=(",", ":")),))
    conn.execute("INSERT INTO links VALUES ('organisation', 'g1', 'erp', 'Accounts', 'A', "
                 "NULL, ?)", (json.dumps({"n": 2**65}),))
    conn.execute("INSERT INTO links VALUES ('organisation', 'g1', 'crm', 'customers', 'c', "
                 "NULL, ?)", ('{"n":12}',))
    conn.commit()
    conn.close()
    store = SQLiteStore(db_path)
    assert store.get_global("organisation", "g1") == big
    assert type(store.get_global("organisation", "g1")["n"]) is int
    links = {link.system: link.values for link in store.links_of("organisation", "g1")}
    assert links == {"erp": {"n": 2**65}, "crm": {"n": 12}}
    store.close()
    kept = raw(db_path).execute("SELECT \"values\" FROM links WHERE system = 'crm'")
    assert kept.fetchone()[0] == '{"n":12}'  # no long digits: left as it was


# -- notes --------------------------------------------------------------------------------


def test_version_6_moves_tokens_into_notes_and_drops_the_tokens_table(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = raw(db_path)
    for migration in schema.MIGRATIONS[:5]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    for key, value in (("erp", {"refresh_token": "r"}), ("erp#budget", {"left": 2**70}),
                       ("billing#replacing", {"items": ["w"]})):
        conn.execute("INSERT INTO tokens VALUES (?, ?, '2026-01-01T00:00:00.000000Z')",
                     (key, dumps(value)))
    conn.close()
    store = SQLiteStore(db_path)
    assert store.notes("erp") == {"token": {"refresh_token": "r"}, "budget": {"left": 2**70}}
    assert store.notes("billing") == {"replacing": {"items": ["w"]}}
    assert store.get_token("erp#budget") == {"left": 2**70}
    store.close()
    conn = raw(db_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "tokens" not in tables and "notes" in tables
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'notes'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    assert conn.execute("SELECT instance, name FROM notes ORDER BY 1, 2").fetchall() == [
        ("billing", "replacing"), ("erp", "budget"), ("erp", "token")]


def test_a_note_held_during_a_dry_run_is_moved_into_the_file_and_the_side_file_emptied(
        db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.begin_dry_run()
    s.put_note("erp", "token", {"refresh_token": "r1"}, at_once=True)
    held = Path(s.held_notes_path or "")
    assert "r1" in held.read_text()
    assert raw(db_path).execute("SELECT count(*) FROM notes").fetchone()[0] == 0
    s.end_dry_run()
    assert held.read_text() == ""
    assert raw(db_path).execute("SELECT name FROM notes").fetchall() == [("token",)]
    s.close()


def test_a_note_at_once_while_another_process_writes_is_held_not_lost(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    writer = raw(db_path)
    writer.execute("BEGIN IMMEDIATE")  # another process's long transaction
    s.put_note("erp", "token", {"refresh_token": "r1"}, at_once=True)  # after the busy wait
    assert s.get_note("erp", "token") == {"refresh_token": "r1"}
    with pytest.raises(StateError, match="note 'plain' of 'erp'"):
        s.put_note("erp", "plain", 1)  # not at once: the caller hears of it
    writer.execute("ROLLBACK")
    again = SQLiteStore(db_path)  # the next opening moves it in
    assert again.get_note("erp", "token") == {"refresh_token": "r1"}
    assert Path(again.held_notes_path or "").read_text() == ""
    again.close()
    s.close()


def test_a_line_cut_short_in_the_side_file_is_skipped(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.begin_dry_run()
    s.put_note("erp", "a", 1, at_once=True)
    with open(s.held_notes_path or "", "a", encoding="ascii") as side:
        side.write('["erp", "b", "2", "2026')  # a crash in the middle of a write
    assert s.notes("erp") == {"a": 1}
    s.end_dry_run()
    assert s.notes("erp") == {"a": 1}
    s.close()
