"""Settling a crashed create: what the connector finds, checked against the links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from topology import ERP

from talk_core.errors import AmbiguousRecovery
from talk_core.ids import issued_at, new_global_id
from talk_core.model import Entity, Link
from talk_core.store.base import JournalEntry
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.execute import made_of
from talk_core.sync.plan import Plan
from talk_core.sync.records import LOST, lost_links
from talk_core.sync.recovery import Held, as_written, lost_commit, recovered

ENTRY = JournalEntry("k1", "agreement", "g-new", "erp", "SalesOrders",
                     {"properties": {"OrderedBy": "acme"}})


class Finder:
    """A connector's ``recover`` that answers ``found`` or raises ``ambiguous``."""

    def __init__(self, found: Entity | None = None,
                 ambiguous: AmbiguousRecovery | None = None) -> None:
        self.found, self.ambiguous = found, ambiguous
        self.got: list[str] = []

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        if self.ambiguous is not None:
            raise self.ambiguous
        return self.found

    def get(self, datatype: str, id: str) -> Entity | None:
        self.got.append(id)
        return Entity(id, {"OrderedBy": "acme"})


@pytest.fixture
def store() -> Iterator[SQLiteStore]:
    s = SQLiteStore.memory()
    with s.transaction():
        s.put_link(Link("agreement", "g-old", "erp", "SalesOrders", "o-1"))
    yield s
    s.close()


def test_a_record_linked_to_another_entity_is_not_what_the_create_made(
        store: SQLiteStore) -> None:
    assert recovered(store, Finder(Entity("o-1", {})), ENTRY) is None  # type: ignore[arg-type]
    found = recovered(store, Finder(Entity("o-2", {})), ENTRY)  # type: ignore[arg-type]
    assert found is not None and found.id == "o-2"


def test_of_two_fitting_records_the_one_not_linked_elsewhere_is_taken(
        store: SQLiteStore) -> None:
    finder = Finder(ambiguous=AmbiguousRecovery("two", fitting=("o-1", "o-2")))
    found = recovered(store, finder, ENTRY)  # type: ignore[arg-type]
    assert found is not None and found.id == "o-2" and finder.got == ["o-2"]


def test_candidates_all_linked_elsewhere_mean_the_create_made_none(store: SQLiteStore) -> None:
    finder = Finder(ambiguous=AmbiguousRecovery("one", others=("o-1",)))
    assert recovered(store, finder, ENTRY) is None  # type: ignore[arg-type]
    assert finder.got == []


@pytest.mark.parametrize("fitting,others", [(("o-2", "o-3"), ()), ((), ("o-2",)),
                                            (("o-1",), ("o-2", "o-3"))])
def test_what_is_still_not_one_record_is_held_for_a_person(
        store: SQLiteStore, fitting: tuple[str, ...], others: tuple[str, ...]) -> None:
    finder = Finder(ambiguous=AmbiguousRecovery("Exact: alike", fitting=fitting, others=others))
    with pytest.raises(Held) as caught:
        recovered(store, finder, ENTRY)  # type: ignore[arg-type]
    left = tuple(i for i in fitting + others if i != "o-1")
    assert caught.value.candidates == left
    message = str(caught.value)
    assert "erp SalesOrders" in message and "g-new" in message and "Exact: alike" in message
    assert "does not guess" in message and "Delete in erp" in message
    assert finder.got == []


def test_a_journal_key_tells_when_it_was_made() -> None:
    when = issued_at(new_global_id())
    assert when is not None and when.tzinfo is not None
    assert issued_at("talk-contract-1") is None
    assert issued_at("f" * 32) is None  # a time from the far future: not one of ours


# -- a found record linked as talk wrote it ---------------------------------------------

MADE = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def _found(updated: datetime | None, created: datetime | None) -> Entity:
    """An erp account talk created with a name only, where the system put an e-mail."""
    return Entity("E1", {"Name": "org-1", "Email": "info@example.no", "City": "Oslo"},
                  updated, created=created)


def test_a_value_in_a_field_talk_did_not_send_is_the_systems_own_while_nobody_changed_it(
        ) -> None:
    written = as_written(ERP, "Accounts", _found(MADE, MADE), {"Name": "org-1"})
    assert written.properties == {"Name": "org-1", "Email": "info@example.no", "City": "Oslo"}


def test_a_record_changed_since_it_was_made_holds_edits_where_talk_sent_nothing() -> None:
    found = _found(MADE + timedelta(seconds=1), MADE)
    written = as_written(ERP, "Accounts", found, {"Name": "org-2"})
    assert written.properties == {"Name": "org-2", "Email": None, "City": None}
    assert (written.updated, written.created) == (found.updated, MADE)


