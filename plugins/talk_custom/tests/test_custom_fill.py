"""A custom system filled by ``talk emulate KIND --records N``: private customers beside the
companies, a PMS's projects and tasks, and order lines inline where the installation keeps
them so, all read by talk without a dead letter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.testing.hub import hub_system, runs_until_quiet
from talk_custom import instance
from talk_custom.emulator import CustomEmulator
from talk_custom.emulator.fill import PRIVATE_EVERY, fill

INLINE = {"order": {"lines": "lines"}}


def _fill(emulator: CustomEmulator, records: int, seed: int, inline: set[str] | None = None
          ) -> dict[str, int]:
    datatypes = {dt.name for dt in emulator.profile.datatypes}
    return fill(lambda datatype, fields: str(emulator.put(datatype, fields)["id"]),
                datatypes, records, seed, inline or set())


def _links(emulator: CustomEmulator, kind: str, tmp_path: Path, **options: Any
           ) -> dict[tuple[str, str], int]:
    """Sync the emulator into a hub of the global datatypes; its links per datatype and type."""
    store = SQLiteStore(tmp_path / "state.db")
    shop = instance("shop", kind, base_url=emulator.url, store=store, **options)
    hub_spec, hub = hub_system()
    sync = Sync(store, [shop, SystemInstance("hub", hub_spec, hub)], SyncSettings())
    try:
        for result in runs_until_quiet(sync, 3):
            assert result.status == "done", result.message
            assert not result.dead_letters, result.dead_letters[:3]
            assert not result.errors, result.errors[:3]
        return {(d, g): n for s, d, g, n in store.link_counts() if s == "shop"}
    finally:
        sync.close()


@pytest.fixture
def started() -> Iterator[list[CustomEmulator]]:
    running: list[CustomEmulator] = []
    try:
        yield running
    finally:
        for emulator in running:
            emulator.stop()


def test_a_shop_s_people_are_private_customers(started: list[CustomEmulator],
                                              tmp_path: Path) -> None:
    shop = CustomEmulator("customwebshop").start()
    started.append(shop)
    made = _fill(shop, 200, 4)
    assert sum(made.values()) == 200
    customers = shop.records("customer")
    persons = [c for c in customers if c.get("customer_type") == "person"]
    assert len(customers) == made["customer"] and 0 < len(persons) < len(customers)
    assert all(p["email"].endswith("@mail.example") and p["city"] for p in persons)
    assert len({p["email"] for p in persons}) == len(persons)
    links = _links(shop, "customwebshop", tmp_path)
    assert links["customer", "human"] == len(persons)
    assert links["customer", "organisation"] == len(customers) - len(persons)
    assert links["orderline", "agreementline"] == made["orderline"]


def test_a_crm_keeps_most_people_as_contacts_and_some_as_private_customers() -> None:
    crm = CustomEmulator("customcrm")
    made = _fill(crm, 400, 8)
    assert sum(made.values()) == 400
    persons = [c for c in crm.records("customer") if c.get("customer_type") == "person"]
    people = len(persons) + made["contact"]
    assert len(persons) == people // PRIVATE_EVERY
    assert all(c["customer"] for c in crm.records("contact"))


def test_a_pms_is_filled_with_customers_projects_and_their_tasks(
        started: list[CustomEmulator], tmp_path: Path) -> None:
    pms = CustomEmulator("custompms").start()
    started.append(pms)
    made = _fill(pms, 200, 6)
    assert set(made) == {"customer", "project", "task"} and sum(made.values()) == 200
    projects = {p["id"] for p in pms.records("project")}
    assert {t["project"] for t in pms.records("task")} == projects
    links = _links(pms, "custompms", tmp_path)
    assert links["project", "agreement"] == made["project"]
    assert links["task", "agreementline"] == made["task"]


def test_order_lines_kept_inline_are_written_into_their_orders(
        started: list[CustomEmulator], tmp_path: Path) -> None:
    shop = CustomEmulator("customwebshop", datatypes=INLINE).start()
    started.append(shop)
    made = _fill(shop, 200, 4, {"orderline"})
    assert sum(made.values()) == 200
    orders = shop.records("order")
    lines = [line for order in orders for line in order["lines"]]
    assert all(order["lines"] for order in orders)
    assert len(lines) == made["orderline"] == len({line["id"] for line in lines})
    products = {p["id"] for p in shop.records("product")}
    assert all(line["product"] in products for line in lines)
    links = _links(shop, "customwebshop", tmp_path, datatypes=INLINE)
    assert links["orderline", "agreementline"] == made["orderline"]
    assert links["order", "agreement"] == made["order"]
