"""A record talk creates through one facet has its other facets linked in the same run."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from facets import connectors, make_sync
from systems import SharedClock

from talk_core.errors import RecordError, TransientError
from talk_core.model import Link
from talk_core.store.base import StateStore
from talk_core.testing import InMemoryConnector
from talk_core.testing.memory import SimulatedCrash

ACME = {"name": "Acme AS", "type": "company", "email": "post@acme.no", "street": "Torget 3",
        "city": "Oslo", "phone": "+47 22 00 00 00"}


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


def the_one(conn: InMemoryConnector, datatype: str) -> tuple[str, dict[str, object]]:
    records = conn.records(datatype)
    assert len(records) == 1, records
    return next(iter(records.items()))


def facet_links(store: StateStore, system: str, external_id: str) -> dict[str, Link]:
    found = {}
    for global_type in ("organisation", "location", "human"):
        link = store.get_link(system, "customers", external_id, global_type)
        if link is not None:
            found[global_type] = link
    return found


def test_one_run_creates_the_record_and_links_its_other_facet(tmp_path: Path,
                                                              clock: SharedClock) -> None:
    conns = connectors(clock, "left", "right")
    acme = conns["left"].put("customers", ACME)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert result.exit_code == 0 and result.conflicts == []
    copy_id, copy = the_one(conns["right"], "customers")
    assert copy["street"] == "Torget 3"
    source = facet_links(sync.store, "left", acme.id)
    created = facet_links(sync.store, "right", copy_id)
    assert set(created) == set(source) == {"organisation", "location"}
    assert created["location"].global_id == source["location"].global_id
    assert created["location"].hash is not None
    # the location pass saw the record linked and gave it the address's phone (which the
    # organisation does not carry)
    assert conns["right"].records("customers")[copy_id]["phone"] == "+47 22 00 00 00"
    assert result.total("create") == 1 and result.total("update") == 1
    again = sync.run()
    assert again.writes == 0 and again.conflicts == []


def test_an_edit_of_the_created_records_address_flows_back_without_a_conflict(
        tmp_path: Path, clock: SharedClock) -> None:
    conns = connectors(clock, "left", "right")
    acme = conns["left"].put("customers", ACME)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    sync.run()
    copy_id, _copy = the_one(conns["right"], "customers")
    conns["right"].edit("customers", copy_id, phone="+47 23 00 00 00", city="Bergen")
    result = sync.run()
    assert result.exit_code == 0 and result.conflicts == []
    assert sync.store.conflicts() == []
    back = conns["left"].records("customers")[acme.id]
    assert (back["phone"], back["city"]) == ("+47 23 00 00 00", "Bergen")
    assert sync.run().writes == 0


def test_a_crash_right_after_the_create_ends_with_the_same_links(tmp_path: Path,
                                                                 clock: SharedClock) -> None:
    conns = connectors(clock, "left", "right")
    acme = conns["left"].put("customers", ACME)
    conns["right"].crash_after_next("create")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    with pytest.raises(SimulatedCrash):
        sync.run()
    sync.store.close()
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert result.exit_code == 0 and result.conflicts == []
    copy_id, copy = the_one(conns["right"], "customers")
    assert copy["phone"] == "+47 22 00 00 00"
    source = facet_links(sync.store, "left", acme.id)
    created = facet_links(sync.store, "right", copy_id)
    assert set(created) == {"organisation", "location"}
    assert {t: link.global_id for t, link in created.items()} == {
        t: link.global_id for t, link in source.items()}
    conns["right"].edit("customers", copy_id, city="Bergen")
    after = sync.run()
    assert after.conflicts == [] and conns["left"].records("customers")[acme.id]["city"] == \
        "Bergen"
    assert sync.run().writes == 0


def test_a_create_on_a_later_run_joins_the_facet_already_linked(tmp_path: Path,
                                                               clock: SharedClock) -> None:
    conns = connectors(clock, "left", "right")
    acme = conns["left"].put("customers", ACME)
    conns["right"].fail_next("create", RecordError("refused once"))
    sync = make_sync(tmp_path / "state.db", conns, clock)
    first = sync.run()
    assert len(first.dead_letters) == 1 and conns["right"].count("customers") == 0
    location = sync.store.get_link("left", "customers", acme.id, "location")
    assert location is not None  # the source's facet is linked before the create is retried
    clock.advance(timedelta(days=1))  # the letter's backoff
    retried = sync.run()
    assert retried.total("create") == 1 and retried.conflicts == []
    copy_id, copy = the_one(conns["right"], "customers")
    created = facet_links(sync.store, "right", copy_id)
    assert created["location"].global_id == location.global_id
    assert copy["phone"] == "+47 22 00 00 00"
    assert sync.run().writes == 0


def test_a_facet_only_the_created_record_has_is_carried_on_in_the_same_run(
        tmp_path: Path, clock: SharedClock) -> None:
    conns = connectors(clock, "left", "erp")
    account = conns["erp"].put("Accounts", {"Name": "Fjell AS", "Email": "post@fjell.no"})
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert result.exit_code == 0 and result.conflicts == []
    customer_id, _customer = the_one(conns["left"], "customers")
    address_id, address = the_one(conns["erp"], "Addresses")
    assert (address["Account"], address["Type"]) == (account.id, "invoice")
    location = sync.store.get_link("left", "customers", customer_id, "location")
    assert location is not None
    assert sync.store.get_link("erp", "Addresses", address_id, "location").global_id == \
        location.global_id  # type: ignore[union-attr]
    assert sync.run().writes == 0


def lose_the_answer_of_the_next_create(conn: InMemoryConnector,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The next create is made, and its answer lost on the way back (a read timeout)."""
    made = conn.create

    def create(datatype: str, properties: dict[str, object], *, key: str) -> object:
        made(datatype, properties, key=key)
        monkeypatch.setattr(conn, "create", made)
        raise TransientError("the answer was lost")

    monkeypatch.setattr(conn, "create", create)