def test_a_record_that_does_not_tell_when_it_was_made_is_taken_as_unchanged() -> None:
    for found in (_found(MADE, None), _found(None, MADE)):
        written = as_written(ERP, "Accounts", found, {"Name": "org-1"})
        assert written.properties["Email"] == "info@example.no"


def test_lines_sent_inline_are_as_changed_as_their_parent() -> None:
    lines = [{"ID": "l1", "OrderID": "O1", "Item": "I1", "Quantity": 2}]
    sent = {"OrderedBy": "E1", "SalesOrderLines": [{"Item": "I1"}]}
    order = Entity("O1", {"OrderedBy": "E1", "OrderNumber": "7", "SalesOrderLines": lines},
                   MADE + timedelta(minutes=5), created=MADE)
    written = as_written(ERP, "SalesOrders", order, sent)
    assert written.properties["OrderNumber"] is None
    assert written.properties["SalesOrderLines"] == [
        {"ID": "l1", "OrderID": "O1", "Item": "I1", "Quantity": None}]
    order.updated = MADE
    kept = as_written(ERP, "SalesOrders", order, sent)
    assert kept.properties["OrderNumber"] == "7"
    assert kept.properties["SalesOrderLines"][0]["Quantity"] == 2


# -- the new entity whose commit a crash lost --------------------------------------------

CREATED = JournalEntry("k2", "human", "g-per", "ledger", "customers", {
    "properties": {"type": "person", "name": "per-1", "email": "a@x.no"},
    "values": {"name": "per-1", "email": "a@x.no"}, "read": [["erp", "Contacts", "C1"]]})


def test_a_lost_commit_is_staged_with_the_entity_and_the_records_it_was_made_of(
        store: SQLiteStore) -> None:
    rows = lost_commit(store, CREATED)
    assert {(r.kind, r.global_id) for r in rows} == {(LOST, "g-per")}
    values, links = lost_links(rows)
    assert values == {"name": "per-1", "email": "a@x.no"}
    assert links == {"erp": Link("human", "g-per", "erp", "Contacts", "C1", None,
                                 {"name": "per-1", "email": "a@x.no"})}


def test_an_entity_stored_since_the_crash_has_no_lost_commit(store: SQLiteStore) -> None:
    with store.transaction():
        store.put_global("human", "g-per", {"name": "per-1"})
    assert lost_commit(store, CREATED) == []


def test_the_create_of_an_entity_known_before_has_no_lost_commit(store: SQLiteStore) -> None:
    known = JournalEntry("k3", "human", "g-per", "ledger", "customers",
                         {"properties": {"name": "per-1"}, "values": {"name": "per-1"}})
    assert lost_commit(store, known) == []


def test_what_the_journal_leaves_out_is_what_the_entity_and_the_values_sent_hold(
        store: SQLiteStore) -> None:
    """An entity with more than was sent, made of two records that each held less."""
    entity = {"name": "per-1", "email": "a@x.no", "phone": "1"}
    entry = JournalEntry("k4", "human", "g-per", "ledger", "customers", {
        "properties": {}, "values": {"name": "per-1", "email": "a@x.no"}, "entity": entity,
        "read": [["erp", "Contacts", "C1", {"name": "per-1", "email": "a@x.no"}],
                 ["crm", "contact", "P1", {"name": "per-1", "phone": "1"}]]})
    values, links = lost_links(lost_commit(store, entry))
    assert values == entity
    assert {s: link.values for s, link in links.items()} == {
        "erp": {"name": "per-1", "email": "a@x.no"}, "crm": {"name": "per-1", "phone": "1"}}


def test_a_lost_commit_is_what_the_create_journalled_of_it(store: SQLiteStore) -> None:
    """What ``made_of`` journals, ``lost_commit`` reads back: the plan's values and links."""
    values = {"name": "per-1", "email": "a@x.no"}
    plan = Plan("human", "g-per", dict(values), is_new=True, links=[
        Link("human", "g-per", "erp", "Contacts", "C1", "h1", {**values, "city": None})])
    payload = {"properties": {}, "values": values, **made_of(plan, values)}
    assert payload["read"] == [["erp", "Contacts", "C1"]] and "entity" not in payload
    back, links = lost_links(lost_commit(store, JournalEntry(
        "k5", "human", "g-per", "ledger", "customers", payload)))
    assert back == values
    assert [(lk.datatype, lk.external_id, lk.values) for lk in links.values()] == [
        ("Contacts", "C1", values)]
    assert made_of(attrs.evolve(plan, is_new=False), values) == {}
    fuller = {**values, "phone": "1"}
    more = made_of(attrs.evolve(plan, values=fuller), values)
    assert more == {"read": [["erp", "Contacts", "C1", values]], "entity": fuller}
