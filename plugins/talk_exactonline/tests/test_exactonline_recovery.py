"""A create whose answer was lost is found again by what it sent, and never by a look-alike.

Exact has no idempotency key and no field free for a marker, so ``recover``
looks the record up by what the create sent. An account with two similar
orders is the case that matters: a record older than the create is not it,
of the rest only one holding what was sent is, and two that could both be it
are left to a person instead of linking the wrong one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from talk_core.config import Secret
from talk_core.emulation import Hangup, TappedRequest
from talk_core.errors import AmbiguousRecovery
from talk_core.ids import new_global_id
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemContext
from talk_exactonline.connector import ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.plugin import EXACT_ONLINE, make_connector
from talk_exactonline.recovery import CLOCK_SKEW
from talk_exactonline.testing import emulator_connector


def _order(account: str, lines: list[tuple[str, float]], **fields: Any) -> dict[str, Any]:
    return {"OrderedBy": account, "Description": "Weekly delivery", "Currency": "EUR",
            "SalesOrderLines": [{"Item": item, "Quantity": qty, "UnitPrice": 3.5}
                                for item, qty in lines], **fields}


@pytest.fixture
def exact(exact_emulator: ExactEmulator, tmp_path: Path
          ) -> Iterator[ExactConnector]:
    store = SQLiteStore(tmp_path / "state.db")
    connector = emulator_connector(exact_emulator, store, sleep=lambda _s: None)
    yield connector
    connector.close()
    store.close()


@pytest.fixture
def shop(exact_emulator: ExactEmulator) -> dict[str, str]:
    state = exact_emulator.state
    return {"account": state.create("Accounts", {"Name": "Molen BV"})["ID"],
            "beans": state.create("Items", {"Code": "KOF-1", "Description": "Koffie"})["ID"],
            "cups": state.create("Items", {"Code": "KOP-1", "Description": "Kopjes"})["ID"]}


def _made_earlier(emulator: ExactEmulator, body: dict[str, Any], ago: float) -> str:
    """A record made (and last changed) ``ago`` seconds before now, as Exact dates it."""
    state, clock = emulator.state, emulator.state.clock
    state.clock = lambda: clock() - ago
    try:
        return str(state.create("SalesOrders", body)["OrderID"])
    finally:
        state.clock = clock


# -- the connector -------------------------------------------------------------------------

def test_an_older_order_alike_is_not_taken_for_the_one_the_create_made(
        exact: ExactConnector, exact_emulator: ExactEmulator,
        shop: dict[str, str]) -> None:
    sent = _order(shop["account"], [(shop["beans"], 2)])
    key = new_global_id()
    made = exact.create("SalesOrders", sent, key=key)
    # the same customer's order from last week, the same in every field, listed after it
    older = _made_earlier(exact_emulator, sent, ago=7 * 86400)
    assert list(exact_emulator.state.records["SalesOrders"])[-1] == older

    found = exact.recover("SalesOrders", key, sent)
    assert found is not None and found.id == made.id
    assert [x["Quantity"] for x in found.properties["SalesOrderLines"]] == [2]


def test_of_two_recent_orders_the_one_holding_what_was_sent_is_taken(
        exact: ExactConnector, exact_emulator: ExactEmulator,
        shop: dict[str, str]) -> None:
    sent = _order(shop["account"], [(shop["beans"], 2), (shop["cups"], 6)])
    key = new_global_id()
    made = exact.create("SalesOrders", sent, key=key)
    # made by someone at the same time: same header, other lines
    exact_emulator.state.create("SalesOrders", _order(shop["account"], [(shop["beans"], 3)]))

    found = exact.recover("SalesOrders", key, sent)
    assert found is not None and found.id == made.id


def test_two_orders_holding_what_was_sent_are_not_guessed_between(
        exact: ExactConnector, exact_emulator: ExactEmulator,
        shop: dict[str, str]) -> None:
    sent = _order(shop["account"], [(shop["beans"], 2)])
    key = new_global_id()
    made = exact.create("SalesOrders", sent, key=key)
    twin = exact_emulator.state.create("SalesOrders", sent)["OrderID"]

    with pytest.raises(AmbiguousRecovery) as caught:
        exact.recover("SalesOrders", key, sent)
    assert set(caught.value.fitting) == {made.id, twin} and caught.value.others == ()
    assert made.id in str(caught.value) and twin in str(caught.value)


def test_a_recent_order_that_only_looks_like_it_is_not_taken_either(
        exact: ExactConnector, exact_emulator: ExactEmulator,
        shop: dict[str, str]) -> None:
    sent = _order(shop["account"], [(shop["beans"], 2)])
    # the create never reached Exact; an order alike was made (or edited) since
    other = exact_emulator.state.create(
        "SalesOrders", _order(shop["account"], [(shop["beans"], 5)]))["OrderID"]

    with pytest.raises(AmbiguousRecovery) as caught:
        exact.recover("SalesOrders", new_global_id(), sent)
    assert caught.value.fitting == () and caught.value.others == (other,)


def test_an_order_changed_only_before_the_create_is_never_a_candidate(
        exact: ExactConnector, exact_emulator: ExactEmulator,
        shop: dict[str, str]) -> None:
    sent = _order(shop["account"], [(shop["beans"], 2)])
    _made_earlier(exact_emulator, sent, ago=CLOCK_SKEW.total_seconds() + 60)
    assert exact.recover("SalesOrders", new_global_id(), sent) is None


def test_contacts_and_items_are_found_by_what_was_sent(
        exact: ExactConnector, shop: dict[str, str]) -> None:
    contact = {"Account": shop["account"], "FullName": "Anna de Vries",
               "Email": "anna@molen.nl", "City": "Utrecht"}
    key = new_global_id()
    made = exact.create("Contacts", contact, key=key)
    found = exact.recover("Contacts", key, contact)
    assert found is not None and found.id == made.id
    item = {"Code": "MOL-200", "Description": "Koffiemolen", "CostPriceStandard": 89}
    key = new_global_id()
    made = exact.create("Items", item, key=key)
    found = exact.recover("Items", key, item)
    assert found is not None and found.id == made.id


# -- Exact's own answers (responses): padded codes, /Date/ dates, numbers as numbers ----------

BASE = "https://start.exactonline.nl"
ACCOUNT = "6b3b4b8e-8a56-4a0b-9d0e-3f2a1c5d7e01"
OLD, NEW = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ITEM = "33333333-3333-4333-8333-333333333333"


def _exact_date(seconds: float) -> str:
    return f"/Date({int(seconds * 1000)})/"


def _answer(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"d": {"results": records}}


@responses.activate
def test_recovery_reads_exact_answers_as_exact_writes_them(tmp_path: Path) -> None:
    responses.add(responses.POST, f"{BASE}/api/oauth2/token", json={
        "access_token": "access-1", "token_type": "bearer", "expires_in": "600",
        "refresh_token": "refresh-1"})
    now = time.time()
    header = {"OrderedBy": ACCOUNT, "Description": "Levering", "Currency": "EUR",
              "OrderDate": _exact_date(1_717_200_000), "Discount": 2.5}
    # Exact lists the older order last: taking the last match would take it
    responses.add(responses.GET, f"{BASE}/api/v1/42/salesorder/SalesOrders", json=_answer([
        {"OrderID": NEW, **header, "Modified": _exact_date(now)},
        {"OrderID": OLD, **header, "Modified": _exact_date(now - 30 * 86400)},
    ]))
    responses.add(responses.GET, f"{BASE}/api/v1/42/salesorder/SalesOrderLines", json=_answer([
        {"ID": "44444444-4444-4444-8444-444444444444", "OrderID": NEW, "Item": ITEM,
         "Quantity": 2.0, "UnitPrice": 3.5, "LineNumber": 1}]))
    store = SQLiteStore(tmp_path / "state.db")
    connector = _responses_connector(store)
    sent = {"OrderedBy": ACCOUNT, "Description": "Levering", "Currency": "EUR",
            "OrderDate": "2024-06-01", "Discount": "2.5",
            "SalesOrderLines": [{"Item": ITEM.upper(), "Quantity": 2, "UnitPrice": "3.50"}]}
    try:
        found = connector.recover("SalesOrders", new_global_id(), sent)
    finally:
        connector.close()
        store.close()
    assert found is not None and found.id == NEW
    [lookup, lines] = [c.request.url for c in responses.calls
                       if "/api/v1/42/" in (c.request.url or "")]
    assert parse_qs(urlsplit(lookup).query)["$filter"] == [
        f"OrderedBy eq guid'{ACCOUNT}' and Description eq 'Levering'"]
    assert parse_qs(urlsplit(lines).query)["$filter"] == [f"OrderID eq guid'{NEW}'"]


def _responses_connector(store: SQLiteStore) -> ExactConnector:
    """A connector for ``BASE``, division 42, whose first token call ``responses`` answers."""
    return make_connector(options={
        "base_url": BASE, "client_id": "client", "client_secret": Secret("secret"),
        "refresh_token": Secret("refresh-0"), "division": 42,
    }, context=SystemContext("erp", store), sleep=lambda _s: None)


# -- the engine: a lost answer, a look-alike made meanwhile, and a person settling it ----------

class Divisions:
    """Two Exact divisions synced by the engine: ``a``'s orders go to ``b``."""

    def __init__(self, a: ExactEmulator, b: ExactEmulator, path: Path) -> None:
        self.a, self.b, self.path = a, b, path

    def run(self) -> RunResult:
        store = SQLiteStore(self.path)
        systems = [SystemInstance(name, EXACT_ONLINE,
                                  emulator_connector(emu, store, name, sleep=lambda _s: None))
                   for name, emu in (("a", self.a), ("b", self.b))]
        sync = Sync(store, systems, SyncSettings())
        try:
            return sync.run()
        finally:
            sync.close()

    def journal(self) -> list[str]:
        store = SQLiteStore(self.path)
        try:
            return [e.datatype for e in store.journal_pending()]
        finally:
            store.close()


