"""Order lines inline in a custom order (``datatypes.order.lines``), both ways with Invoiced."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_custom_invoiced_e2e import Pair, SqliteSide, unix

from talk_core.errors import ConfigError, RecordError
from talk_core.model import PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_custom import create_database, instance
from talk_custom.inline import InlineLines, line_id
from talk_custom.testing import StartEmulator
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for

INLINE = {"order": {"lines": "items"}}


def test_inline_lines_are_a_children_field_of_the_order() -> None:
    made = instance("shop", "customwebshop", base_url="http://127.0.0.1:1", datatypes=INLINE)
    assert isinstance(made.connector, InlineLines)
    lines = made.spec.datatype("order").property("lines")
    assert (lines.type, lines.child) == (PropertyType.CHILDREN, "orderline")
    assert made.connector.layout.resource("order").wire("lines") == "items"
    assert made.spec.datatype("orderline").child_of is not None
    assert line_id("k1") == line_id("k1") != line_id("k2")


@pytest.mark.parametrize(("datatypes", "message"), [
    ({"product": {"lines": "lines"}},
     "[systems.shop] datatypes.product.lines: 'product' has no lines to keep inline; "
     "datatypes with lines: order"),
    ({"order": {"lines": ""}}, "[systems.shop] datatypes.order.lines: expected a non-empty"),
    ({"order": {"lines": 3}}, "[systems.shop] datatypes.order.lines: expected a non-empty"),
])
def test_a_bad_lines_option_names_the_key(datatypes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        instance("shop", "customwebshop", base_url="http://127.0.0.1:1", datatypes=datatypes)
    assert message in str(caught.value)


def test_a_line_without_an_id_stops_the_listing_with_its_order(
        custom_emulator: StartEmulator) -> None:
    shop = custom_emulator("customwebshop", datatypes=INLINE)
    acme = shop.put("customer", {"name": "Acme"})["id"]
    order = shop.put("order", {"customer": acme, "lines": [{"description": "no id"}]})["id"]
    conn = instance("shop", "customwebshop", base_url=shop.url, datatypes=INLINE).connector
    with pytest.raises(RecordError, match=f"order {order} items: a record without a usable 'id'"):
        list(conn.read("orderline", None))


class InlineSqlite(SqliteSide):
    def __init__(self, path: Path, kind: str) -> None:
        self.path = create_database(path, kind, datatypes=INLINE)
        self.connector = instance("editor", kind, backend="sqlite", database=str(self.path),
                                  datatypes=INLINE).connector


class InlinePair(Pair):
    def __init__(self, tmp_path: Path, custom: Any, invoiced: InvoicedEmulator) -> None:
        self.custom, self.account = custom, invoiced.account
        options: dict[str, Any] = (
            {"backend": "sqlite", "database": str(custom.path)}
            if isinstance(custom, SqliteSide) else {"base_url": custom.url})
        self.systems = [
            instance("custom", "customwebshop", page_size=2, datatypes=INLINE, **options),
            SystemInstance("invoiced", INVOICED_SPEC, connector_for(invoiced, page_size=2)),
        ]
        self.sync = Sync(SQLiteStore(tmp_path / "state.db"), self.systems, SyncSettings())


@pytest.fixture(params=["rest", "sqlite"])
def shop(request: pytest.FixtureRequest, tmp_path: Path, custom_emulator: StartEmulator,
         invoiced_emulator: InvoicedEmulator) -> InlinePair:
    if request.param == "sqlite":
        return InlinePair(tmp_path, InlineSqlite(tmp_path / "shop.db", "customwebshop"),
                          invoiced_emulator)
    return InlinePair(tmp_path, custom_emulator("customwebshop", datatypes=INLINE),
                      invoiced_emulator)


def _lines(order: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {line["description"]: (Decimal(str(line["quantity"])),
                                  Decimal(str(line["unit_price"])))
            for line in order.get("lines") or []}


def _items(invoice: dict[str, Any]) -> dict[str, tuple[Decimal, Decimal]]:
    return {item["name"]: (Decimal(str(item["quantity"])), Decimal(str(item["unit_cost"])))
            for item in invoice["items"]}


def test_inline_lines_flow_both_ways(shop: InlinePair) -> None:
    custom, acc = shop.custom, shop.account
    acme = custom.put("customer", {"name": "Acme AS", "email": "post@acme.no"})["id"]
    order = custom.put("order", {"number": "1001", "customer": acme, "currency": "NOK",
                                 "date": "2024-09-02", "lines": [
                                     {"id": "a", "description": "Bread", "quantity": 2,
                                      "unit_price": 59},
                                     {"id": "b", "description": "Delivery", "quantity": 1,
                                      "unit_price": 99.5}]})["id"]
    bolt = acc.create_customer({"name": "Bolt AB", "type": "company", "email": "hej@bolt.se"})
    inv = acc.create_invoice({"customer": bolt["id"], "number": "INV-77", "currency": "sek",
                              "date": unix("2024-10-01"),
                              "items": [{"name": "Widget", "quantity": 3, "unit_cost": 20},
                                        {"name": "Setup", "quantity": 1, "unit_cost": 12.5}]})
    shop.settle()

    # a custom order's inline lines are Invoiced line items, and the other way round
    assert _items(shop.invoice("1001")) == {"Bread": (2, 59), "Delivery": (1, Decimal("99.5"))}
    inv77 = shop.one("order", number="INV-77")
    assert _lines(inv77) == {"Widget": (3, 20), "Setup": (1, Decimal("12.5"))}
    assert all(line["id"].startswith("L") for line in inv77["lines"])

    # edits on either side: a line item's quantity in Invoiced; in the shop a line's
    # quantity changed and a line added to the order's array
    items = [{"id": i["id"], **({"quantity": 5} if i["name"] == "Widget" else {})}
             for i in acc.invoices[inv["id"]]["items"]]
    acc.update_invoice(inv["id"], {"items": items})
    lines = shop.one("order", id=order)["lines"]
    lines = [{**line, "quantity": 4} if line["id"] == "a" else line for line in lines]
    custom.edit("order", order, lines=[*lines, {"id": "c", "description": "Butter",
                                                "quantity": 1, "unit_price": 30}])
    shop.settle()
    assert _lines(shop.one("order", id=inv77["id"]))["Widget"] == (5, 20)
    assert _items(shop.invoice("1001")) == {"Bread": (4, 59), "Delivery": (1, Decimal("99.5")),
                                            "Butter": (1, 30)}

    # a line removed from the shop's array; the Invoiced invoice deleted
    lines = [line for line in shop.one("order", id=order)["lines"] if line["id"] != "b"]
    custom.edit("order", order, lines=lines)
    acc.delete_invoice(inv["id"])
    shop.settle()
    assert set(_items(shop.invoice("1001"))) == {"Bread", "Butter"}
    assert [o["number"] for o in custom.records("order")] == ["1001"]
    assert shop.run().writes == 0
