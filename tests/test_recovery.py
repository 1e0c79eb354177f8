"""Settling a crashed create: what the connector finds, checked against the links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from topology import ERP

from talk_core.errors import AmbiguousRecovery
from talk_core.ids import issued_at, new_global_id
from talk_core.model import Entity, Link
from talk_core.store.base import JournalEntry
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.recovery import Held, as_written, recovered

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