@pytest.fixture
def divisions(tmp_path: Path) -> Iterator[Divisions]:
    a = ExactEmulator(division=111, minutely_limit=10_000).start()
    b = ExactEmulator(division=222, minutely_limit=10_000).start()
    yield Divisions(a, b, tmp_path / "state.db")
    a.stop()
    b.stop()


def _hang_up_after_making_an_order(request: TappedRequest) -> None:
    """b stores the order and the connection drops: talk never hears of it."""
    if request.stage == "applied" and request.method == "POST" \
            and request.path.endswith("/salesorder/SalesOrders"):
        raise Hangup


def test_a_lost_order_with_a_twin_waits_for_a_person_and_is_then_linked(
        divisions: Divisions) -> None:
    a, b = divisions.a, divisions.b
    account = a.state.create("Accounts", {"Name": "Molen BV", "City": "Utrecht"})
    beans = a.state.create("Items", {"Code": "KOF-1", "Description": "Koffie"})
    a.state.create("SalesOrders", _order(account["ID"], [(beans["ID"], 2)]))

    b.tap.hook = _hang_up_after_making_an_order
    lost = divisions.run()
    b.tap.hook = None
    [made] = b.state.records["SalesOrders"].values()
    assert divisions.journal() == ["SalesOrders"] and lost.dead_letters

    # someone copies the order in b before the next run: two records hold what was sent
    twin = b.state.create("SalesOrders", {k: v for k, v in made.items() if k in (
        "OrderedBy", "Description", "Currency")} | {"SalesOrderLines": [
            {"Item": x["Item"], "Quantity": x["Quantity"], "UnitPrice": x["UnitPrice"]}
            for x in b.state.records["SalesOrderLines"].values()]})
    held = divisions.run()
    assert held.status == "done"
    assert set(b.state.records["SalesOrders"]) == {made["OrderID"], twin["OrderID"]}
    [letter] = [x for x in held.dead_letters if x["datatype"] == "SalesOrders"]
    assert "talk does not guess" in letter["error"]
    assert made["OrderID"] in letter["error"] and twin["OrderID"] in letter["error"]
    assert divisions.journal() == ["SalesOrders"]
    # neither is shared while it may be the lost one: a still has its one order
    assert len(a.state.records["SalesOrders"]) == 1
    again = divisions.run()  # held again, still not made a third time
    assert len(b.state.records["SalesOrders"]) == 2 and divisions.journal() == ["SalesOrders"]
    assert again.counts.get(("b", "SalesOrders"), Counter())["create"] == 0

    # the person deletes the copy: the next run links the order the create made
    b.state.delete("SalesOrders", twin["OrderID"])
    settled = divisions.run()
    assert settled.status == "done" and divisions.journal() == []
    assert list(b.state.records["SalesOrders"]) == [made["OrderID"]]
    quiet = divisions.run()
    assert quiet.writes == 0 and not quiet.dead_letters
    assert list(b.state.records["SalesOrders"]) == [made["OrderID"]]
    assert len(a.state.records["SalesOrders"]) == 1
    assert [x["Quantity"] for x in b.state.records["SalesOrderLines"].values()] == [2]
