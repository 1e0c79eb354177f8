"""Exact Online sales order lines into a custom order's inline lines, and back."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_custom_inline_lines import INLINE

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_custom import instance
from talk_custom.testing import StartEmulator
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.testing import emulator_connector


def _run(sync: Sync) -> RunResult:
    result = sync.run()
    assert result.status == "done" and result.dead_letters == [] and result.errors == [], \
        result.as_dict()
    return result


def _settle(sync: Sync) -> None:
    for _ in range(3):
        if _run(sync).writes == 0:
            return
    raise AssertionError("three runs and still writing")


def _lines(order: dict[str, Any]) -> dict[str, Decimal]:
    return {line["description"]: Decimal(str(line["quantity"]))
            for line in order.get("lines") or []}


@pytest.fixture
def exact_emulator() -> Iterator[ExactEmulator]:
    """A minute's request budget no run here comes near: no run waits for a new minute."""
    emulator = ExactEmulator(minutely_limit=10_000).start()
    yield emulator
    emulator.stop()


def test_exact_order_lines_and_inline_lines_both_ways(
        tmp_path: Path, custom_emulator: StartEmulator,
        exact_emulator: ExactEmulator) -> None:
    shop = custom_emulator("customwebshop", datatypes=INLINE)
    store = SQLiteStore(tmp_path / "state.db")
    erp = emulator_connector(exact_emulator, store, "erp", sleep=lambda _s: None)
    sync = Sync(store, [
        instance("shop", "customwebshop", base_url=shop.url, datatypes=INLINE, page_size=2),
        SystemInstance("erp", erp.spec, erp)], SyncSettings())
    state = exact_emulator.state
    acme = shop.put("customer", {"name": "Acme AS", "email": "post@acme.no"})["id"]
    bread = shop.put("product", {"code": "BRD-1", "name": "Bread", "price": 59,
                                 "currency": "NOK"})["id"]
    shop.put("order", {"customer": acme, "currency": "NOK", "date": "2024-09-02", "lines": [
        {"id": "a", "product": bread, "description": "Bread", "quantity": 2,
         "unit_price": 59}]})
    bolt = state.create("Accounts", {"Name": "Bolt AB", "Email": "hej@bolt.se"})["ID"]
    tea = state.create("Items", {"Code": "TEA-1", "Description": "Tea",
                                 "CostPriceStandard": 30})["ID"]
    state.create("SalesOrders", {"OrderedBy": bolt, "Currency": "NOK",
                                 "Description": "Exact order", "SalesOrderLines": [
                                     {"Item": tea, "Quantity": 3, "UnitPrice": 30,
                                      "Description": "Tea"}]})
    _settle(sync)

    [exact_order] = [o for o in state.records["SalesOrders"].values()
                     if o["OrderedBy"] != bolt]
    lines = [r for r in state.records["SalesOrderLines"].values()
             if r["OrderID"] == exact_order["OrderID"]]
    assert [(r["Description"], Decimal(str(r["Quantity"]))) for r in lines] == [("Bread", 2)]
    [from_exact] = [o for o in shop.records("order") if o["customer"] != acme]
    assert _lines(from_exact) == {"Tea": 3}

    # a quantity edited in Exact reaches the inline line; one edited inline reaches Exact
    [tea_line] = [r for r in state.records["SalesOrderLines"].values()
                  if r["Description"] == "Tea"]
    state.update("SalesOrderLines", tea_line["ID"], {"Quantity": 5})
    [mine] = [o for o in shop.records("order") if o["customer"] == acme]
    shop.edit("order", mine["id"], lines=[{**line, "quantity": 4} for line in mine["lines"]])
    _settle(sync)
    assert _lines(next(o for o in shop.records("order") if o["id"] == from_exact["id"])) == {
        "Tea": 5}
    [bread_line] = [r for r in state.records["SalesOrderLines"].values()
                    if r["Description"] == "Bread"]
    assert Decimal(str(bread_line["Quantity"])) == 4
    assert _run(sync).writes == 0

    # the shop's order deleted: the Exact order goes, lines and all
    shop.remove("order", mine["id"])
    _settle(sync)
    assert exact_order["OrderID"] not in state.records["SalesOrders"]
    assert [r["Description"] for r in state.records["SalesOrderLines"].values()] == ["Tea"]
    assert _run(sync).writes == 0
