"""Contacts through the change feed, and one ``/events`` read a run for every datatype."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from responses import matchers

from talk_core.connector import Page
from talk_core.emulation import TappedRequest
from talk_core.errors import AccessDenied
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_invoiced.api import InvoicedApi
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.cursor import Cursor
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for

BASE = "https://api.invoiced.com"
CONTACTS_OF = f"{BASE}/customers/3/contacts"


@pytest.fixture
def conn() -> InvoicedConnector:
    return InvoicedConnector(InvoicedApi("sk_secret", BASE, page_size=2, sleep=lambda _s: None,
                                         system="billing"))


@contextlib.contextmanager
def _warnings_of(name: str, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Catch a logger's warnings even when the CLI's logging setup stopped them propagating."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)


def _event(ident: int, kind: str, **obj: object) -> dict[str, object]:
    return {"id": ident, "object": "event", "type": kind, "timestamp": 1000 + ident,
            "data": {"object": obj}}


def _contact(ident: int, customer: int) -> dict[str, object]:
    return {"id": ident, "object": "contact", "customer": customer, "name": f"P{ident}",
            "updated_at": 100}


def _ids(pages: list[Page], *, deleted: bool) -> list[str]:
    return [e.id for p in pages for e in p.entities if e.deleted is deleted]


def _paths() -> list[str]:
    return [str(c.request.url).removeprefix(BASE).split("?")[0] for c in responses.calls]


@responses.activate
def test_contacts_are_read_only_where_the_feed_says_they_changed(
        conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/events", json=[
        _event(60, "contact.updated", id=7, customer=3),
        _event(59, "contact.created", id=8, customer=3),
        _event(58, "contact.deleted", id=9, customer=4),
        _event(57, "customer.deleted", id=5),
        _event(56, "customer.updated", id=6, metadata={"talk_deleted": "1"}),
        _event(50, "customer.created", id=3),
    ], match=[matchers.query_param_matcher({"per_page": "2"})])
    responses.get(CONTACTS_OF, json=[_contact(7, 3), _contact(8, 3), _contact(10, 3)])
    responses.get(f"{BASE}/customers/6/contacts", json=[_contact(12, 6)])
    responses.get(f"{BASE}/events", json=[
        _event(40, "contact.created", id=11, customer=5),
        _event(41, "contact.created", id=13, customer=5),
        _event(42, "contact.deleted", id=13, customer=5),
    ], match=[matchers.query_param_matcher({"related_to": "customer,5", "per_page": "2"})])
    start = Cursor(event=50).encode()
    pages = list(conn.read("contacts", start))
    assert _ids(pages, deleted=False) == ["7", "8"], "contact 10 did not change"
    assert sorted(_ids(pages, deleted=True)) == ["11", "12", "9"]
    assert Cursor.decode(pages[-1].cursor).event == 60
    assert all(p.cursor == start for p in pages[:-1]), "only the last page moves the cursor"
    assert sorted(_paths()) == ["/customers/3/contacts", "/customers/6/contacts",
                                "/events", "/events"]


@responses.activate
def test_a_run_with_no_change_reads_the_feed_once_for_every_datatype(
        conn: InvoicedConnector) -> None:
    # the newest event is the one every cursor already has; page 2 must never be asked for
    nxt = f"{BASE}/events?per_page=2&page=2"
    responses.get(f"{BASE}/events", json=[_event(50, "customer.created", id=3),
                                          _event(49, "customer.created", id=2)],
                  headers={"Link": f'<{nxt}>; rel="next"'})
    # no customers or invoices are listed: the feed names no change of theirs
    cursors = {"customers": Cursor(100, {}, 50), "contacts": Cursor(event=50),
               "invoices": Cursor(100, {}, 50)}
    for datatype, cursor in cursors.items():
        pages = list(conn.read(datatype, cursor.encode()))
        assert not [e for p in pages for e in p.entities], datatype
        assert Cursor.decode(pages[-1].cursor).event == 50
    assert _paths() == ["/events"]


@responses.activate
def test_a_broken_feed_keeps_the_contacts_cursor(conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/events", json=[{"type": "contact.created"}])
    start = Cursor(event=50).encode()
    pages = list(conn.read("contacts", start))
    assert pages[-1].cursor == start
    assert "without an integer id" in pages[-1].rejects[0].error


@responses.activate
def test_a_refused_key_stops_the_run_naming_the_system() -> None:
    responses.get(f"{BASE}/items", status=401, json={"type": "invalid_request",
                                                     "message": "Invalid API key"})
    conn = InvoicedConnector(InvoicedApi("sk_wrong_5e6f7a", BASE, sleep=lambda _s: None,
                                         system="billing"))
    with pytest.raises(AccessDenied) as info:
        list(conn.read("items", None))
    text = str(info.value)
    assert text.startswith("Invoiced refused the credentials (401 Invalid API key")
    assert "api_key of system 'billing'" in text and "sk_wrong" not in text
    assert len(responses.calls) == 1


# -- on the emulator ----------------------------------------------------------------------


class Requests:
    """The paths an emulator was asked for, as its tap sees them."""

    def __init__(self, emulator: InvoicedEmulator) -> None:
        self.paths: list[str] = []
        emulator.tap.hook = self._see

    def _see(self, request: TappedRequest) -> None:
        if request.stage == "received":
            self.paths.append(request.path.split("?")[0])

    def take(self) -> list[str]:
        taken, self.paths = self.paths, []
        return taken


@pytest.fixture
def emulator() -> Iterator[InvoicedEmulator]:
    with InvoicedEmulator() as emu:
        yield emu


def test_contacts_on_the_emulator_first_in_full_then_by_the_feed(
        emulator: InvoicedEmulator) -> None:
    acc = emulator.account
    firms = [acc.create_customer({"name": f"Firm {n}"}) for n in range(4)]
    people = [acc.create_contact(f["id"], {"name": f"Person {n}"})
              for n, f in enumerate(firms)]
    seen = Requests(emulator)
    conn = connector_for(emulator, page_size=3)  # the two events below and one before
    pages = list(conn.read("contacts", None))
    assert sorted(_ids(pages, deleted=False)) == sorted(str(p["id"]) for p in people)
    assert seen.take().count("/events") == 1
    cursor = pages[-1].cursor

    pages = list(conn.read("contacts", cursor))
    assert _ids(pages, deleted=False) == [] and seen.take() == ["/events"]

    acc.update_contact(firms[2]["id"], people[2]["id"], {"title": "Director"})
    acc.delete_contact(firms[3]["id"], people[3]["id"])
    pages = list(conn.read("contacts", pages[-1].cursor))
    assert [e.properties["title"] for p in pages for e in p.entities if not e.deleted] == [
        "Director"]
    assert _ids(pages, deleted=True) == [str(people[3]["id"])]
    assert seen.take() == ["/events", f"/customers/{firms[2]['id']}/contacts"]


def test_a_contact_not_read_this_run_is_found_by_its_events(
        emulator: InvoicedEmulator) -> None:
    acc = emulator.account
    firms = [acc.create_customer({"name": f"Firm {n}"}) for n in range(5)]
    person = acc.create_contact(firms[3]["id"], {"name": "Ola"})
    gone = acc.create_contact(firms[1]["id"], {"name": "Kari"})
    acc.delete_contact(firms[1]["id"], gone["id"])
    seen = Requests(emulator)
    conn = connector_for(emulator, page_size=2)  # a new process: it has read no contact
    conn.update("contacts", str(person["id"]), {"title": "CFO"})
    assert acc.contacts[person["id"]]["title"] == "CFO"
    where = f"/customers/{firms[3]['id']}/contacts/{person['id']}"
    assert seen.take() == ["/events", where, where], "no customer was listed"
    conn.delete("contacts", str(gone["id"]))
    assert seen.take() == ["/events"], "the events say it is gone already"


def test_a_no_change_sync_reads_one_feed_page_and_no_contacts(
        tmp_path: Path) -> None:
    with InvoicedEmulator(api_key="key_a") as a, InvoicedEmulator(api_key="key_b") as b:
        for n in range(3):
            firm = a.account.create_customer({"name": f"Firm {n}", "type": "company"})
            a.account.create_contact(firm["id"], {"name": f"Person {n}"})
        systems = [SystemInstance(name, INVOICED_SPEC, connector_for(emu, page_size=2))
                   for name, emu in (("a", a), ("b", b))]
        sync = Sync(SQLiteStore(tmp_path / "state.db"), systems, SyncSettings())
        try:
            for _ in range(4):
                if sync.run().writes == 0:
                    break
            assert len(b.account.contacts) == 3
            seen = Requests(a)
            quiet = sync.run()
            assert quiet.writes == 0 and quiet.status == "done"
            paths = seen.take()
            assert paths.count("/events") == 1, paths
            assert not [p for p in paths if p.endswith("/contacts")], paths

            [contact] = [c for c in a.account.contacts.values() if c["name"] == "Person 1"]
            a.account.update_contact(contact["customer"], contact["id"], {"title": "CFO"})
            sync.run()
            assert [c["title"] for c in b.account.contacts.values()
                    if c["name"] == "Person 1"] == ["CFO"]
            assert [p for p in seen.take() if p.endswith("/contacts")] == [
                f"/customers/{contact['customer']}/contacts"]
        finally:
            sync.close()


def test_customers_are_listed_once_for_both_readers_then_read_from_the_feed(
        emulator: InvoicedEmulator) -> None:
    acc = emulator.account
    acc.clock = lambda: 1_700_000_000.0  # one burst: every write in the same second
    firms = [acc.create_customer({"name": f"Firm {n}"}) for n in range(5)]
    seen = Requests(emulator)
    conn = connector_for(emulator, page_size=3)
    customers = list(conn.read("customers", None))
    assert sorted(_ids(customers, deleted=False)) == sorted(str(f["id"]) for f in firms)
    assert seen.take() == ["/events", "/customers", "/customers"]
    contacts = list(conn.read("contacts", None))
    assert _ids(contacts, deleted=False) == []
    paths = seen.take()
    assert "/customers" not in paths and "/events" not in paths, "the listing is shared"
    assert sorted(paths) == sorted(f"/customers/{f['id']}/contacts" for f in firms)

    # nothing changed: the burst of the same second is not listed again
    quiet = list(conn.read("customers", customers[-1].cursor))
    assert _ids(quiet, deleted=False) == [] and seen.take() == ["/events"]

    acc.update_customer(firms[1]["id"], {"city": "Bergen"})
    acc.delete_customer(firms[4]["id"])
    changed = list(conn.read("customers", quiet[-1].cursor))
    assert [e.properties["city"] for p in changed for e in p.entities if not e.deleted] == [
        "Bergen"]
    assert _ids(changed, deleted=True) == [str(firms[4]["id"])]
    assert seen.take() == ["/events"]


def test_customers_are_listed_when_the_feed_has_dropped_the_cursors_event(
        emulator: InvoicedEmulator) -> None:
    acc = emulator.account
    now = [1_700_000_000.0]
    acc.clock = lambda: now[0]
    firms = [acc.create_customer({"name": f"Firm {n}"}) for n in range(3)]
    conn = connector_for(emulator, page_size=2)
    cursor = list(conn.read("customers", None))[-1].cursor
    now[0] += 60
    acc.update_customer(firms[0]["id"], {"city": "Bergen"})
    now[0] += 60
    acc.update_customer(firms[2]["id"], {"city": "Molde"})
    # Invoiced has kept only the newest event: the one of firm 0 is gone with the older ones
    acc.expire_events(int(now[0]))
    assert len(acc.events) == 1
    seen = Requests(emulator)
    pages = list(conn.read("customers", cursor))
    assert sorted(e.properties["city"] for p in pages for e in p.entities) == [
        "Bergen", "Molde"], "firm 1 was read already, unchanged"
    assert seen.take() == ["/events", "/customers", "/customers"], "the feed, then a listing"
    assert Cursor.decode(pages[-1].cursor).event == acc.events[-1]["id"]

    again = list(conn.read("customers", pages[-1].cursor))
    assert _ids(again, deleted=False) == [] and seen.take() == ["/events"]


def test_invoices_are_listed_once_with_their_lines_then_read_from_the_feed(
        emulator: InvoicedEmulator) -> None:
    acc = emulator.account
    firm = acc.create_customer({"name": "Firm"})
    bills = [acc.create_invoice({"customer": firm["id"], "items": [
        {"name": f"Work {n}", "quantity": 1, "unit_cost": 10}]}) for n in range(3)]
    seen = Requests(emulator)
    conn = connector_for(emulator, page_size=2)
    invoices = list(conn.read("invoices", None))
    assert sorted(_ids(invoices, deleted=False)) == sorted(str(b["id"]) for b in bills)
    assert seen.take() == ["/events", "/invoices", "/invoices"]
    lines = list(conn.read("lineitems", None))
    assert len(_ids(lines, deleted=False)) == 3 and seen.take() == [], "the listing is shared"

    acc.update_invoice(bills[0]["id"], {"notes": "Paid in cash"})
    acc.delete_invoice(bills[2]["id"])
    changed = list(conn.read("invoices", invoices[-1].cursor))
    assert [e.properties["notes"] for p in changed for e in p.entities if not e.deleted] == [
        "Paid in cash"]
    assert _ids(changed, deleted=True) == [str(bills[2]["id"])]
    assert seen.take() == ["/events", "/events"], "two feed pages, down to the cursor's event"


def _settle(sync: Sync) -> None:
    for _ in range(4):
        if sync.run().writes == 0:
            return
    raise AssertionError("the sync did not settle")


def test_contacts_are_listed_in_full_when_the_feed_has_dropped_the_cursors_event(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with InvoicedEmulator(api_key="key_a") as a, InvoicedEmulator(api_key="key_b") as b:
        firms = [a.account.create_customer({"name": f"Firm {n}", "type": "company"})
                 for n in range(3)]
        people = [a.account.create_contact(f["id"], {"name": f"Person {n}"})
                  for n, f in enumerate(firms)]
        systems = [SystemInstance(name, INVOICED_SPEC, connector_for(emu, page_size=2))
                   for name, emu in (("a", a), ("b", b))]
        sync = Sync(SQLiteStore(tmp_path / "state.db"), systems, SyncSettings())
        try:
            _settle(sync)
            assert len(b.account.contacts) == 3
            a.account.update_contact(firms[0]["id"], people[0]["id"], {"title": "CFO"})
            a.account.delete_contact(firms[2]["id"], people[2]["id"])
            # Invoiced has dropped every event: neither change can be told from the feed
            a.account.expire_events(a.account.now() + 1)
            assert a.account.events == []
            seen = Requests(a)
            with _warnings_of("talk.invoiced", caplog):
                sync.run()
            assert sorted((c["name"], c["title"]) for c in b.account.contacts.values()) == [
                ("Person 0", "CFO"), ("Person 1", None)]
            assert sorted(p for p in seen.take() if p.endswith("/contacts")) == sorted(
                f"/customers/{f['id']}/contacts" for f in firms), "every customer's contacts"
            assert any("Invoiced contacts: the change feed no longer reaches" in r.getMessage()
                       for r in caplog.records)
        finally:
            sync.close()


def test_lines_are_listed_in_full_when_the_feed_has_dropped_the_cursors_event(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with InvoicedEmulator(api_key="key_a") as a, InvoicedEmulator(api_key="key_b") as b:
        firm = a.account.create_customer({"name": "Firm", "type": "company"})
        bill = a.account.create_invoice({"customer": firm["id"], "items": [
            {"name": f"Work {n}", "quantity": 1, "unit_cost": 10} for n in range(3)]})
        systems = [SystemInstance(name, INVOICED_SPEC, connector_for(emu, page_size=2))
                   for name, emu in (("a", a), ("b", b))]
        sync = Sync(SQLiteStore(tmp_path / "state.db"), systems, SyncSettings())
        try:
            _settle(sync)
            [copy] = b.account.invoices.values()
            assert sorted(line["name"] for line in copy["items"]) == [
                "Work 0", "Work 1", "Work 2"]
            first, second, _third = a.account.invoices[bill["id"]]["items"]
            a.account.update_invoice(bill["id"], {"items": [
                {"id": first["id"], "quantity": 4}, {"id": second["id"]}]})
            a.account.expire_events(a.account.now() + 1)
            assert a.account.events == []
            with _warnings_of("talk.invoiced", caplog):
                sync.run()
            [copy] = b.account.invoices.values()
            assert sorted((line["name"], line["quantity"]) for line in copy["items"]) == [
                ("Work 0", 4), ("Work 1", 1)], "the change and the removal both arrived"
            assert any("Invoiced lineitems: the change feed no longer reaches" in r.getMessage()
                       for r in caplog.records)
        finally:
            sync.close()


@responses.activate
def test_a_changed_contact_whose_event_names_no_customer_is_found_by_a_full_listing(
        conn: InvoicedConnector, caplog: pytest.LogCaptureFixture) -> None:
    # Invoiced documents no ``customer`` field on a contact
    responses.get(f"{BASE}/events", json=[
        _event(60, "contact.updated", id=7, name="P7"),
        _event(50, "customer.created", id=3)])
    responses.get(f"{BASE}/customers", json=[{"id": 3, "name": "C3"}, {"id": 4, "name": "C4"}])
    responses.get(CONTACTS_OF, json=[_contact(7, 3)])
    responses.get(f"{BASE}/customers/4/contacts", json=[_contact(9, 4)])
    with _warnings_of("talk.invoiced", caplog):
        pages = list(conn.read("contacts", Cursor(event=50).encode()))
    assert sorted(_ids(pages, deleted=False)) == ["7", "9"]
    assert all(p.listing for p in pages), "a full listing: a contact missing from it is gone"
    assert Cursor.decode(pages[-1].cursor).event == 60
    assert "1 changed contact(s) in the change feed name no customer" in caplog.text
    assert sorted(_paths()) == ["/customers", "/customers/3/contacts",
                                "/customers/4/contacts", "/events"]


@responses.activate
def test_a_changed_contact_whose_event_names_no_customer_is_read_where_it_was_seen(
        conn: InvoicedConnector) -> None:
    responses.get(f"{BASE}/events", json=[_event(50, "customer.created", id=3)])
    responses.get(f"{BASE}/customers", json=[{"id": 3, "name": "C3"}])
    responses.get(CONTACTS_OF, json=[_contact(7, 3), _contact(8, 3)])
    first = list(conn.read("contacts", None))
    assert sorted(_ids(first, deleted=False)) == ["7", "8"]
    responses.calls.reset()
    responses.replace(responses.GET, f"{BASE}/events", json=[
        _event(61, "contact.deleted", id=8), _event(60, "contact.updated", id=7, name="P7"),
        _event(50, "customer.created", id=3)])
    pages = list(conn.read("contacts", first[-1].cursor))
    assert _ids(pages, deleted=False) == ["7"] and _ids(pages, deleted=True) == ["8"]
    assert not any(p.listing for p in pages)
    assert sorted(_paths()) == ["/customers/3/contacts", "/events"], "no other customer listed"
