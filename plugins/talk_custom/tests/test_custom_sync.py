"""End to end through the core engine: Custom CRM (REST) <-> Custom Webshop (SQLite) <-> PMS.

Customers, products, orders with lines, a quote and a licensed CRM user;
edits on both sides, deletes, and reruns that make zero writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings
from talk_custom import CustomEmulator, create_database, instance


class World:
    def __init__(self, tmp_path: Path, crm: CustomEmulator, pms: CustomEmulator) -> None:
        self.crm, self.pms = crm, pms
        self.shop_db = create_database(tmp_path / "shop.db", "customwebshop")
        self.systems = [
            instance("crm", "customcrm", base_url=crm.url, page_size=2),
            instance("shop", "customwebshop", backend="sqlite", database=str(self.shop_db),
                     page_size=2),
            instance("pms", "custompms", base_url=pms.url, page_size=2),
        ]
        self.shop = self.systems[1].connector
        self.sync = Sync(SQLiteStore(tmp_path / "state.db"), self.systems, SyncSettings())

    def run(self) -> RunResult:
        result = self.sync.run()
        assert result.status == "done", result.as_dict()
        assert result.dead_letters == [], result.dead_letters
        return result

    def shop_rows(self, table: str) -> list[dict[str, Any]]:
        with sqlite3.connect(self.shop_db) as db:
            db.row_factory = sqlite3.Row
            rows = [dict(r) for r in db.execute(
                f"SELECT * FROM {table} WHERE deleted_at IS NULL ORDER BY id")]
        db.close()
        return rows

    def shop_sql(self, sql: str, *args: Any) -> None:
        """A person editing the webshop's database with another tool."""
        with sqlite3.connect(self.shop_db) as db:
            db.execute(sql, args)
        db.close()


@pytest.fixture
def world(tmp_path: Path, custom_emulator) -> World:  # type: ignore[no-untyped-def]
    return World(tmp_path, custom_emulator("customcrm"), custom_emulator("custompms"))


