"""An item's new price: archived and added again, and never lost between the two calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from talk_core.emulation import Hangup, TappedRequest
from talk_core.errors import RecordError, StateError, TransientError
from talk_core.store.sqlite import SQLiteStore
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.replacing import ReplacementNote
from talk_invoiced.testing import connector_for


def _hang_up_on_adding(request: TappedRequest) -> None:
    """The connection drops before the item is added again: as if talk was killed there."""
    if request.stage == "received" and request.method == "POST" and request.path == "/items":
        raise Hangup


def test_an_item_archived_but_not_added_again_is_still_there_and_is_finished(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    account.create_item({"id": "widget", "name": "Widget", "unit_cost": 20,
                         "metadata": {"talk_code": "WIDGET"}})
    connector = connector_for(invoiced_emulator)
    invoiced_emulator.tap.hook = _hang_up_on_adding
    with pytest.raises(TransientError):
        connector.update("items", "widget", {"unit_cost": 25})
    invoiced_emulator.tap.hook = None
    assert account.items["widget"]["archived"]  # half way

    # the next run reads it as it was, not as deleted ...
    listed = [e for page in connector.read("items", None) for e in page.entities]
    assert [(e.id, e.deleted, e.properties["unit_cost"]) for e in listed] == [
        ("widget", False, 20)]
    # ... and its update (planned again) finishes the replacement
    done = connector.update("items", "widget", {"unit_cost": 25})
    assert (done.id, done.properties["unit_cost"]) == ("widget", 25)
    item = account.items["widget"]
    assert not item.get("archived") and item["unit_cost"] == 25
    assert item["metadata"] == {"talk_code": "WIDGET"}
    listed = [e for page in connector.read("items", None) for e in page.entities]
    assert [(e.id, e.properties["unit_cost"]) for e in listed] == [("widget", 25)]
    connector.close()


def test_an_item_a_person_archived_reads_as_gone(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    account.create_item({"id": "kept", "name": "Kept", "unit_cost": 5})
    account.create_item({"id": "old", "name": "Old", "unit_cost": 20})
    account.delete_item("old")
    connector = connector_for(invoiced_emulator)
    listed = [e.id for page in connector.read("items", None) for e in page.entities]
    connector.close()
    assert listed == ["kept"]


# -- the note of replacements begun, kept in the state ---------------------------------


def _gets(emulator: InvoicedEmulator) -> list[str]:
    seen: list[str] = []

    def hook(request: TappedRequest) -> None:
        if request.stage == "received" and request.method == "GET":
            seen.append(request.path.split("?")[0] + ("?archived" if "archived" in
                                                      request.path else ""))

    emulator.tap.hook = hook
    return seen


def test_items_are_read_with_one_request_while_no_replacement_is_unfinished(
        invoiced_emulator: InvoicedEmulator, tmp_path: Path) -> None:
    invoiced_emulator.account.create_item({"id": "widget", "name": "Widget", "unit_cost": 20})
    store = SQLiteStore(str(tmp_path / "state.db"))
    connector = connector_for(invoiced_emulator, store=store, name="billing")
    connector.update("items", "widget", {"unit_cost": 25})  # begun and finished
    sent = _gets(invoiced_emulator)
    listed = [e.id for page in connector.read("items", None) for e in page.entities]
    assert listed == ["widget"]
    assert sent == ["/items"], "no look for archived items"
    connector.close()
    store.close()


def test_a_replacement_stopped_half_way_is_found_by_the_next_process(
        invoiced_emulator: InvoicedEmulator, tmp_path: Path) -> None:
    account = invoiced_emulator.account
    account.create_item({"id": "widget", "name": "Widget", "unit_cost": 20})
    path = str(tmp_path / "state.db")
    store = SQLiteStore(path)
    stopped = connector_for(invoiced_emulator, store=store, name="billing")
    invoiced_emulator.tap.hook = _hang_up_on_adding
    with pytest.raises(TransientError):
        stopped.update("items", "widget", {"unit_cost": 25})
    stopped.close()
    store.close()  # the process is gone; its note is in the state file

    store = SQLiteStore(path)
    connector = connector_for(invoiced_emulator, store=store, name="billing")
    sent = _gets(invoiced_emulator)
    listed = [(e.id, e.deleted) for page in connector.read("items", None)
              for e in page.entities]
    assert listed == [("widget", False)]
    assert sent == ["/items", "/items?archived"]
    invoiced_emulator.tap.hook = None
    connector.update("items", "widget", {"unit_cost": 25})
    sent = _gets(invoiced_emulator)
    assert [e.id for page in connector.read("items", None) for e in page.entities] == [
        "widget"]
    assert sent == ["/items"], "the finished replacement is forgotten"
    connector.close()
    store.close()


def test_a_noted_replacement_finished_elsewhere_is_forgotten_after_one_look(
        invoiced_emulator: InvoicedEmulator, tmp_path: Path) -> None:
    invoiced_emulator.account.create_item({"id": "widget", "name": "Widget", "unit_cost": 20})
    store = SQLiteStore(str(tmp_path / "state.db"))
    ReplacementNote("billing", store).begin("widget")  # a stale note: nothing is archived
    connector = connector_for(invoiced_emulator, store=store, name="billing")
    sent = _gets(invoiced_emulator)
    list(connector.read("items", None))
    list(connector.read("items", None))
    assert sent == ["/items", "/items?archived", "/items"]
    connector.close()
    store.close()


class _BrokenState:
    """A state that can be read but not written, as a full disk or a held lock leaves it."""

    def get_note(self, _instance: str, _name: str) -> None:
        return None

    def put_note(self, _instance: str, _name: str, _value: object, *, at_once: bool = False
                 ) -> None:
        raise StateError("database is locked")


def test_a_replacement_that_cannot_be_noted_is_not_begun(
        invoiced_emulator: InvoicedEmulator) -> None:
    account = invoiced_emulator.account
    account.create_item({"id": "widget", "name": "Widget", "unit_cost": 20})
    connector = connector_for(invoiced_emulator, store=_BrokenState(), name="billing")
    with pytest.raises(RecordError, match=r"items widget: .*cannot be noted.*database is locked"):
        connector.update("items", "widget", {"unit_cost": 25})
    item = account.items["widget"]
    assert not item.get("archived") and item["unit_cost"] == 20
    connector.close()
