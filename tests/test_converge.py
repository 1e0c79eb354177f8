"""One run converges: what talk writes through one facet of a record reaches its other facets.

A ledger's company customer is an organisation and, through its address, a
location. An edit that reaches the customer through one facet changes what
the other facet holds; the run that writes it carries that on too, so a
second run straight after writes nothing and every system holds the edit.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from facets import CUSTOMERS, connectors, make_sync
from systems import SharedClock

from talk_core.model import Entity
from talk_core.sync.engine import MAX_EXTRA_ROUNDS
from talk_core.sync.result import RunResult
from talk_core.sync.settings import DatatypeSettings
from talk_core.testing import InMemoryConnector
from talk_core.testing.memory import SimulatedCrash

ACME = {"name": "Acme AS", "type": "company", "email": "post@acme.no", "street": "Torget 3",
        "city": "Oslo", "phone": "+47 22 00 00 00"}


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


class World:
    """Acme in ``left``, copied by a first sync into the other systems."""

    def __init__(self, path: Path, clock: SharedClock, *names: str, **settings: Any) -> None:
        self.conns = connectors(clock, "left", *names)
        self.acme = self.conns["left"].put("customers", ACME).id
        self.sync = make_sync(path, self.conns, clock, **settings)
        first = self.sync.run()
        assert first.exit_code == 0, first.as_dict()
        assert self.sync.run().writes == 0

    def one(self, system: str, datatype: str) -> tuple[str, dict[str, Any]]:
        records = self.conns[system].records(datatype)
        assert len(records) == 1, records
        return next(iter(records.items()))

    def streets(self) -> dict[str, Any]:
        """Where Acme's street is in each system, and in the two global entities."""
        out: dict[str, Any] = {}
        for system in self.conns:
            if system in ("left", "right"):
                out[system] = self.one(system, "customers")[1]["street"]
            elif system == "shop":
                out[system] = self.one(system, "clients")[1]["street"]
            elif system == "erp":
                out[system] = self.one(system, "Addresses")[1]["AddressLine1"]
        store = self.sync.store
        for global_type in ("organisation", "location"):
            link = store.get_link("left", "customers", self.acme, global_type)
            assert link is not None
            held = store.get_global(global_type, link.global_id)
            assert held is not None
            out[global_type] = held["address_line1"]
        return out

    def settled(self) -> RunResult:
        """The run straight after: nothing to write, nothing left in the inbox."""
        again = self.sync.run()
        assert again.writes == 0, again.as_dict()
        assert again.conflicts == []
        assert self.sync.store.inbox_count() == 0
        return again


def test_an_address_edited_through_the_organisation_reaches_the_location_in_one_run(
        tmp_path: Path, clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "right", "shop", "erp")
    client_id, _ = world.one("shop", "clients")
    world.conns["shop"].edit("clients", client_id, street="Brosundet 9")
    result = world.sync.run()
    assert result.exit_code == 0 and result.conflicts == []
    # the ledgers take it as organisation data; their location facet takes it on to erp
    assert world.streets() == {s: "Brosundet 9" for s in (
        "left", "right", "shop", "erp", "organisation", "location")}
    assert result.counts[("erp", "Addresses")]["update"] == 1
    assert result.rounds == 1  # location comes after organisation: no second round
    world.settled()


def test_an_address_edited_as_a_location_reaches_the_organisation_in_a_second_round(
        tmp_path: Path, clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "right", "shop", "erp")
    address_id, _ = world.one("erp", "Addresses")
    world.conns["erp"].edit("Addresses", address_id, AddressLine1="Brosundet 9")
    result = world.sync.run()
    assert result.exit_code == 0 and result.conflicts == []
    # the ledgers take it as location data, which is their organisation's address too;
    # organisation was passed already, so the run passes it again for the shop
    assert world.streets() == {s: "Brosundet 9" for s in (
        "left", "right", "shop", "erp", "organisation", "location")}
    assert result.counts[("shop", "clients")]["update"] == 1
    assert result.rounds == 2
    world.settled()


