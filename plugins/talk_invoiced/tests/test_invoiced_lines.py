"""Line items from the change feed: no request of their own when nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from talk_core.connector import Page
from talk_core.emulation import TappedRequest
from talk_core.model import ReadMode
from talk_core.rest import MaintenancePage
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.schema import BY_NAME
from talk_invoiced.testing import connector_for


def _drain(connector: InvoicedConnector, cursor: str | None) -> tuple[list[Page], str | None]:
    pages = list(connector.read("lineitems", cursor))
    return pages, pages[-1].cursor


def _live(pages: list[Page]) -> dict[str, dict[str, Any]]:
    return {e.id: e.properties for p in pages for e in p.entities if not e.deleted}


def _gone(pages: list[Page]) -> set[str]:
    return {e.id for p in pages for e in p.entities if e.deleted}


def _invoice(emulator: InvoicedEmulator, *costs: int) -> dict[str, Any]:
    account = emulator.account
    customer = account.create_customer({"name": "Linje AS"})
    return account.create_invoice({"customer": customer["id"], "items": [
        {"name": f"Line {n}", "quantity": 1, "unit_cost": cost} for n, cost in enumerate(costs)]})


def _counting(emulator: InvoicedEmulator) -> list[str]:
    seen: list[str] = []

    def hook(request: TappedRequest) -> None:
        if request.stage == "received":
            seen.append(f"{request.method} {request.path.split('?')[0]}")

    emulator.tap.hook = hook
    return seen


def test_line_items_are_read_incrementally() -> None:
    assert BY_NAME["lineitems"].read_mode is ReadMode.INCREMENTAL


def test_a_read_with_nothing_changed_sends_only_the_feed_request(
        invoiced_emulator: InvoicedEmulator) -> None:
    invoice = _invoice(invoiced_emulator, 10, 20)
    connector = connector_for(invoiced_emulator)
    first, cursor = _drain(connector, None)
    assert set(_live(first)) == {str(line["id"]) for line in invoice["items"]}
    sent = _counting(invoiced_emulator)
    again, after = _drain(connector_for(invoiced_emulator), cursor)
    assert _live(again) == {} and _gone(again) == set()
    assert sent == ["GET /events"], "no invoice listing, only the change feed"
    assert after == cursor


def test_a_changed_invoice_answers_its_new_and_changed_lines_and_its_removed_ones(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    invoice = _invoice(invoiced_emulator, 10, 20, 30)
    kept, changed, removed = (line["id"] for line in invoice["items"])
    untouched = _invoice(invoiced_emulator, 5)
    connector = connector_for(invoiced_emulator)
    _pages, cursor = _drain(connector, None)
    account.update_invoice(invoice["id"], {"items": [
        {"id": kept}, {"id": changed, "unit_cost": 25}, {"name": "Added", "unit_cost": 7}]})
    account.update_invoice(invoice["id"], {"notes": "a later edit of the invoice alone"})
    sent = _counting(invoiced_emulator)
    pages, after = _drain(connector_for(invoiced_emulator), cursor)
    live = _live(pages)
    added = next(str(line["id"]) for line in account.invoices[invoice["id"]]["items"]
                 if line["name"] == "Added")
    assert set(live) == {str(changed), added}, "the unchanged lines are not read again"
    assert live[str(changed)]["unit_cost"] == 25
    assert live[added]["invoice"] == str(invoice["id"])
    assert _gone(pages) == {str(removed)}
    assert str(untouched["items"][0]["id"]) not in live
    assert sent == ["GET /events"]
    assert all(p.cursor == cursor for p in pages[:-1]), "only the last page moves the cursor"
    assert after != cursor
    nothing, _ = _drain(connector_for(invoiced_emulator), after)
    assert _live(nothing) == {} and _gone(nothing) == set()


def test_a_deleted_invoice_takes_its_lines_with_it(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    invoice = _invoice(invoiced_emulator, 10, 20)
    lines = [str(line["id"]) for line in invoice["items"]]
    connector = connector_for(invoiced_emulator)
    _pages, cursor = _drain(connector, None)
    account.update_invoice(invoice["id"], {"items": [{"id": lines[0]}]})  # one goes first
    account.delete_invoice(invoice["id"])
    pages, _ = _drain(connector_for(invoiced_emulator), cursor)
    assert _gone(pages) == set(lines)
    assert _live(pages) == {}


def test_an_update_that_does_not_say_what_it_replaced_reads_every_line_and_deletes_none(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    invoice = _invoice(invoiced_emulator, 10, 20)
    connector = connector_for(invoiced_emulator)
    _pages, cursor = _drain(connector, None)
    account.update_invoice(invoice["id"], {"notes": "edited"})
    account.events[-1]["data"].pop("previous")
    pages, _ = _drain(connector_for(invoiced_emulator), cursor)
    assert set(_live(pages)) == {str(line["id"]) for line in invoice["items"]}
    assert _gone(pages) == set()


def test_a_broken_line_in_the_feed_is_a_reject_and_never_a_delete(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    invoice = _invoice(invoiced_emulator, 10, 20)
    good, bad = (line["id"] for line in invoice["items"])
    connector = connector_for(invoiced_emulator)
    _pages, cursor = _drain(connector, None)
    account.update_invoice(invoice["id"], {"items": [{"id": good, "unit_cost": 11},
                                                     {"id": bad}]})
    account.events[-1]["data"]["object"]["items"][1]["name"] = ["not", "text"]
    pages, _ = _drain(connector_for(invoiced_emulator), cursor)
    assert set(_live(pages)) == {str(good)}
    assert _gone(pages) == set()
    rejects = [r for p in pages for r in p.rejects]
    assert [r.external_id for r in rejects] == [str(bad)] and not rejects[0].page
    assert "name" in rejects[0].error


def test_an_unreadable_feed_keeps_the_cursor_and_says_it_was_a_page(
        invoiced_emulator: InvoicedEmulator) -> None:
    _invoice(invoiced_emulator, 10)
    connector = connector_for(invoiced_emulator)
    _pages, cursor = _drain(connector, None)
    invoiced_emulator.faults.pages["/events"] = (
        200, "application/json", '{"object": "not a list of events"}')
    pages, after = _drain(connector_for(invoiced_emulator), cursor)
    assert after == cursor
    rejects = [r for p in pages for r in p.rejects]
    assert len(rejects) == 1 and rejects[0].page
    assert "GET events page 1: expected a JSON list, got dict" in rejects[0].error


def test_a_maintenance_page_for_the_feed_is_an_outage_not_a_page(
        invoiced_emulator: InvoicedEmulator) -> None:
    _invoice(invoiced_emulator, 10)
    connector = connector_for(invoiced_emulator)
    _pages, cursor = _drain(connector, None)
    page = "<html><body><h1>Maintenance</h1></body></html>"
    invoiced_emulator.faults.pages["/events"] = (200, "text/html", page)
    pages, after = _drain(connector_for(invoiced_emulator), cursor)
    assert after is not None and not [r for p in pages for r in p.rejects], \
        "one HTML answer is absorbed by the retry"
    invoiced_emulator.fail(200, path="/events", content_type="text/html", body=page,
                           times=1000)
    with pytest.raises(MaintenancePage, match=r"GET /events: answered an HTML page.*Maintenance"):
        _drain(connector_for(invoiced_emulator), cursor)
