"""The official ``invoiced`` client from PyPI, pointed at the emulator.

If the emulator answers what the official client expects (paths, bodies,
``Link`` and ``X-Total-Count`` headers, status codes, error bodies), it
speaks the real API closely enough for the connector's tests to mean
something.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from talk_invoiced.emulator import InvoicedEmulator

invoiced = pytest.importorskip("invoiced")


@pytest.fixture
def client() -> Iterator[object]:
    with InvoicedEmulator(api_key="official_key") as emulator:
        c = invoiced.Client("official_key")
        c.api_url = emulator.url  # the client joins api_url and the endpoint path
        yield c


def test_customers_create_list_pages_update_delete(client: object) -> None:
    made = [client.Customer.create(name=f"Customer {n}", email=f"c{n}@x.com",  # type: ignore[attr-defined]
                                   idempotency_key=f"official-{n}") for n in range(5)]
    again = client.Customer.create(name="Customer 0", idempotency_key="official-0")  # type: ignore[attr-defined]
    assert again.id == made[0].id  # an idempotent replay, not a new customer
    page, meta = client.Customer.list(per_page=2)  # type: ignore[attr-defined]
    assert len(page) == 2 and meta.total_count == 5
    assert set(meta.links) == {"self", "first", "next", "last"}
    last, meta_last = client.Customer.list(per_page=2, page=3)  # type: ignore[attr-defined]
    assert [c.name for c in last] == ["Customer 4"] and "next" not in meta_last.links
    assert "previous" in meta_last.links
    customer = client.Customer.retrieve(made[1].id)  # type: ignore[attr-defined]
    customer.city = "Oslo"
    assert customer.save()
    assert client.Customer.retrieve(made[1].id).city == "Oslo"  # type: ignore[attr-defined]
    assert customer.delete()
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Customer.retrieve(made[1].id)  # type: ignore[attr-defined]
    assert info.value.args[0] == f"Customer was not found: {made[1].id}"


def test_invoices_with_line_items(client: object) -> None:
    customer = client.Customer.create(name="Buyer")  # type: ignore[attr-defined]
    invoice = client.Invoice.create(  # type: ignore[attr-defined]
        customer=customer.id, currency="USD",
        items=[{"name": "Setup", "quantity": 1, "unit_cost": 100},
               {"name": "Hours", "quantity": 3, "unit_cost": 50}])
    assert invoice.currency == "usd" and invoice.total == 250
    first = invoice["items"][0]  # ``.items`` is the dict method: the client is a dict
    invoice["items"] = [{"id": first["id"], "quantity": 2}, {"name": "Extra", "unit_cost": 5}]
    invoice.save()
    assert [(i["name"], i["amount"]) for i in invoice["items"]] == [("Setup", 200),
                                                                   ("Extra", 5)]
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Invoice.create(items=[])  # type: ignore[attr-defined]
    assert "Customer missing" in str(info.value)
    assert invoice.void() and invoice.status == "voided"
    with pytest.raises(invoiced.errors.InvalidRequestError):
        customer.delete()  # a customer with invoices cannot be deleted


def test_catalog_items(client: object) -> None:
    item = client.Item.create(id="widget", name="Widget", unit_cost=10)  # type: ignore[attr-defined]
    assert item.id == "widget"
    item.name = "Widget Pro"
    item.save()
    items, meta = client.Item.list()  # type: ignore[attr-defined]
    assert [(i.id, i.name) for i in items] == [("widget", "Widget Pro")] and meta.total_count == 1
    item.unit_cost = 12
    with pytest.raises(invoiced.errors.InvalidRequestError):
        item.save()  # a price cannot change in place
    assert client.Item.retrieve("widget").delete()  # type: ignore[attr-defined]
    items, meta = client.Item.list()  # type: ignore[attr-defined]
    assert items == [] and meta.total_count == 0