def names(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(r["name"] for r in rows)


def crm_sample(crm: CustomEmulator) -> dict[str, str]:
    acme = crm.put("customer", {"name": "Acme AS", "email": "post@acme.no", "city": "Oslo",
                                "country": "no", "postal_code": "0150"})["id"]
    crm.put("contact", {"name": "Kari", "email": "kari@acme.no", "customer": acme})
    p1 = crm.put("product", {"code": "P1", "name": "Bread", "price": 59, "currency": "NOK"})["id"]
    order = crm.put("order", {"number": "1001", "customer": acme, "currency": "NOK",
                              "date": "2024-09-02", "status": "open"})["id"]
    crm.put("orderline", {"order": order, "product": p1, "quantity": 2, "unit_price": 59})
    crm.put("orderline", {"order": order, "description": "Delivery", "quantity": 1,
                          "unit_price": 99.5})
    crm.put("quote", {"number": "Q-1", "customer": acme, "currency": "NOK"})
    crm.put("user", {"name": "Ola", "email": "ola@crm.example", "role": "sales"})
    crm.put("user", {"name": "Front desk", "licence_number": "LIC-42", "account": acme,
                     "plan": "CRM seat", "currency": "NOK", "licence_start": "2024-09-01"})
    return {"acme": acme, "order": order, "p1": p1}


def test_everything_flows_everywhere_and_a_rerun_writes_nothing(world: World) -> None:
    crm_sample(world.crm)
    bolt = world.shop.insert("customer", {"name": "Bolt AB", "email": "hej@bolt.se",
                                          "country": "SE"}, None).id
    p2 = world.shop.insert("product", {"code": "P2", "name": "Beans", "price": 249.5}, None).id
    shop_order = world.shop.insert("order", {"number": "W-9", "customer": bolt,
                                             "currency": "SEK"}, None).id
    world.shop.insert("orderline", {"order": shop_order, "product": p2, "quantity": 3,
                                    "unit_price": 249.5}, None)
    world.pms.put("customer", {"name": "Nordlys Hotell", "email": "booking@nordlys.example"})

    first = world.run()
    assert first.total("create") > 0
    everyone = ["Acme AS", "Bolt AB", "Nordlys Hotell"]
    assert names(world.crm.records("customer")) == everyone
    assert names(world.shop_rows("customers")) == everyone
    assert names(world.pms.records("customer")) == everyone
    assert sorted(r["code"] for r in world.crm.records("product")) == ["P1", "P2"]
    assert sorted(r["code"] for r in world.shop_rows("products")) == ["P1", "P2"]
    shop_acme = next(r for r in world.shop_rows("customers") if r["name"] == "Acme AS")
    assert shop_acme["country"] == "NO" and shop_acme["postal_code"] == "0150"

    # orders both ways, with their lines and references translated
    shop_orders = {r["number"]: r for r in world.shop_rows("orders")}
    assert set(shop_orders) == {"1001", "W-9", "LIC-42"}  # a quote is no webshop order
    assert str(shop_orders["1001"]["customer"]) == str(shop_acme["id"])
    lines = [r for r in world.shop_rows("orderlines") if r["order"] == shop_orders["1001"]["id"]]
    assert sorted((float(r["quantity"]), float(r["unit_price"])) for r in lines) == [
        (1.0, 99.5), (2.0, 59.0)]
    shop_p1 = next(r for r in world.shop_rows("products") if r["code"] == "P1")
    assert {r["product"] for r in lines} == {shop_p1["id"], None}
    crm_orders = {r["number"]: r for r in world.crm.records("order")}
    assert set(crm_orders) == {"1001", "W-9"}  # the licence stays on its user
    crm_bolt = next(r for r in world.crm.records("customer") if r["name"] == "Bolt AB")
    assert crm_orders["W-9"]["customer"] == crm_bolt["id"]
    w9_lines = [r for r in world.crm.records("orderline")
                if r["order"] == crm_orders["W-9"]["id"]]
    assert len(w9_lines) == 1 and w9_lines[0]["quantity"] == 3
    assert len(world.crm.records("user")) == 2 and len(world.crm.records("quote")) == 1

    again = world.run()
    assert again.writes == 0, again.as_dict()


def test_edits_on_both_sides_then_deletes(world: World) -> None:
    crm_ids = crm_sample(world.crm)
    world.pms.put("customer", {"name": "Nordlys Hotell", "email": "booking@nordlys.example"})
    world.run()

    # a person edits the webshop database and the CRM, each a different record
    world.shop_sql("UPDATE customers SET city = 'Bergen' WHERE name = 'Acme AS'")
    world.crm.edit("product", crm_ids["p1"], price=65.5, name="Sourdough")
    edits = world.run()
    assert edits.writes > 0
    assert next(r for r in world.crm.records("customer") if r["name"] == "Acme AS")[
        "city"] == "Bergen"
    assert next(r for r in world.pms.records("customer") if r["name"] == "Acme AS")[
        "city"] == "Bergen"
    shop_p1 = next(r for r in world.shop_rows("products") if r["code"] == "P1")
    assert (shop_p1["name"], float(shop_p1["price"])) == ("Sourdough", 65.5)
    assert world.run().writes == 0

    # an order deleted in the CRM goes with its lines; a customer deleted in the PMS goes too
    world.crm.remove("order", crm_ids["order"])
    hotel = next(r for r in world.pms.records("customer") if r["name"] == "Nordlys Hotell")
    world.pms.remove("customer", hotel["id"])
    deletes = world.run()
    assert deletes.total("delete") >= 4
    assert "1001" not in {r["number"] for r in world.shop_rows("orders")}
    assert world.shop_rows("orderlines") == []
    assert "Nordlys Hotell" not in names(world.shop_rows("customers"))
    assert "Nordlys Hotell" not in names(world.crm.records("customer"))
    assert world.run().writes == 0


def test_a_new_line_in_the_webshop_reaches_the_crm_order(world: World) -> None:
    crm_ids = crm_sample(world.crm)
    world.run()
    shop_order = next(r for r in world.shop_rows("orders") if r["number"] == "1001")
    world.shop_sql("INSERT INTO orderlines (\"order\", description, quantity, unit_price) "
                   "VALUES (?, 'Gift wrap', 1, 15)", shop_order["id"])
    world.run()
    crm_lines = [r for r in world.crm.records("orderline") if r["order"] == crm_ids["order"]]
    assert sorted(r.get("description") or "" for r in crm_lines) == ["", "Delivery", "Gift wrap"]
    assert world.run().writes == 0


def test_quote_lines_stay_with_their_quote_and_go_with_it(world: World) -> None:
    """The webshop has orders only: a CRM quote and its lines have no place there."""
    crm_ids = crm_sample(world.crm)
    [quote] = world.crm.records("quote")
    line = world.crm.put("quoteline", {"quote": quote["id"], "product": crm_ids["p1"],
                                       "quantity": 5, "unit_price": 59})
    world.run()  # no dead letter: the quote's lines are not sent to the webshop's order lines
    assert sorted(float(r["quantity"]) for r in world.shop_rows("orderlines")) == [1.0, 2.0]
    world.crm.edit("quoteline", line["id"], quantity=6)
    assert world.run().writes == 0

    world.crm.remove("quote", quote["id"])
    assert world.crm.records("quoteline") == []  # the emulator deletes a quote's lines with it
    world.run()
    assert world.run().writes == 0
