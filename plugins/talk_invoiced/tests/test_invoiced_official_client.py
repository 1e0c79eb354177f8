"""The official ``invoiced`` client from PyPI, pointed at the emulator.

If the emulator answers what the official client expects (paths, bodies,
``Link`` and ``X-Total-Count`` headers, status codes, error bodies), it
speaks the real API closely enough for the connector's tests to mean
something.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from talk_invoiced.emulator import InvoicedEmulator

invoiced = pytest.importorskip("invoiced")


@pytest.fixture
def emulator() -> Iterator[InvoicedEmulator]:
    with InvoicedEmulator(api_key="official_key") as running:
        yield running


def _client(emulator: InvoicedEmulator, key: str = "official_key") -> Any:
    c = invoiced.Client(key)
    c.api_url = emulator.url  # the client joins api_url and the endpoint path
    return c


@pytest.fixture
def client(emulator: InvoicedEmulator) -> Any:
    return _client(emulator)


def _every_page(listable: Any, **opts: Any) -> tuple[list[Any], list[Any]]:
    """Every object of a listing, page by page as its ``next`` link says; each page's meta."""
    found: list[Any] = []
    metas: list[Any] = []
    page = 1
    while True:
        rows, meta = listable.list(page=page, **opts)
        found.extend(rows)
        metas.append(meta)
        if "next" not in meta.links:
            return found, metas
        nxt = parse_qs(urlsplit(meta.links["next"]).query)
        assert {k: v[0] for k, v in nxt.items() if k not in ("page", "per_page")} == {
            k: str(v) for k, v in opts.items() if k != "per_page"}  # the link keeps the query
        page = int(nxt["page"][0])


def test_customers_create_list_pages_update_delete(client: Any) -> None:
    made = [client.Customer.create(name=f"Customer {n}", email=f"c{n}@x.com",
                                   idempotency_key=f"official-{n}") for n in range(5)]
    again = client.Customer.create(name="Customer 0", idempotency_key="official-0")
    assert again.id == made[0].id  # an idempotent replay, not a new customer
    page, meta = client.Customer.list(per_page=2)
    assert len(page) == 2 and meta.total_count == 5
    assert set(meta.links) == {"self", "first", "next", "last"}
    last, meta_last = client.Customer.list(per_page=2, page=3)
    assert [c.name for c in last] == ["Customer 4"] and "next" not in meta_last.links
    assert "previous" in meta_last.links
    customer = client.Customer.retrieve(made[1].id)
    customer.city = "Oslo"
    assert customer.save()
    assert client.Customer.retrieve(made[1].id).city == "Oslo"
    assert customer.delete()
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Customer.retrieve(made[1].id)
    assert info.value.args[0] == f"Customer was not found: {made[1].id}"


