"""``sync/Deleted`` is read once a run for every datatype and dispatched by ``EntityType``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from talk_core.connector import Page
from talk_core.errors import SystemUnavailable
from talk_core.rest import MaintenancePage
from talk_core.store.sqlite import SQLiteStore
from talk_exactonline.connector import Cursor, ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.schema import ENDPOINTS
from talk_exactonline.testing import emulator_connector


@pytest.fixture
def conn(exact_emulator: ExactEmulator, tmp_path: Path) -> Iterator[ExactConnector]:
    store = SQLiteStore(tmp_path / "s.db")
    c = emulator_connector(exact_emulator, store, sleep=lambda _s: None)
    yield c
    c.close()
    store.close()


def deleted_reads(emu: ExactEmulator) -> int:
    return sum(1 for c in emu.calls if "sync/Deleted" in c[1])


def read_all(conn: ExactConnector, cursors: dict[str, str | None]
             ) -> dict[str, list[str]]:
    """One run's reads of every datatype; answers the tombstones each got."""
    gone: dict[str, list[str]] = {}
    for name in ENDPOINTS:
        pages = list(conn.read(name, cursors.get(name)))
        assert not [r for p in pages for r in p.rejects], name
        cursors[name] = pages[-1].cursor
        gone[name] = [e.id for p in pages for e in p.entities if e.deleted]
    return gone


def test_one_deletions_read_serves_every_datatype(exact_emulator: ExactEmulator,
                                                  conn: ExactConnector) -> None:
    made = exact_emulator.seed()
    cursors: dict[str, str | None] = {}
    read_all(conn, cursors)
    assert deleted_reads(exact_emulator) == 1
    account, item = made["Accounts"][-1], made["Items"][0]
    exact_emulator.state.delete("Accounts", account)
    exact_emulator.state.delete("Items", item)
    gone = read_all(conn, cursors)
    assert deleted_reads(exact_emulator) == 2, "one more read for the whole second run"
    assert gone["Accounts"] == [account.lower()]
    assert gone["Items"] == [item.lower()]
    assert not any(ids for name, ids in gone.items() if name not in ("Accounts", "Items"))
    # every datatype's deletions cursor is at the newest deletion, its own or not; the
    # datatypes Exact has no Sync API for are listed whole each time and keep no cursor
    assert len({Cursor.parse(c).deleted for name, c in cursors.items()
                if ENDPOINTS[name].sync}) == 1
    assert {name for name, c in cursors.items() if c is None} == {
        name for name, endpoint in ENDPOINTS.items() if endpoint.sync is None}
    assert read_all(conn, cursors) == {name: [] for name in ENDPOINTS}
    assert deleted_reads(exact_emulator) == 3


def test_a_datatype_read_again_is_never_served_the_old_read(exact_emulator: ExactEmulator,
                                                            conn: ExactConnector) -> None:
    made = exact_emulator.seed()
    first = list(conn.read("Accounts", None))[-1].cursor
    exact_emulator.state.delete("Accounts", made["Accounts"][0])
    pages = list(conn.read("Accounts", first))
    assert [e.id for p in pages for e in p.entities if e.deleted] == [
        made["Accounts"][0].lower()]
    assert deleted_reads(exact_emulator) == 2


def test_a_cursor_behind_the_shared_read_reads_from_its_own_place(
        exact_emulator: ExactEmulator, conn: ExactConnector) -> None:
    made = exact_emulator.seed()
    exact_emulator.state.delete("Accounts", made["Accounts"][0])
    items = list(conn.read("Items", None))[-1].cursor
    exact_emulator.state.delete("Items", made["Items"][0])
    list(conn.read("Items", items))  # the shared read now starts after the first delete
    pages = list(conn.read("Accounts", None))
    assert [e.id for p in pages for e in p.entities if e.deleted] == [
        made["Accounts"][0].lower()]
    assert deleted_reads(exact_emulator) == 3


def test_the_cursor_moves_with_the_last_tombstone_page_only(exact_emulator: ExactEmulator,
                                                            conn: ExactConnector) -> None:
    made = exact_emulator.seed()
    start = list(conn.read("Accounts", None))[-1].cursor
    for ident in made["Accounts"][:3]:
        exact_emulator.state.delete("Accounts", ident)
    conn.page_size = 2
    pages = [p for p in conn.read("Accounts", start) if any(e.deleted for e in p.entities)]
    assert [len(p.entities) for p in pages] == [2, 1]
    assert Cursor.parse(pages[0].cursor).deleted == Cursor.parse(start).deleted
    assert Cursor.parse(pages[1].cursor).deleted > Cursor.parse(start).deleted


def test_a_bad_deletions_page_keeps_the_deletions_cursor(exact_emulator: ExactEmulator,
                                                         conn: ExactConnector) -> None:
    made = exact_emulator.seed()
    start = list(conn.read("Accounts", None))[-1].cursor
    exact_emulator.state.delete("Accounts", made["Accounts"][0])
    exact_emulator.fail("sync/Deleted", 200, body='{"error": "no envelope here"}')
    pages = list(conn.read("Accounts", start))
    assert pages[-1].rejects and not any(e.deleted for p in pages for e in p.entities)
    assert "no 'd' envelope" in pages[-1].rejects[0].error
    assert Cursor.parse(pages[-1].cursor).deleted == Cursor.parse(start).deleted
    again = list(conn.read("Accounts", pages[-1].cursor))
    assert [e.id for p in again for e in p.entities if e.deleted] == [
        made["Accounts"][0].lower()]


def test_a_maintenance_page_for_the_deletions_is_an_outage_and_keeps_the_cursor(
        exact_emulator: ExactEmulator, conn: ExactConnector) -> None:
    made = exact_emulator.seed()
    start = list(conn.read("Accounts", None))[-1].cursor
    exact_emulator.state.delete("Accounts", made["Accounts"][0])
    conn.http.patience = 0.0  # no waiting out the outage
    exact_emulator.fail("sync/Deleted", 200, body="<html><title>Onderhoud</title></html>",
                        content_type="text/html", times=100)
    read: list[Page] = []
    with pytest.raises(MaintenancePage, match=r"HTML page.*Onderhoud") as raised:
        read.extend(conn.read("Accounts", start))
    assert isinstance(raised.value, SystemUnavailable)
    assert not any(e.deleted for p in read for e in p.entities)
    assert all(Cursor.parse(p.cursor).deleted == Cursor.parse(start).deleted for p in read)
    exact_emulator.faults.clear()
    again = list(conn.read("Accounts", start))
    assert [e.id for p in again for e in p.entities if e.deleted] == [
        made["Accounts"][0].lower()]
