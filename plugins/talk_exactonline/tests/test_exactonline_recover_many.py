"""Many crashed creates settled from one listing, with the same ambiguity rules as one by one."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from talk_core.connector import BatchRecovery, PendingCreate, Recovered, recover_each
from talk_core.errors import AmbiguousRecovery
from talk_core.ids import new_global_id
from talk_core.model import Entity
from talk_core.store.sqlite import SQLiteStore
from talk_exactonline.connector import LIST_PAGE, ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.testing import emulator_connector


@pytest.fixture
def emulator() -> Iterator[ExactEmulator]:
    running = ExactEmulator(minutely_limit=100_000, daily_limit=1_000_000).start()
    yield running
    running.stop()


@pytest.fixture
def connector(emulator: ExactEmulator) -> Iterator[ExactConnector]:
    store = SQLiteStore.memory()
    made = emulator_connector(emulator, store, sleep=lambda _s: None)
    assert made.division  # the token and the division are had before anything is counted
    yield made
    made.close()
    store.close()


def _pending(key: str, properties: dict[str, Any]) -> PendingCreate:
    return PendingCreate(key, properties, datetime.now(UTC))


def _requests(emulator: ExactEmulator, action: Any) -> tuple[Any, int]:
    before = emulator.tap.count
    answer = action()
    return answer, emulator.tap.count - before


def _summary(found: dict[str, Recovered]) -> dict[str, Any]:
    """Comparable answers: an id, None, or the candidates of a doubt."""
    return {key: (("doubt", frozenset(v.fitting), frozenset(v.others))
                  if isinstance(v, AmbiguousRecovery) else getattr(v, "id", None))
            for key, v in found.items()}


def test_250_accounts_are_settled_with_one_listing(
        emulator: ExactEmulator, connector: ExactConnector) -> None:
    assert isinstance(connector, BatchRecovery)
    old = emulator.state.create("Accounts", {"Name": "Account 7"})  # before: not the one
    pending, made = [], {}
    for n in range(250):
        props = {"Name": f"Account {n}", "Email": f"a{n}@example.com"}
        pending.append(_pending(new_global_id(), props))
        if n % 4:
            made[pending[-1].key] = connector.create("Accounts", props, key=pending[-1].key).id
    # recent and like account 7, but another: the create of account 7 is a doubt
    emulator.state.create("Accounts", {"Name": "Account 7", "Email": "a7@example.com",
                                       "City": "Delft"})
    found, cost = _requests(emulator, lambda: connector.recover_many("Accounts", pending))
    assert cost <= math.ceil(250 / LIST_PAGE) + 1
    answers = _summary(found)
    key7 = pending[7].key
    assert isinstance(found[key7], AmbiguousRecovery)
    assert made[key7] in found[key7].fitting
    assert old["ID"] not in found[key7].fitting + found[key7].others
    assert {k: v for k, v in answers.items() if k != key7} == {
        c.key: made.get(c.key) for c in pending if c.key != key7}
    each, cost_each = _requests(emulator, lambda: recover_each(connector, "Accounts", pending))
    assert cost_each >= 250
    assert _summary(each) == answers


def test_orders_come_with_their_lines_as_recover_answers_them(
        emulator: ExactEmulator, connector: ExactConnector) -> None:
    state = emulator.state
    account = state.create("Accounts", {"Name": "Molen BV"})
    beans = state.create("Items", {"Code": "KOF-1", "Description": "Koffie"})
    cups = state.create("Items", {"Code": "KOP-1", "Description": "Kopjes"})
    pending, made = [], {}
    for n in range(8):
        props = {"OrderedBy": account["ID"], "Description": f"Levering {n}",
                 "SalesOrderLines": [{"Item": beans["ID"], "Quantity": n + 1},
                                     {"Item": cups["ID"], "Quantity": 2}]}
        pending.append(_pending(new_global_id(), props))
        if n != 5:
            made[pending[-1].key] = connector.create("SalesOrders", props,
                                                     key=pending[-1].key)
    found, cost = _requests(emulator, lambda: connector.recover_many("SalesOrders", pending))
    assert cost == 1
    each = recover_each(connector, "SalesOrders", pending)
    assert _summary(found) == _summary(each) == {
        c.key: getattr(made.get(c.key), "id", None) for c in pending}
    for key, order in made.items():
        batch, single = found[key], each[key]
        assert batch is not None and single is not None
        assert not isinstance(batch, AmbiguousRecovery)
        assert not isinstance(single, AmbiguousRecovery)
        assert batch.properties == single.properties
        assert [x["ID"] for x in batch.properties["SalesOrderLines"]] == [
            x["ID"] for x in order.properties["SalesOrderLines"]]


def test_a_create_that_sent_nothing_to_search_by_made_nothing(
        emulator: ExactEmulator, connector: ExactConnector) -> None:
    pending = [_pending(new_global_id(), {"Status": "C"})]
    found, cost = _requests(emulator, lambda: connector.recover_many("Accounts", pending))
    assert found == {pending[0].key: None} and cost == 0


def test_a_listing_longer_than_the_creates_are_many_asks_one_by_one(
        emulator: ExactEmulator, connector: ExactConnector) -> None:
    for n in range(2 * LIST_PAGE + 1):
        emulator.state.create("Accounts", {"Name": f"Busy {n}"})
    key = new_global_id()
    made = connector.create("Accounts", {"Name": "Lost"}, key=key)
    found, cost = _requests(emulator, lambda: connector.recover_many(
        "Accounts", [_pending(key, {"Name": "Lost"})]))
    assert _summary(found) == {key: made.id}
    assert cost == 2, "the first page of the listing, then the lookup of the one create"


@pytest.mark.parametrize(("sent", "held"), [
    ("Acme", " ACME "), ("2", 2.0), (3, "3.00"), ("1e3", 1000),
    ("6F1C4A9E-8A7B-4C2D-9E0F-1A2B3C4D5E6F", "6f1c4a9e-8a7b-4c2d-9e0f-1a2b3c4d5e6f"),
])
def test_the_index_finds_what_the_filter_would(sent: Any, held: Any) -> None:
    from talk_exactonline.recovery import Listing

    record = Entity("x", {"Name": held, "Modified": None})
    listing = Listing("Accounts", [record, Entity("y", {"Name": "other"})])
    assert listing.candidates({"Name": sent}, None) == [record]