def test_invoices_with_line_items(client: Any) -> None:
    customer = client.Customer.create(name="Buyer")
    invoice = client.Invoice.create(
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
        client.Invoice.create(items=[])
    assert "Customer missing" in str(info.value)
    assert invoice.void() and invoice.status == "voided"
    with pytest.raises(invoiced.errors.InvalidRequestError):
        customer.delete()  # a customer with invoices cannot be deleted


def test_catalog_items(client: Any) -> None:
    item = client.Item.create(id="widget", name="Widget", unit_cost=10)
    assert item.id == "widget"
    item.name = "Widget Pro"
    item.save()
    items, meta = client.Item.list()
    assert [(i.id, i.name) for i in items] == [("widget", "Widget Pro")] and meta.total_count == 1
    item.unit_cost = 12
    with pytest.raises(invoiced.errors.InvalidRequestError):
        item.save()  # a price cannot change in place
    assert client.Item.retrieve("widget").delete()
    items, meta = client.Item.list()
    assert items == [] and meta.total_count == 0


def test_a_listing_is_read_to_its_end_page_by_page(client: Any) -> None:
    made = [client.Customer.create(name=f"Customer {n:02d}") for n in range(11)]
    found, metas = _every_page(client.Customer, per_page=4)
    assert [c.id for c in found] == [c.id for c in made]
    assert [m.total_count for m in metas] == [11, 11, 11]
    assert "previous" not in metas[0].links and "next" not in metas[-1].links
    last = parse_qs(urlsplit(metas[0].links["last"]).query)
    assert last["page"] == ["3"] and last["per_page"] == ["4"]
    rows, meta = client.Customer.list(per_page=500)  # larger than 100 is clamped
    assert len(rows) == 11 and "per_page=100" in meta.links["self"]


def test_filters_metadata_sort_and_updated_after(emulator: InvoicedEmulator,
                                                 client: Any) -> None:
    now = [1_700_000_000]
    emulator.account.clock = lambda: now[0]
    for name, city, tier in [("Bravo", "Oslo", "gold"), ("alpha", "Bergen", "gold"),
                             ("Charlie", "Oslo", "silver")]:
        client.Customer.create(name=name, city=city, metadata={"tier": tier})
        now[0] += 10
    oslo, meta = client.Customer.list(filter={"city": "Oslo"})
    assert [c.name for c in oslo] == ["Bravo", "Charlie"] and meta.total_count == 2
    gold, _ = client.Customer.list(metadata={"tier": "gold"}, sort="name asc")
    assert [c.name for c in gold] == ["alpha", "Bravo"]  # names sort without regard to case
    ordered, _ = client.Customer.list(sort="city asc,name desc")
    assert [c.name for c in ordered] == ["alpha", "Charlie", "Bravo"]
    active, _ = client.Customer.list(filter={"active": 1, "city": "Bergen"})
    assert [c.name for c in active] == ["alpha"]
    later, _ = client.Customer.list(updated_after=1_700_000_010)  # strictly after
    assert [c.name for c in later] == ["Charlie"]
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Customer.list(filter={"nope": "x"})
    assert info.value.status_code == 400 and info.value.error["param"] == "filter[nope]"
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Customer.list(sort="name sideways")
    assert info.value.error == {"type": "invalid_request",
                                "message": "Invalid sort parameter: name sideways",
                                "param": "sort"}


def test_contacts_live_under_their_customer(client: Any) -> None:
    customer = client.Customer.create(name="Parent")
    contacts = customer.contacts()
    made = contacts.create(name="Ola", email="ola@x.no")
    assert made.customer == customer.id and made.primary is True
    listed, meta = contacts.list()
    assert [c.id for c in listed] == [made.id] and meta.total_count == 1
    found = contacts.retrieve(made.id)
    found.title = "CFO"
    assert found.save() and contacts.retrieve(made.id).title == "CFO"
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        contacts.create(name="Kari", metadata={"a": "b"})  # contacts have no metadata
    assert info.value.error["param"] == "metadata"
    assert found.delete()
    assert contacts.list()[0] == []


def test_invoices_list_expand_and_delete(client: Any) -> None:
    buyer = client.Customer.create(name="Buyer")
    first = client.Invoice.create(customer=buyer.id, items=[{"name": "A", "unit_cost": 3}])
    second = client.Invoice.create(customer=buyer.id, draft=True)
    drafts, _ = client.Invoice.list(filter={"status": "draft"})
    assert [i.id for i in drafts] == [second.id]
    expanded, _ = client.Invoice.list(expand="customer", sort="total desc")
    assert [i.id for i in expanded] == [first.id, second.id]
    assert expanded[0].customer["name"] == "Buyer"
    assert client.Invoice.retrieve(first.id).customer == buyer.id  # not expanded unless asked
    assert second.delete()
    assert [i.id for i in client.Invoice.list()[0]] == [first.id]
    events, _ = client.Event.list(filter={"type": "invoice.deleted"})
    assert [e.data["object"]["id"] for e in events] == [second.id]


def test_errors_come_as_the_client_expects_them(emulator: InvoicedEmulator,
                                                client: Any) -> None:
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Customer.create(name="X", colour="red")
    assert info.value.status_code == 400
    assert info.value.error == {"type": "invalid_request",
                                "message": "Unknown parameter: colour", "param": "colour"}
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Invoice.retrieve(999)
    assert info.value.status_code == 404
    assert info.value.error == {"type": "invalid_request",
                                "message": "Invoice was not found: 999"}
    with pytest.raises(invoiced.errors.AuthenticationError) as refused:
        _client(emulator, "wrong_key").Customer.list()
    assert refused.value.status_code == 401
    assert refused.value.error["type"] == "invalid_request"
    emulator.faults.rate_limited = 1.0
    with pytest.raises(invoiced.errors.RateLimitError) as limited:
        client.Customer.list()
    assert limited.value.status_code == 429
    emulator.faults.clear()
    emulator.faults.server_error = 1.0
    with pytest.raises(invoiced.errors.ApiError) as failed:
        client.Customer.list()
    assert failed.value.status_code == 500 and failed.value.error["type"] == "api"