def test_a_conflict_over_a_shared_field_is_met_once_and_settled_everywhere(
        tmp_path: Path, clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "right", "erp")
    copy_id, _ = world.one("right", "customers")
    world.conns["left"].edit("customers", world.acme, street="Strandgaten 1")
    world.conns["right"].edit("customers", copy_id, street="Bryggen 2")  # edited last: wins
    result = world.sync.run()
    # one disagreement, met by the organisation pass; the location takes its outcome
    assert [(c["global_type"], c["property"], c["winner"]) for c in result.conflicts] == [
        ("organisation", "address_line1", "right")]
    assert world.streets() == {s: "Bryggen 2" for s in (
        "left", "right", "erp", "organisation", "location")}
    world.settled()


def test_a_record_talk_deletes_takes_its_other_facets_with_it_in_the_same_run(
        tmp_path: Path, clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "shop", "erp")
    client_id, _ = world.one("shop", "clients")
    assert world.conns["erp"].count("Addresses") == 1
    world.conns["shop"].remove("clients", client_id)
    result = world.sync.run()
    assert result.exit_code == 0
    # the ledger's customer went as an organisation: its address, a location, goes too
    assert world.conns["left"].count("customers") == 0
    assert world.conns["erp"].count("Accounts") == 0
    assert world.conns["erp"].count("Addresses") == 0
    assert world.sync.store.get_link("left", "customers", world.acme, "location") is None
    world.settled()


def test_rows_waiting_for_a_reference_call_for_no_extra_round(tmp_path: Path,
                                                              clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "right", "shop", "erp")
    # an address whose account talk cannot find: it waits, deferred, run after run
    world.conns["erp"].put("Addresses", {"Account": "e-nobody", "Type": "visit",
                                         "AddressLine1": "Nowhere 1"})
    waiting = world.sync.run()
    assert (waiting.deferred, waiting.rounds, waiting.writes) == (1, 1, 0)
    address_id = next(i for i, r in world.conns["erp"].records("Addresses").items()
                      if r["AddressLine1"] == "Torget 3")
    world.conns["erp"].edit("Addresses", address_id, AddressLine1="Brosundet 9")
    result = world.sync.run()
    # one more round for the organisation the edit changed; the waiting row is not in it
    assert (result.deferred, result.rounds) == (1, 2)
    assert world.one("shop", "clients")[1]["street"] == "Brosundet 9"
    again = world.sync.run()
    assert (again.deferred, again.rounds, again.writes) == (1, 1, 0)


def test_facets_edited_apart_in_one_run_settle_on_one_value(tmp_path: Path,
                                                            clock: SharedClock) -> None:
    # erp's addresses come first: its location beats what the ledgers took as organisation
    world = World(tmp_path / "state.db", clock, "right", "shop", "erp", conflict="priority",
                  priority=("erp", "shop"))
    client_id, _ = world.one("shop", "clients")
    address_id, _ = world.one("erp", "Addresses")
    world.conns["shop"].edit("clients", client_id, street="Strandgaten 1")
    world.conns["erp"].edit("Addresses", address_id, AddressLine1="Bryggen 2")
    result = world.sync.run()
    # the shop's street reached the ledgers as organisation data, and from them their
    # location, where erp's wins; the ledgers write it as location data, and the round
    # after takes it back to the organisation and the shop
    assert [(c["global_type"], c["winner"]) for c in result.conflicts] == [
        ("location", "erp")]
    assert result.rounds == 2
    assert world.streets() == {s: "Bryggen 2" for s in (
        "left", "right", "shop", "erp", "organisation", "location")}
    world.settled()


# -- a system that never holds what it is sent -----------------------------------------------

class Rewriting(InMemoryConnector):
    """Keeps every street it is sent with a "!" added: no write of it is ever the last."""

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        if changes.get("street"):
            changes = {**changes, "street": f"{changes['street']}!"}
        return super().update(datatype, id, changes, current=current)


