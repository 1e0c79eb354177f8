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


def test_invoice_listing_filters_metadata_updated_after_and_expand(
        emulator: InvoicedEmulator, client: Any) -> None:
    now = [1_700_000_000]
    emulator.account.clock = lambda: now[0]
    buyer = client.Customer.create(name="Buyer")
    made = []
    for n, region in enumerate(["north", "south", "north"]):
        made.append(client.Invoice.create(customer=buyer.id, purchase_order=f"PO-{n}",
                                          metadata={"region": region},
                                          items=[{"name": "A", "unit_cost": 10 * (n + 1)}]))
        now[0] += 10
    north, meta = client.Invoice.list(metadata={"region": "north"}, sort="total desc")
    assert [i.id for i in north] == [made[2].id, made[0].id] and meta.total_count == 2
    po, _ = client.Invoice.list(filter={"purchase_order": "PO-1"})
    assert [i.id for i in po] == [made[1].id]
    made[0].notes = "late"
    now[0] += 10
    assert made[0].save()
    changed, _ = client.Invoice.list(updated_after=now[0] - 1)
    assert [i.id for i in changed] == [made[0].id]
    found = client.Invoice.retrieve(made[1].id, {"expand": "customer"})
    assert found.customer["id"] == buyer.id and found.customer["name"] == "Buyer"
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Invoice.list(expand="owner")
    assert info.value.error["param"] == "expand"


def test_events_are_retrieved_one_by_one_and_by_related_object(client: Any) -> None:
    buyer = client.Customer.create(name="Buyer")
    other = client.Customer.create(name="Other")
    buyer.city = "Oslo"
    buyer.save()
    mine, meta = client.Event.list(related_to=f"customer,{buyer.id}")
    assert [e.type for e in mine] == ["customer.updated", "customer.created"]
    assert meta.total_count == 2
    previous = mine[0].data["previous"]  # the old values of what the update changed
    assert previous["city"] is None and "name" not in previous
    one = client.Event.retrieve(mine[1].id)
    assert one.type == "customer.created" and one.data["object"]["id"] == buyer.id
    assert other.id not in [e.data["object"]["id"] for e in mine]
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Event.retrieve(424242)
    assert info.value.status_code == 404
    assert info.value.error == {"type": "invalid_request",
                                "message": "Event was not found: 424242"}


def test_archived_items_are_listed_only_when_asked(client: Any) -> None:
    client.Item.create(id="kept", name="Kept", unit_cost=1)
    gone = client.Item.create(id="gone", name="Gone", unit_cost=2)
    assert gone.delete()
    assert [i.id for i in client.Item.list()[0]] == ["kept"]
    archived, meta = client.Item.list(archived=1)
    assert [i.id for i in archived] == ["gone"] and meta.total_count == 1
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Item.retrieve("gone")
    assert info.value.status_code == 404
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Item.create(id="Not Valid", name="X")
    assert info.value.error["param"] == "id"


def test_a_customer_number_stays_unique_when_changed(client: Any) -> None:
    first = client.Customer.create(name="First", number="C-1")
    second = client.Customer.create(name="Second")
    assert second.number == "CUST-0001"
    second.number = "C-1"
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        second.save()
    assert info.value.status_code == 400 and info.value.error["param"] == "number"
    assert client.Customer.retrieve(second.id).number == "CUST-0001"
    first.number = "C-1"  # its own number again is no conflict
    first.name = "First AS"
    assert first.save() and first.number == "C-1"


def test_an_idempotency_key_replays_for_a_day(emulator: InvoicedEmulator,
                                              client: Any) -> None:
    now = [1_700_000_000]
    emulator.account.clock = lambda: now[0]
    customer = client.Customer.create(name="Before")
    customer.name = "First"
    customer.save(idempotency_key="rename-1")
    again = client.Customer.retrieve(customer.id)
    again.name = "Second"
    again.save(idempotency_key="rename-1")  # a replay: the first answer, no change
    assert again.name == "First" and client.Customer.retrieve(customer.id).name == "First"
    now[0] += 24 * 3600  # a day later the key is forgotten
    again.name = "Third"
    again.save(idempotency_key="rename-1")
    assert client.Customer.retrieve(customer.id).name == "Third"


NOT_EMULATED: dict[str, Any] = {
    "payments list": lambda c: c.Payment.list(),
    "payment create": lambda c: c.Payment.create(amount=10, customer=1),
    "credit notes list": lambda c: c.CreditNote.list(),
    "credit note create": lambda c: c.CreditNote.create(customer=1),
    "estimates list": lambda c: c.Estimate.list(),
    "estimate create": lambda c: c.Estimate.create(customer=1),
    "tasks list": lambda c: c.Task.list(),
    "notes list": lambda c: c.Note.list(),
    "subscriptions list": lambda c: c.Subscription.list(),
    "tax rates list": lambda c: c.TaxRate.list(),
    "customer notes": lambda c: c.Customer.retrieve(c.customer_id).list_notes().list(),
    "pending line items": lambda c: c.Customer.retrieve(c.customer_id).line_items().list(),
    "payment sources": lambda c: c.Customer.retrieve(c.customer_id).payment_sources().list(),
    "statement email": lambda c: c.Customer.retrieve(c.customer_id).send_statement(),
    "invoice sms": lambda c: c.Invoice.retrieve(c.invoice_id).send_sms(),
    "invoice pay": lambda c: c.Invoice.retrieve(c.invoice_id).pay(),
    "invoice attachments": lambda c: c.Invoice.retrieve(c.invoice_id).attachments(),
    "invoice notes": lambda c: c.Invoice.retrieve(c.invoice_id).notes().list(),
    "invoice payment plan": lambda c: c.Invoice.retrieve(c.invoice_id).payment_plan().retrieve(),
}


