"""Many crashed creates settled with one listing, against the emulator, requests counted."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from talk_core.connector import BatchRecovery, PendingCreate, recover_each
from talk_core.ids import new_global_id
from talk_core.model import Entity
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.testing import connector_for


def _journal(connector: InvoicedConnector, datatype: str, count: int,
             props: Any, made: Any) -> tuple[list[PendingCreate], dict[str, str]]:
    """``count`` journalled creates; those ``made(n)`` says were sent before the crash."""
    sent = datetime.now(UTC) - timedelta(seconds=2)
    pending, created = [], {}
    for n in range(count):
        key = new_global_id()
        pending.append(PendingCreate(key, props(n), sent))
        if made(n):
            created[key] = connector.create(datatype, props(n), key=key).id
    return pending, created


def _requests(emulator: InvoicedEmulator, action: Any) -> tuple[Any, int]:
    before = emulator.tap.count
    answer = action()
    return answer, emulator.tap.count - before


def test_250_customers_cost_a_listing_not_250_lookups(
        invoiced_emulator: InvoicedEmulator) -> None:
    connector = connector_for(invoiced_emulator)
    assert isinstance(connector, BatchRecovery)
    pending, created = _journal(connector, "customers", 250,
                                lambda n: {"name": f"Customer {n}"}, lambda n: n % 5 != 0)
    # a record changed meanwhile that no create made is listed and left alone
    connector.create("customers", {"name": "Someone else"}, key=new_global_id())
    found, cost = _requests(invoiced_emulator,
                            lambda: connector.recover_many("customers", pending))
    assert cost <= math.ceil(250 / connector.page_size) + 1
    assert {k: (v.id if v is not None else None) for k, v in found.items()} == {
        c.key: created.get(c.key) for c in pending}
    each, cost_each = _requests(invoiced_emulator,
                                lambda: recover_each(connector, "customers", pending))
    assert cost_each == 250
    assert {k: getattr(v, "id", None) for k, v in each.items()} == {
        k: getattr(v, "id", None) for k, v in found.items()}
    connector.close()


def test_items_and_invoices_with_their_lines(
        invoiced_emulator: InvoicedEmulator) -> None:
    connector = connector_for(invoiced_emulator, page_size=10)
    customer = connector.create("customers", {"name": "Molen"}, key=new_global_id())
    items, made_items = _journal(connector, "items", 25,
                                 lambda n: {"id": f"item-{n}", "name": f"Item {n}",
                                            "unit_cost": 1}, lambda n: n % 2 == 0)
    invoices, made_invoices = _journal(
        connector, "invoices", 12,
        lambda n: {"customer": customer.id, "items": [{"name": "x", "unit_cost": n + 1}]},
        lambda n: n != 3)
    invoice = next(iter(made_invoices.values()))
    lines, made_lines = _journal(
        connector, "lineitems", 6,
        lambda n: {"invoice": invoice, "name": f"line {n}", "unit_cost": 2, "quantity": 1},
        lambda n: n < 4)
    for datatype, pending, created in (("items", items, made_items),
                                       ("invoices", invoices, made_invoices),
                                       ("lineitems", lines, made_lines)):
        found, cost = _requests(invoiced_emulator,
                                lambda d=datatype, p=pending: connector.recover_many(d, p))
        assert {k: getattr(v, "id", None) for k, v in found.items()} == {
            c.key: created.get(c.key) for c in pending}, datatype
        each = recover_each(connector, datatype, pending)
        assert {k: getattr(v, "id", None) for k, v in each.items()} == {
            k: getattr(v, "id", None) for k, v in found.items()}, datatype
        # invoices listed for lines: every invoice made above changed since the oldest
        listed = {"items": 25, "invoices": 12 + 0, "lineitems": 11}[datatype]
        assert cost <= math.ceil(listed / connector.page_size) + 1, datatype
    connector.close()


def test_contacts_list_each_customer_once(
        invoiced_emulator: InvoicedEmulator) -> None:
    connector = connector_for(invoiced_emulator)
    owners = [connector.create("customers", {"name": f"Owner {n}"}, key=new_global_id()).id
              for n in range(2)]
    pending, created = _journal(
        connector, "contacts", 10,
        lambda n: {"customer": owners[n % 2], "name": f"Contact {n}",
                   "email": f"c{n}@example.com"}, lambda n: n % 3 != 0)
    found, cost = _requests(invoiced_emulator,
                            lambda: connector.recover_many("contacts", pending))
    assert cost == 2
    assert {k: getattr(v, "id", None) for k, v in found.items()} == {
        c.key: created.get(c.key) for c in pending}
    connector.close()


def test_an_old_entry_in_a_busy_account_is_asked_about_on_its_own(
        invoiced_emulator: InvoicedEmulator) -> None:
    connector = connector_for(invoiced_emulator, page_size=10)
    key = new_global_id()
    old = PendingCreate(key, {"name": "Lost"}, datetime.now(UTC) - timedelta(days=3))
    made = connector.create("customers", {"name": "Lost"}, key=key)
    for n in range(40):
        connector.create("customers", {"name": f"Busy {n}"}, key=new_global_id())
    found, cost = _requests(invoiced_emulator,
                            lambda: connector.recover_many("customers", [old]))
    assert found[key] is not None and found[key].id == made.id
    assert cost == 2, "the first page, then the lookup by marker"
    connector.close()


def test_a_record_found_again_tells_whether_it_changed_after_it_was_made(
        invoiced_emulator: InvoicedEmulator) -> None:
    """``created_at`` and ``updated_at`` become ``Entity.created`` and ``updated``.

    Recovery takes the name Invoiced gives every new invoice ("Invoice") as
    a default while the invoice is as it was made, and as an edit once not.
    """
    account = invoiced_emulator.account
    moment = [1_767_225_600.0]
    account.clock = lambda: moment[0]
    connector = connector_for(invoiced_emulator)
    customer = connector.create("customers", {"name": "Molen"}, key=new_global_id())
    key = new_global_id()
    made = connector.create("invoices", {"customer": customer.id}, key=key)
    sent = datetime.fromtimestamp(moment[0] - 1, UTC)  # journalled just before it was sent
    pending = [PendingCreate(key, {"customer": customer.id}, sent)]
    found = connector.recover("invoices", key, {"customer": customer.id})
    assert found is not None and found.properties["name"] == "Invoice"
    assert found.created == found.updated == datetime.fromtimestamp(moment[0], UTC)
    assert not found.changed_since_made
    moment[0] += 60
    account.update_invoice(int(made.id), {"notes": "ring first"})
    again = connector.recover_many("invoices", pending)[key]
    assert isinstance(again, Entity) and again.changed_since_made
    assert again.created == found.created
    connector.close()
