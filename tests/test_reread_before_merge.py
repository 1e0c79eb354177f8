"""A record read again before its first reading was merged stays one record everywhere.

A run that stops after staging records but before merging them (killed, or
Ctrl-C) leaves them in the inbox; the next run reads them again (a full
listing reads everything, an edit shows up in an incremental read). Where
no match key ties the two readings (these companies have no e-mail, org
number or postal code), each must not become an entity of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from systems import SharedClock, make_connectors, make_sync

from talk_core.sync.engine import Sync
from talk_core.sync.settings import DatatypeSettings

NO_KEYS = {"organisation": DatatypeSettings(), "human": DatatypeSettings()}


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


@pytest.fixture
def conns(clock: SharedClock) -> dict[str, Any]:
    return make_connectors(clock)


def _stop_once_read(sync: Sync, system: str) -> None:
    """Stop the run at the first page of ``system``: it is staged, nothing merged."""

    def progress(event: str, **info: object) -> None:
        if event == "page" and info["system"] == system:
            sync.request_stop()

    sync._progress = progress


def _titles(conns: dict[str, Any], system: str, datatype: str, field: str) -> list[str]:
    return sorted(str(r[field]) for r in conns[system].records(datatype).values())


def test_a_full_listing_read_again_after_a_stop_creates_nothing_twice(
        tmp_path: Path, conns: dict[str, Any], clock: SharedClock) -> None:
    for i in range(3):
        conns["shop"].put("companies", {"title": f"Shop {i}"})
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes=NO_KEYS)
    _stop_once_read(sync, "shop")
    assert sync.run().status == "interrupted"
    assert sync.store.inbox_count("organisation") == 3
    sync._progress = None
    assert sync.run().status == "done"
    assert _titles(conns, "erp", "Accounts", "Name") == ["Shop 0", "Shop 1", "Shop 2"]
    assert sync.store.count_links("organisation", "shop") == 3
    assert sync.store.inbox_count() == 0
    assert sync.run().writes == 0


def test_an_edit_read_before_the_first_reading_merged_wins_and_stays_one(
        tmp_path: Path, conns: dict[str, Any], clock: SharedClock) -> None:
    made = [conns["crm"].put("customers", {"name": f"Firm {i}", "type": "company"})
            for i in range(2)]
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes=NO_KEYS)
    _stop_once_read(sync, "crm")
    assert sync.run().status == "interrupted"
    conns["crm"].update("customers", made[0].id, {"city": "Bergen"})
    sync._progress = None
    assert sync.run().status == "done"
    accounts = conns["erp"].records("Accounts").values()
    assert sorted((a["Name"], a.get("City") or "") for a in accounts) == [
        ("Firm 0", "Bergen"), ("Firm 1", "")]
    assert _titles(conns, "shop", "companies", "title") == ["Firm 0", "Firm 1"]
    assert sync.store.inbox_count() == 0