def kinds_of_addresses(conn: InMemoryConnector) -> list[object]:
    return sorted(str(a["Type"]) for a in conn.records("Addresses").values())


def test_a_lost_create_answer_keeps_the_records_own_facet_apart_from_another_kind(
        tmp_path: Path, clock: SharedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The account made for a customer has a visit address; the customer's is an invoice one.

    Settled in the run of the create, the account's facet meets the
    customer's address by its keys (owner and kind), which differ. Settled
    by the next run's recovery, the customer's address is linked already:
    it is no twin of the account's own, and the books get an invoice
    address as in a run without the fault.
    """
    conns = connectors(clock, "left", "books")
    conns["left"].put("customers", ACME)
    lose_the_answer_of_the_next_create(conns["books"], monkeypatch)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    first = sync.run()
    assert first.dead_letters and conns["books"].count("Accounts") == 1
    clock.advance(timedelta(days=1))  # the letter's backoff
    for _ in range(3):
        if sync.run().writes == 0:
            break
    account_id, _account = the_one(conns["books"], "Accounts")
    assert kinds_of_addresses(conns["books"]) == ["invoice"]
    own = sync.store.get_link("books", "Accounts", account_id, "location")
    address = sync.store.get_link("left", "customers", next(iter(conns["left"].records(
        "customers"))), "location")
    assert own is not None and address is not None
    assert own.global_id != address.global_id
    assert sync.store.get_globals("location", [own.global_id])[own.global_id]["kind"] == \
        "visit"
    assert sync.run().writes == 0

    clean = connectors(clock, "left", "books")
    clean["left"].put("customers", ACME)
    make_sync(tmp_path / "clean.db", clean, clock).run()
    assert kinds_of_addresses(clean["books"]) == kinds_of_addresses(conns["books"])


def test_a_person_customer_gets_no_location(tmp_path: Path, clock: SharedClock) -> None:
    conns = connectors(clock, "left", "right")
    kari = conns["left"].put("customers", {"name": "Kari", "type": "person",
                                           "email": "kari@x.no", "city": "Bergen"})
    sync = make_sync(tmp_path / "state.db", conns, clock)
    assert sync.run().exit_code == 0
    copy_id, copy = the_one(conns["right"], "customers")
    assert copy["type"] == "person"
    assert set(facet_links(sync.store, "right", copy_id)) == {"human"}
    assert set(facet_links(sync.store, "left", kari.id)) == {"human"}
    assert sync.run().writes == 0


def test_a_dry_run_links_and_stages_nothing(tmp_path: Path, clock: SharedClock) -> None:
    conns = connectors(clock, "left", "right")
    conns["left"].put("customers", ACME)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    planned = sync.run(dry_run=True)
    # the new customer's address is also a location: its pass updates the record just made
    assert [(p["system"], p["global_type"], p["action"], p["id"]) for p in planned.planned] == [
        ("right", "organisation", "create", "(new 1)"), ("right", "location", "update", "(new 1)")]
    assert conns["right"].count("customers") == 0
    assert sync.store.count_links("organisation", "right") == 0
    assert sync.store.count_links("location", "right") == 0
    assert sync.store.journal_pending() == []
    result = sync.run()
    assert result.total("create") == 1 and result.conflicts == []
    assert result.counts == planned.counts
    copy_id, _copy = the_one(conns["right"], "customers")
    assert set(facet_links(sync.store, "right", copy_id)) == {"organisation", "location"}
