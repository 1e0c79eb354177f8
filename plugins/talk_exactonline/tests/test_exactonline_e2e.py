"""Two Exact Online divisions (two emulators) kept in sync through the core engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.plugin import EXACT_ONLINE
from talk_exactonline.testing import emulator_connector


@pytest.fixture
def emulators() -> Iterator[tuple[ExactEmulator, ExactEmulator]]:
    a = ExactEmulator(division=111, minutely_limit=1000).start()
    b = ExactEmulator(division=222, minutely_limit=1000).start()
    yield a, b
    a.stop()
    b.stop()


def _records(emu: ExactEmulator, name: str) -> list[dict[str, Any]]:
    return list(emu.state.records[name].values())


def _one(emu: ExactEmulator, name: str, **where: Any) -> dict[str, Any]:
    found = [r for r in _records(emu, name) if all(r.get(k) == v for k, v in where.items())]
    assert len(found) == 1, f"{name} {where}: {len(found)} found"
    return found[0]


class Harness:
    def __init__(self, a: ExactEmulator, b: ExactEmulator, path: Path) -> None:
        self.a, self.b, self.path = a, b, path
        self.options = {"a": a, "b": b}
        self.tokens: dict[str, str] = {}
        self.days_on = 0  # talk's clock runs this many days ahead: its budget's "tomorrow"

    def run(self) -> Any:
        store = SQLiteStore(self.path)
        systems = []
        for name, emu in self.options.items():
            conn = emulator_connector(emu, store, name, sleep=lambda _s: None,
                                      clock=lambda: time.time() + self.days_on * 86400)
            systems.append(SystemInstance(name, EXACT_ONLINE, conn))
        sync = Sync(store, systems, SyncSettings())
        try:
            return sync.run()
        finally:
            sync.close()


def test_two_divisions_stay_in_sync(emulators: tuple[ExactEmulator, ExactEmulator],
                                    tmp_path: Path) -> None:
    a, b = emulators
    made = a.seed()
    h = Harness(a, b, tmp_path / "state.db")

    first = h.run()
    assert first.status == "done", first.message
    assert not first.dead_letters, first.dead_letters
    # every entity arrived in b, faithfully
    for name in ("Accounts", "Contacts", "Addresses", "Items", "Quotations",
                 "QuotationLines", "SalesOrders", "SalesOrderLines", "VATCodes"):
        assert len(_records(b, name)) == len(_records(a, name)), name
    # what Exact lets be read only is never written to b
    assert _records(b, "Units") == _records(b, "Employees") == _records(b, "Currencies") == []
    acc_a = a.state.records["Accounts"][made["Accounts"][0]]
    acc_b = _one(b, "Accounts", Name=acc_a["Name"])
    assert (acc_b["City"], acc_b["Postcode"], acc_b["Country"]) == ("Utrecht", "3511 AB", "NL ")
    assert acc_b["ChamberOfCommerce"] == "30123456"
    contact_b = _one(b, "Contacts", Email="anna@goudenkorst.nl")
    assert (contact_b["FirstName"], contact_b["LastName"]) == ("Anna", "de Vries")
    assert contact_b["Account"] == acc_b["ID"]
    address_b = _one(b, "Addresses", AddressLine1="Industrieweg 3")
    assert address_b["Type"] == 4 and address_b["Account"] == acc_b["ID"]
    item_b = _one(b, "Items", Description="Koffiemolen RVS")
    assert item_b["Code"] == "MOL-200".rjust(18) and item_b["CostPriceStandard"] == 89
    order_b = _one(b, "SalesOrders", Description="Wekelijkse levering")
    assert order_b["OrderedBy"] == acc_b["ID"] and order_b["Discount"] == 2.5
    assert order_b["OrderDate"] == a.state.records["SalesOrders"][made["SalesOrders"][0]][
        "OrderDate"]
    lines_b = sorted((x["Quantity"], x["UnitPrice"]) for x in _records(b, "SalesOrderLines"))
    assert lines_b == [(4, 7.25), (6, 18.5)]
    assert sorted(x["LineNumber"] for x in _records(b, "SalesOrderLines")) == [1, 2]
    quote_b = _one(b, "Quotations", YourRef="LUM-2024-07")
    qlines = [x for x in _records(b, "QuotationLines") if x["QuotationID"] == quote_b[
        "QuotationID"]]
    assert sorted((x["Quantity"], x.get("Discount") or 0) for x in qlines) == [(2, 0), (10, 0.05)]
    assert all(x["Item"] in b.state.records["Items"] for x in qlines)

    # a rerun with no edits writes nothing anywhere
    writes_a, writes_b = len(a.writes()), len(b.writes())
    again = h.run()
    assert again.status == "done" and again.writes == 0
    assert (len(a.writes()), len(b.writes())) == (writes_a, writes_b)

    # edits on both sides, a conflict on one contact, a delete
    a.state.update("Accounts", acc_a["ID"], {"City": "Amersfoort", "Country": "nl"})
    item_a = _one(a, "Items", Description="Thee assortiment")
    b.state.update("Items", _one(b, "Items", Description="Thee assortiment")["ID"],
                   {"Description": "Thee assortiment (bio)", "CostPriceStandard": 5.25})
    contact_a = _one(a, "Contacts", Email="anna@goudenkorst.nl")
    a.state.update("Contacts", contact_a["ID"], {"Phone": "+31 6 1111 1111"})
    b.state.update("Contacts", contact_b["ID"], {"Phone": "+31 6 2222 2222"})
    a.state.delete("Addresses", made["Addresses"][0])
    b.state.update("SalesOrders", order_b["OrderID"], {"Description": "Levering week 38"})

    edited = h.run()
    assert edited.status == "done", edited.message
    assert _one(b, "Accounts", ID=acc_b["ID"])["City"] == "Amersfoort"
    assert a.state.records["Items"][item_a["ID"]]["Description"] == "Thee assortiment (bio)"
    assert a.state.records["Items"][item_a["ID"]]["CostPriceStandard"] == 5.25
    assert a.state.records["Items"][item_a["ID"]]["Code"] == "THE-010".rjust(18)
    assert address_b["ID"] not in b.state.records["Addresses"]
    assert a.state.records["SalesOrders"][made["SalesOrders"][0]]["Description"] == (
        "Levering week 38")
    phones = {a.state.records["Contacts"][contact_a["ID"]]["Phone"],
              b.state.records["Contacts"][contact_b["ID"]]["Phone"]}
    assert len(phones) == 1, "the conflict left the two systems apart"
    assert any(c.get("property") == "phone" for c in edited.conflicts), edited.conflicts
    assert not edited.dead_letters, edited.dead_letters

    # the daily budget of b runs out in the middle of a run: clean stop, resume tomorrow
    for n in range(3):
        a.state.create("Accounts", {"Name": f"Nieuwe klant {n}", "City": "Zwolle"})
    # b's reads take 17 calls (8 Sync API lists, one sync/Deleted for all eight, 8 listings
    # of the datatypes without a Sync API): two creates fit after them
    b.limits.used_day = b.limits.daily - 19
    stopped = h.run()
    assert stopped.status == "budget", (stopped.status, stopped.message)
    assert "daily" in stopped.message
    assert not [c for c in b.calls if c[2] == 429], "the connector caused a 429"
    arrived = [r for r in _records(b, "Accounts") if r["Name"].startswith("Nieuwe klant")]
    assert len(arrived) == 2, "the budget should have stopped the run mid-way through writes"
    b.new_day()
    h.days_on = 1  # the budget kept from the stopped run has reset by now
    resumed = h.run()
    assert resumed.status == "done", resumed.message
    names = sorted(r["Name"] for r in _records(b, "Accounts") if r["Name"].startswith("Nieuwe"))
    assert names == ["Nieuwe klant 0", "Nieuwe klant 1", "Nieuwe klant 2"]

    # and once more: nothing left to do
    writes_a, writes_b = len(a.writes()), len(b.writes())
    final = h.run()
    assert final.status == "done" and final.writes == 0, final.counts
    assert (len(a.writes()), len(b.writes())) == (writes_a, writes_b)
