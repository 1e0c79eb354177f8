"""An item's new price: archived and added again, and never lost between the two calls."""

from __future__ import annotations

import pytest

from talk_core.emulation import Hangup, TappedRequest
from talk_core.errors import TransientError
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.testing import connector_for, invoiced_emulator  # noqa: F401


def _hang_up_on_adding(request: TappedRequest) -> None:
    """The connection drops before the item is added again: as if talk was killed there."""
    if request.stage == "received" and request.method == "POST" and request.path == "/items":
        raise Hangup


def test_an_item_archived_but_not_added_again_is_still_there_and_is_finished(
        invoiced_emulator: InvoicedEmulator) -> None:  # noqa: F811
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
        invoiced_emulator: InvoicedEmulator) -> None:  # noqa: F811
    account = invoiced_emulator.account
    account.create_item({"id": "kept", "name": "Kept", "unit_cost": 5})
    account.create_item({"id": "old", "name": "Old", "unit_cost": 20})
    account.delete_item("old")
    connector = connector_for(invoiced_emulator)
    listed = [e.id for page in connector.read("items", None) for e in page.entities]
    connector.close()
    assert listed == ["kept"]