def test_facets_that_keep_rewriting_a_field_stop_at_the_bound(
        tmp_path: Path, clock: SharedClock, caplog: pytest.LogCaptureFixture) -> None:
    conns: dict[str, InMemoryConnector] = {
        name: Rewriting([CUSTOMERS], id_prefix=name[0], clock=clock)
        for name in ("left", "right")}
    acme = conns["left"].put("customers", ACME).id
    sync = make_sync(tmp_path / "state.db", conns, clock)
    assert sync.run().exit_code == 0 and sync.run().writes == 0
    conns["left"].edit("customers", acme, street="Strandgaten 1")
    with caplog.at_level(logging.WARNING, logger="talk.sync"):
        result = sync.run()
    # each ledger's answer changes the other facet, which writes the other ledger ...
    assert result.status == "done"
    assert result.rounds == 1 + MAX_EXTRA_ROUNDS
    assert "left staged for the next run" in caplog.text
    # ... until the bound: what is left waits in the inbox for the next run, not lost
    assert sync.store.inbox_count() > 0
    writes = result.writes
    assert writes <= 2 * (1 + MAX_EXTRA_ROUNDS) * 2  # two facets, two ledgers, each round
    nxt = sync.run()
    assert nxt.status == "done" and nxt.rounds <= 1 + MAX_EXTRA_ROUNDS
    sync.store.close()


def test_a_crash_right_after_the_update_settles_on_the_rerun(tmp_path: Path,
                                                             clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "right", "shop", "erp")
    client_id, _ = world.one("shop", "clients")
    world.conns["shop"].edit("clients", client_id, street="Brosundet 9")
    world.conns["left"].crash_after_next("update")
    with pytest.raises(SimulatedCrash):
        world.sync.run()  # left holds the street; nothing of the update was committed
    world.sync.store.close()
    world.sync = make_sync(tmp_path / "state.db", world.conns, clock)
    result = world.sync.run()
    assert result.status == "done" and result.conflicts == []
    assert world.streets() == {s: "Brosundet 9" for s in (
        "left", "right", "shop", "erp", "organisation", "location")}
    world.settled()


def test_a_dry_run_leaves_the_rounds_to_the_real_run(tmp_path: Path,
                                                      clock: SharedClock) -> None:
    world = World(tmp_path / "state.db", clock, "right", "shop", "erp")
    address_id, _ = world.one("erp", "Addresses")
    world.conns["erp"].edit("Addresses", address_id, AddressLine1="Brosundet 9")
    planned = world.sync.run(dry_run=True)
    assert planned.status == "done" and planned.planned
    # nothing was sent and nothing staged stays behind
    assert world.one("left", "customers")[1]["street"] == "Torget 3"
    assert world.one("shop", "clients")[1]["street"] == "Torget 3"
    assert world.sync.store.inbox_count() == 0
    result = world.sync.run()
    assert result.rounds == 2
    assert world.streets() == {s: "Brosundet 9" for s in (
        "left", "right", "shop", "erp", "organisation", "location")}
    # the dry run listed every write the real run made, its later round's included
    listed = Counter((p["system"], p["datatype"], p["action"]) for p in planned.planned)
    made = Counter((system, datatype, action)
                   for (system, datatype), counts in result.counts.items()
                   for action, n in counts.items()
                   if action in ("create", "update", "delete") for _ in range(n))
    assert listed == made and sum(made.values()) >= 3
    world.settled()


def test_a_reading_the_update_overwrote_is_not_merged_as_the_records_state(
        tmp_path: Path, clock: SharedClock) -> None:
    # streets flow only into left as organisation data: an edit there is written over
    only_in = DatatypeSettings(directions={"left": {"address_line1": "to"}})
    world = World(tmp_path / "state.db", clock, "right", "erp",
                  datatypes={"organisation": only_in})
    world.conns["left"].edit("customers", world.acme, street="Strandgaten 1")
    result = world.sync.run()
    assert result.exit_code == 0
    # left's customer holds the organisation's street again, so its location does too:
    # the location read before the update is not taken for what the record holds
    assert world.streets() == {s: "Torget 3" for s in (
        "left", "right", "erp", "organisation", "location")}
    world.settled()
