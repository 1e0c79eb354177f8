"""An incremental read that lists everything (``Page.listing``) tells deletes by absence.

A connector that lost track of its changes (Invoiced events that expired)
lists every live record once. What is linked and not listed is gone, and
the read's cursor moves only together with those deletes: a run stopped
before them lists everything again instead of forgetting them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from systems import SharedClock, make_connectors, make_sync

from talk_core.connector import Page
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync import collect
from talk_core.testing import InMemoryConnector


def _lists_only(connector: InMemoryConnector, datatype: str, keep: set[str]) -> None:
    """``datatype`` answers one listing page of the records in ``keep``, whatever the cursor."""

    def read(name: str, cursor: str | None) -> Iterator[Page]:
        if name != datatype:
            yield from InMemoryConnector.read(connector, name, cursor)
            return
        live = [e for page in InMemoryConnector.read(connector, name, None)
                for e in page.entities if e.id in keep and not e.deleted]
        yield Page(live, "after-listing", listing=True)

    connector.read = read  # type: ignore[method-assign]


def _cursor(path: Path) -> str | None:
    store = SQLiteStore(path)
    try:
        return store.get_cursor("crm", "customers")
    finally:
        store.close()


def test_a_listing_read_deletes_what_it_no_longer_lists_and_then_moves_its_cursor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    ids = [conns["crm"].put("customers", {"name": f"Firm {n}", "type": "company"}).id
           for n in range(5)]
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        sync.run()
    assert conns["erp"].count("Accounts") == 5
    before = _cursor(path)
    _lists_only(conns["crm"], "customers", {ids[0]})

    def crash(*_args: object) -> None:
        raise RuntimeError("the process dies here")

    with monkeypatch.context() as patched:
        patched.setattr(collect, "_full_listing_deletes", crash)
        with make_sync(path, conns, clock) as sync, pytest.raises(RuntimeError):
            sync.run()
    assert _cursor(path) == before, "a crash before the deletes are staged keeps the cursor"

    with make_sync(path, conns, clock, max_delete_fraction=0.25, min_delete_count=0) as sync:
        assert sync.run().status == "breaker"
    assert conns["erp"].count("Accounts") == 5, "the breaker stops before deleting"

    with make_sync(path, conns, clock, min_delete_count=0) as sync:
        assert sync.run().status == "done"
    assert conns["erp"].count("Accounts") == 1
    assert _cursor(path) == "after-listing"