@pytest.mark.parametrize("operation", sorted(NOT_EMULATED))
def test_what_is_not_emulated_answers_404_as_an_unknown_route(client: Any,
                                                              operation: str) -> None:
    client.customer_id = client.Customer.create(name="Buyer").id
    client.invoice_id = client.Invoice.create(customer=client.customer_id).id
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        NOT_EMULATED[operation](client)
    assert info.value.status_code == 404
    assert info.value.error["type"] == "invalid_request"
    assert info.value.error["message"].startswith("no resource at /")


def test_invoices_by_date_and_customers_by_open_balance(emulator: InvoicedEmulator,
                                                        client: Any) -> None:
    day = 86400
    emulator.account.clock = lambda: 1_700_000_000
    owing = client.Customer.create(name="Owing", payment_terms="NET 14",
                                   metadata={"tier": "gold"})
    settled = client.Customer.create(name="Settled")
    early = client.Invoice.create(customer=owing.id, date=1_700_000_000 - 10 * day,
                                  items=[{"name": "A", "unit_cost": 40}])
    late = client.Invoice.create(customer=settled.id, draft=True, date=1_700_000_000,
                                 items=[{"name": "B", "unit_cost": 60}])
    assert early.payment_terms == "NET 14"  # the customer's terms, and a due date from them
    assert early.due_date == early.date + 14 * day
    assert late.payment_terms is None and late.due_date is None
    found, _ = client.Invoice.list(start_date=1_700_000_000 - day)
    assert [i.id for i in found] == [late.id]
    found, _ = client.Invoice.list(end_date=early.date)  # both ends inclusive
    assert [i.id for i in found] == [early.id]
    open_, _ = client.Customer.list(open_balance=1)  # a draft owes nothing yet
    assert [c.id for c in open_] == [owing.id]
    closed, _ = client.Customer.list(open_balance=0)
    assert [c.id for c in closed] == [settled.id]
    assert client.Customer.list(payment_source=1)[0] == []
    gold, _ = client.Customer.list(metadata={"tier": "gold"})
    none, _ = client.Customer.list(metadata={"tier": "None"})  # no key is no match
    assert [c.id for c in gold] == [owing.id] and none == []
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        client.Invoice.list(start_date="yesterday")
    assert info.value.error["param"] == "start_date"


def test_a_customer_balance_is_what_its_open_invoices_owe(emulator: InvoicedEmulator,
                                                          client: Any) -> None:
    day = 86400
    emulator.account.clock = lambda: 1_700_000_000
    buyer = client.Customer.create(name="Buyer", currency="NOK")
    client.Invoice.create(customer=buyer.id, items=[{"name": "A", "unit_cost": 100}],
                          due_date=1_700_000_000 - day)
    client.Invoice.create(customer=buyer.id, items=[{"name": "B", "unit_cost": 30}],
                          due_date=1_700_000_000 + day)
    client.Invoice.create(customer=buyer.id, draft=True, items=[{"name": "C", "unit_cost": 5}])
    voided = client.Invoice.create(customer=buyer.id, items=[{"name": "D", "unit_cost": 7}])
    voided.void()
    balance = client.Customer.retrieve(buyer.id).balance()
    assert balance == {"available_credits": 0, "currency": "nok", "history": [],
                       "past_due": True, "total_outstanding": 130, "due_now": 100}
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        invoiced.Customer(client, 999).balance()  # a customer the account does not have
    assert info.value.status_code == 404


def test_an_invoice_sent_by_email_is_marked_sent(client: Any) -> None:
    buyer = client.Customer.create(name="Buyer", email="ap@buyer.example")
    invoice = client.Invoice.create(customer=buyer.id, items=[{"name": "A", "unit_cost": 1}])
    assert invoice.status == "not_sent"
    emails = invoice.send()
    assert [(e.email, e.state, e.object) for e in emails] == [
        ("ap@buyer.example", "sent", "email")]
    again = client.Invoice.retrieve(invoice.id)
    assert again.sent is True and again.status == "sent"
    emails = again.send(to=[{"name": "A", "email": "a@x.example"},
                            {"name": "B", "email": "b@x.example"}], subject="Your invoice")
    assert [(e.email, e.subject) for e in emails] == [("a@x.example", "Your invoice"),
                                                      ("b@x.example", "Your invoice")]
    nobody = client.Customer.create(name="No email")
    quiet = client.Invoice.create(customer=nobody.id)
    with pytest.raises(invoiced.errors.InvalidRequestError) as info:
        quiet.send()
    assert info.value.status_code == 400 and info.value.error["param"] == "to"
    assert client.Invoice.retrieve(quiet.id).status == "not_sent"
