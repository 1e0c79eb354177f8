"""Answers Exact should not give: each a dead letter naming entity and field; the run goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_exactonline.connector import ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.odata import ExactResponseError
from talk_exactonline.testing import emulator_connector


@pytest.fixture
def emu(exact_emulator: ExactEmulator) -> ExactEmulator:
    return exact_emulator


@pytest.fixture
def conn(emu: ExactEmulator, tmp_path: Path) -> Iterator[ExactConnector]:
    store = SQLiteStore(tmp_path / "s.db")
    c = emulator_connector(emu, store)
    yield c
    c.close()
    store.close()


def test_an_xml_page_becomes_a_reject_naming_the_entity(emu: ExactEmulator,
                                                        conn: ExactConnector) -> None:
    emu.seed()
    emu.fail("sync/CRM/Accounts", 200, body="<?xml version='1.0'?><feed/>",
             content_type="application/atom+xml")
    pages = list(conn.read("Accounts", None))
    assert len(pages) == 1 and pages[0].entities == []
    reject = pages[0].rejects[0]
    assert "Accounts" in reject.error and "XML" in reject.error
    assert pages[0].cursor == "1:1", "a bad page must not move the cursor"


def test_a_missing_envelope_and_a_record_without_id(emu: ExactEmulator,
                                                    conn: ExactConnector) -> None:
    emu.fail("sync/CRM/Contacts", 200, body='{"results": []}')
    pages = list(conn.read("Contacts", None))
    assert "no 'd' envelope" in pages[0].rejects[0].error
    emu.fail("sync/Logistics/Items", 200,
             body='{"d": {"results": [{"Code": "X", "Timestamp": 5}, "junk"]}}')
    pages = list(conn.read("Items", None))
    errors = [r.error for p in pages for r in p.rejects]
    assert any("Items: record without ID" in e for e in errors)
    assert any("not an object" in e for e in errors)


def test_an_unparseable_modified_names_entity_and_field(emu: ExactEmulator,
                                                        conn: ExactConnector) -> None:
    ids = emu.seed()["Accounts"]
    emu.state.records["Accounts"][ids[0]]["Modified"] = "/Date(yesterday)/"
    pages = list(conn.read("Accounts", None))
    entities = [e.id for p in pages for e in p.entities]
    rejects = [r for p in pages for r in p.rejects]
    assert len(entities) == 2 and [r.external_id for r in rejects] == [ids[0]]
    assert "Accounts" in rejects[0].error and "Modified" in rejects[0].error


def test_a_write_answered_with_xml_is_a_record_error(emu: ExactEmulator,
                                                     conn: ExactConnector) -> None:
    emu.fail("crm/Accounts", 201, body="<entry/>", content_type="application/xml",
             method="POST")
    with pytest.raises(ExactResponseError, match="Accounts"):
        conn.create("Accounts", {"Name": "X"}, key="k")


def test_the_run_goes_on_past_bad_records(tmp_path: Path) -> None:
    a = ExactEmulator(division=1).start()
    b = ExactEmulator(division=2).start()
    try:
        made = a.seed()
        a.state.records["SalesOrders"][made["SalesOrders"][0]]["OrderDate"] = "/Date(nope)/"
        a.fail("sync/CRM/Addresses", 200, body="<feed/>", content_type="application/xml")
        store = SQLiteStore(tmp_path / "state.db")
        connectors = {n: emulator_connector(e, store, n) for n, e in (("a", a), ("b", b))}
        systems = [SystemInstance(n, c.spec, c) for n, c in connectors.items()]
        sync = Sync(store, systems, SyncSettings())
        result = sync.run()
        letters = store.dead_letters()
        sync.close()
        assert result.status == "done"
        errors = " | ".join(letter.error for letter in letters)
        assert "OrderDate" in errors and "nope" in errors
        assert "Addresses" in errors and "XML" in errors
        assert len(b.state.records["Accounts"]) == 3
        assert len(b.state.records["Quotations"]) == 1
        assert b.state.records["SalesOrders"] == {}
        assert b.state.records["Addresses"] == {}
    finally:
        a.stop()
        b.stop()
