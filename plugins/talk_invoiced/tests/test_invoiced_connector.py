"""The connector's HTTP behaviour, against recorded answers (``responses``)."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from talk_core.config import Secret
from talk_core.errors import CircuitBroken, RecordError, SystemUnavailable, TransientError
from talk_core.http import HttpStatusError
from talk_core.limits import LIMIT_NAMES
from talk_core.rest import MaintenancePage
from talk_invoiced.api import InvoicedApi
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.cursor import Cursor, record_hash
from talk_invoiced.plugin import INVOICED_SPEC, make_connector

BASE = "https://api.invoiced.com"


@pytest.fixture
def conn() -> InvoicedConnector:
    return InvoicedConnector(InvoicedApi("sk_secret", BASE, page_size=2, sleep=lambda _s: None))


def _customer(n: int, updated: int = 100, **extra: object) -> dict[str, object]:
    return {"id": n, "object": "customer", "name": f"C{n}", "updated_at": updated,
            "metadata": {}, **extra}


@responses.activate
def test_full_read_follows_link_next_and_sends_basic_auth(conn: InvoicedConnector) -> None:
    nxt = f"{BASE}/items?per_page=2&page=2"
    responses.get(f"{BASE}/items", json=[{"id": "a1", "name": "A"}, {"id": "b2", "name": "B"}],
                  headers={"Link": f'<{nxt}>; rel="next", <{nxt}>; rel="last"',
                           "X-Total-Count": "3"},
                  match=[matchers.query_param_matcher({"per_page": "2"})])
    responses.get(nxt, json=[{"id": "c3", "name": "C"}], headers={"X-Total-Count": "3"})
    # items archived half way through a price change (none here) are asked for too
    responses.get(f"{BASE}/items", json=[], match=[matchers.query_param_matcher(
        {"archived": "1", "metadata[talk_replacing]": "1", "per_page": "2"})])
    pages = list(conn.read("items", None))
    assert [[e.id for e in p.entities] for p in pages] == [["a1", "b2"], ["c3"]]
    auth = responses.calls[0].request.headers["Authorization"]
    assert auth == "Basic c2tfc2VjcmV0Og=="  # "sk_secret:" - key as user, no password


def _event(ident: int, kind: str, obj: dict[str, object]) -> dict[str, object]:
    return {"id": ident, "object": "event", "type": kind, "data": {"object": obj}}


@responses.activate
def test_changed_customers_come_from_the_feed_without_a_listing(
        conn: InvoicedConnector) -> None:
    cursor = Cursor(100, {"1": record_hash(_customer(1))}, 50)
    responses.get(f"{BASE}/events", json=[
        _event(57, "customer.updated", _customer(3, 104, city="Oslo")),
        _event(56, "customer.deleted", _customer(9)),
        _event(55, "customer.updated", _customer(4, 103, metadata={"talk_deleted": "1"})),
        _event(54, "invoice.deleted", {"id": 8}),
        _event(53, "customer.created", _customer(3, 102)),
        _event(52, "customer.updated", {"id": 6, "name": ["not", "text"]}),
        _event(51, "customer.updated", _customer(1)),  # read already, unchanged
        _event(50, "customer.created", _customer(1)),
    ])
    pages = list(conn.read("customers", cursor.encode()))
    entities = [e for p in pages for e in p.entities]
    assert [(e.id, e.deleted) for e in entities] == [("3", False), ("4", True), ("9", True)]
    assert entities[0].properties["city"] == "Oslo", "the newest event is the customer now"
    assert [r.external_id for p in pages for r in p.rejects] == ["6"]
    assert [len(p.entities) for p in pages] == [2, 1, 0], "pages of the page size"
    assert all(p.cursor == cursor.encode() for p in pages[:-1])
    after = Cursor.decode(pages[-1].cursor)
    assert (after.time, list(after.at_time), after.event) == (104, ["3"], 57)
    assert [str(c.request.url).split("?")[0] for c in responses.calls] == [f"{BASE}/events"]


@responses.activate
def test_a_feed_that_no_longer_reaches_the_cursor_falls_back_to_updated_after(
        conn: InvoicedConnector) -> None:
    cursor = Cursor(100, {"1": record_hash(_customer(1))}, 50)
    # event 50 is no longer kept: what changed between it and event 51 cannot be told
    responses.get(f"{BASE}/events", json=[
        _event(53, "customer.deleted", {"id": 9}),
        _event(52, "invoice.deleted", {"id": 8}),
    ])
    responses.get(f"{BASE}/customers", json=[_customer(1), _customer(2, 101)],
                  match=[matchers.query_param_matcher({"updated_after": "99", "per_page": "2"})])
    pages = list(conn.read("customers", cursor.encode()))
    live = [e.id for p in pages for e in p.entities if not e.deleted]
    gone = [e.id for p in pages for e in p.entities if e.deleted]
    assert live == ["2"] and gone == ["9"], "customer 1 was read already, unchanged"
    after = Cursor.decode(pages[-1].cursor)
    assert (after.time, list(after.at_time), after.event) == (101, ["2"], 53)
    assert pages[0].cursor == cursor.encode()  # only the last page moves the cursor


@responses.activate
def test_an_empty_feed_after_a_cursor_event_is_not_trusted(conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/events", json=[])  # every event expired, the cursor's too
    responses.get(f"{BASE}/invoices", json=[{"id": 4, "customer": 1, "updated_at": 120}],
                  match=[matchers.query_param_matcher({"updated_after": "99", "per_page": "2"})])
    pages = list(conn.read("invoices", Cursor(100, {}, 50).encode()))
    assert [e.id for p in pages for e in p.entities] == ["4"]
    assert Cursor.decode(pages[-1].cursor).event == 50, "a cursor never moves back"


@responses.activate
def test_a_feed_that_still_holds_the_cursors_event_is_trusted(
        conn: InvoicedConnector) -> None:
    # the cursor's own event on the last page: every event after it is there
    nxt = f"{BASE}/events?per_page=2&page=2"
    responses.get(f"{BASE}/events", json=[_event(53, "customer.deleted", {"id": 9}),
                                          _event(52, "invoice.deleted", {"id": 8})],
                  headers={"Link": f'<{nxt}>; rel="next"'})
    responses.get(nxt, json=[_event(50, "customer.created", _customer(7))])
    pages = list(conn.read("customers", Cursor(100, {}, 50).encode()))
    assert [(e.id, e.deleted) for p in pages for e in p.entities] == [("9", True)]
    assert len(responses.calls) == 2, "no listing of customers"


@responses.activate
def test_create_sends_idempotency_key_and_marker(conn: InvoicedConnector) -> None:
    responses.post(f"{BASE}/customers", status=201, json=_customer(5))
    conn.create("customers", {"name": "C5"}, key="key-123456")
    request = responses.calls[0].request
    assert request.headers["Idempotency-Key"] == "key-123456"
    assert json.loads(request.body) == {"name": "C5", "metadata": {"talk_key": "key-123456"}}


@responses.activate
def test_update_patches_only_changes_and_merges_metadata(conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/customers/5", json=_customer(5, metadata={"keep": "1"}))
    responses.patch(f"{BASE}/customers/5", json=_customer(5, city="Oslo"))
    conn.update("customers", "5", {"city": "Oslo", "metadata": {"new": "2"}})
    body = json.loads(responses.calls[1].request.body)
    assert body == {"city": "Oslo", "metadata": {"keep": "1", "new": "2"}}


@responses.activate
def test_item_price_change_deletes_and_recreates_with_the_same_id(
        conn: InvoicedConnector) -> None:
    stored = {"id": "sku", "object": "item", "name": "W", "unit_cost": 10, "currency": "usd",
              "metadata": {"talk_key": "k"}, "created_at": 1, "updated_at": 1}
    responses.get(f"{BASE}/items/sku", json=stored)
    responses.patch(f"{BASE}/items/sku", json=stored)
    responses.delete(f"{BASE}/items/sku", status=204)
    responses.post(f"{BASE}/items", status=201, json={**stored, "unit_cost": 12})
    answered = conn.update("items", "sku", {"unit_cost": 12})
    assert answered.id == "sku" and answered.properties["unit_cost"] == 12
    # marked before it is archived: a stop in between does not read as a delete
    assert json.loads(responses.calls[1].request.body) == {
        "metadata": {"talk_key": "k", "talk_replacing": "1"}}
    assert responses.calls[2].request.method == "DELETE"
    sent = json.loads(responses.calls[3].request.body)
    assert sent == {"id": "sku", "name": "W", "unit_cost": 12, "currency": "usd",
                    "metadata": {"talk_key": "k"}}


@responses.activate
def test_customer_with_invoices_is_deactivated_instead_of_deleted(
        conn: InvoicedConnector) -> None:
    responses.delete(f"{BASE}/customers/5", status=400, json={
        "type": "invalid_request", "message": "Customers with invoices cannot be deleted"})
    responses.get(f"{BASE}/customers/5", json=_customer(5))
    responses.patch(f"{BASE}/customers/5", json=_customer(5, active=False))
    conn.delete("customers", "5")
    assert json.loads(responses.calls[2].request.body) == {
        "active": False, "metadata": {"talk_deleted": "1"}}


@responses.activate
def test_voided_invoice_is_not_edited(conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/invoices/3", json={"id": 3, "customer": 1, "status": "voided"})
    with pytest.raises(RecordError, match="voided"):
        conn.update("invoices", "3", {"notes": "x"})
    assert len(responses.calls) == 1  # no PATCH was sent


@responses.activate
def test_4xx_names_invoiced_message_and_param(conn: InvoicedConnector) -> None:
    responses.post(f"{BASE}/customers", status=400, json={
        "type": "invalid_request", "message": "Name missing", "param": "name"})
    with pytest.raises(HttpStatusError) as info:
        conn.create("customers", {"email": "x@y.z"}, key="key-123456")
    assert "Name missing (param: name)" in str(info.value) and info.value.status == 400


@responses.activate
def test_429_and_500_are_retried_then_transient(conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/customers/1", status=429, json={"type": "rate_limit_error",
                                                            "message": "slow down"})
    responses.get(f"{BASE}/customers/1", json=_customer(1))
    assert conn.get("customers", "1") is not None
    responses.get(f"{BASE}/invoices/1", status=500, json={"type": "api", "message": "boom"})
    with pytest.raises(TransientError):
        conn.get("invoices", "1")


@responses.activate
def test_broken_record_in_a_listing_is_rejected_with_endpoint_and_reason(
        conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/events", json=[])
    responses.get(f"{BASE}/customers", json=[_customer(1), {"id": 2, "updated_at": "soon"},
                                             "junk"])
    pages = list(conn.read("customers", None))
    assert [e.id for p in pages for e in p.entities] == ["1"]
    rejects = [r for p in pages for r in p.rejects]
    assert [r.external_id for r in rejects] == ["2", "(GET customers page 1)"]
    assert "GET customers page 1" in rejects[0].error and "updated_at" in rejects[0].error


@responses.activate
def test_html_page_instead_of_a_listing_is_an_outage(conn: InvoicedConnector) -> None:
    html = "<html><head><title>Bad gateway</title></head><body>down</body></html>"
    responses.get(f"{BASE}/events", json=[])
    responses.get(f"{BASE}/customers", body=html, content_type="text/html")
    with pytest.raises(MaintenancePage) as raised:
        list(conn.read("customers", None))
    assert isinstance(raised.value, SystemUnavailable)
    assert not isinstance(raised.value, RecordError), "a maintenance page is no page's fault"
    message = str(raised.value)
    assert message.startswith("Invoiced GET /customers"), message
    assert "HTML page" in message and "Bad gateway" in message, message
    listed = [c for c in responses.calls if "/customers" in c.request.url]
    assert len(listed) == 6, "retried like a 503 (5 retries) before it is an outage"
    responses.get(f"{BASE}/items", body=html, content_type="text/html")
    with pytest.raises(MaintenancePage, match="HTML page"):
        list(conn.read("items", None))


@responses.activate
def test_a_listing_answer_that_is_not_a_list_fails_only_that_listing(
        conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/events", json=[])
    responses.get(f"{BASE}/customers", json={"error": "not a list"})
    pages = list(conn.read("customers", None))
    [reject] = [r for p in pages for r in p.rejects]
    assert reject.page
    assert "GET customers page 1: expected a JSON list, got dict" in reject.error
    assert pages[-1].cursor is None  # the cursor did not move past what was not read
    responses.get(f"{BASE}/customers", body="oops, not JSON", content_type="text/plain")
    pages = list(conn.read("customers", None))
    [reject] = [r for p in pages for r in p.rejects]
    assert "GET customers page 1: expected a JSON list, got text/plain" in reject.error
    responses.get(f"{BASE}/items", json={"error": "not a list"})
    with pytest.raises(CircuitBroken, match="items listing is incomplete"):
        list(conn.read("items", None))


@responses.activate
def test_html_page_for_one_record_is_an_outage(conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/customers/1", body="<html>oops</html>", content_type="text/html")
    with pytest.raises(MaintenancePage,
                       match=r"Invoiced GET /customers/1: answered an HTML page \(text/html\)"):
        conn.get("customers", "1")
    assert len(responses.calls) == 6, "retried like a 503 before it is an outage"


@responses.activate
def test_a_record_answer_of_the_wrong_shape_is_the_records_error(
        conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/customers/1", body="oops", content_type="text/plain")
    with pytest.raises(RecordError, match="GET customers/1: expected JSON, got text/plain"):
        conn.get("customers", "1")
    responses.get(f"{BASE}/customers/2", json=["not", "an", "object"])
    with pytest.raises(RecordError, match="GET customers/2: expected an object with an id"):
        conn.get("customers", "2")


def test_factory_options_and_no_secret_in_repr() -> None:
    conn = make_connector(options={"api_key": Secret("sk_live_abc"), "sandbox": True},
                          context=None)  # type: ignore[arg-type]
    assert conn.api.http.base_url == "https://api.sandbox.invoiced.com/"
    assert "sk_live_abc" not in repr(conn) and "sk_live_abc" not in repr(conn.api)
    assert {o.name for o in INVOICED_SPEC.options} == {"api_key", "base_url", "sandbox",
                                                        "page_size", *LIMIT_NAMES}
    assert next(o for o in INVOICED_SPEC.options if o.name == "api_key").secret


@responses.activate
def test_a_key_quoted_back_in_an_error_never_reaches_the_message(
        conn: InvoicedConnector) -> None:
    """The key is Basic auth's user name, and the user name is the secret here."""
    responses.get(f"{BASE}/customers/7", status=400,
                  json={"type": "invalid_request", "message": "Key sk_secret may not read 7",
                        "param": "id"})
    with pytest.raises(HttpStatusError) as info:
        conn.get("customers", "7")
    assert "sk_secret" not in str(info.value) and "***" in str(info.value)
    assert "(param: id)" in str(info.value)
    assert "sk_secret" not in repr(conn.api.http.session.auth)


@responses.activate
def test_a_listing_follows_next_until_there_is_none_and_reads_the_total(
        conn: InvoicedConnector) -> None:
    second = f"{BASE}/events?per_page=2&page=2"
    responses.get(f"{BASE}/events", json=[{"id": 9}, {"id": 8}],
                  headers={"Link": f'<{second}>; rel="next"', "X-Total-Count": "3"})
    responses.get(second, json=[{"id": 7}], headers={"X-Total-Count": "3"})
    seen = list(conn.api.counted_pages("events"))
    assert [(where, [r["id"] for r in rows], total) for where, rows, total in seen] == [
        ("GET events page 1", [9, 8], 3), ("GET events page 2", [7], 3)]
    assert responses.calls[0].request.url == f"{BASE}/events?per_page=2"
