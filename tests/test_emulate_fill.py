"""Emulators filled with generated records: every record readable by talk, every one linked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from talk_core.emulation import Served
from talk_core.emulation_fill import WEIGHTS, generate, split
from talk_core.plugins import get_systems
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemContext
from talk_core.testing.hub import hub_system, runs_until_quiet

KINDS = ("invoiced", "exactonline", "customcrm", "customwebshop", "custompms")


def linked_counts(store: SQLiteStore, system: str) -> dict[str, list[int]]:
    """Datatype -> its links of each global datatype, and of companies and persons together.

    A record is linked once for every facet of it; a customer that is a
    company or a person is linked as an organisation or a human, so the sum
    of the two is every customer.
    """
    per_type: dict[str, dict[str, int]] = {}
    for name, datatype, global_type, count in store.link_counts():
        if name == system:
            per_type.setdefault(datatype, {})[global_type] = count
    return {datatype: [*counts.values(),
                       counts.get("organisation", 0) + counts.get("human", 0)]
            for datatype, counts in per_type.items()}


def _sync_into_hub(kind: str, served: Served, tmp_path: Path
                   ) -> tuple[SQLiteStore, list[Any], set[str]]:
    """The state after syncing ``kind`` into the hub, the runs' results, and the datatypes
    an instance with the default options syncs (Exact's company data it leaves alone)."""
    spec = get_systems()[kind]
    store = SQLiteStore(tmp_path / "state.db")
    connector = spec.factory(options=served.options(), context=SystemContext(kind, store))
    instance_spec = getattr(connector, "spec", None) or spec
    hub_spec, hub = hub_system(WEIGHTS)
    sync = Sync(store, [SystemInstance(kind, instance_spec, connector),
                        SystemInstance("hub", hub_spec, hub)], SyncSettings())
    results = runs_until_quiet(sync, 3)
    return store, results, {m.datatype for m in instance_spec.mappings}


@pytest.mark.parametrize("kind", KINDS)
def test_every_generated_record_syncs_without_dead_letters(kind: str, tmp_path: Path) -> None:
    spec = get_systems()[kind]
    assert spec.start_emulator is not None
    credentials = {o.name: str(o.default) for o in spec.emulator_credentials}
    served = spec.start_emulator(port=0, credentials=credentials)
    try:
        assert served.fill is not None
        made = served.fill(200, 7)
        assert sum(made.values()) == 200
        store, results, synced = _sync_into_hub(kind, served, tmp_path)
        try:
            for result in results:
                assert result.status == "done", result.message
                assert not result.dead_letters, result.dead_letters[:3]
                assert not result.errors, result.errors[:3]
            linked = linked_counts(store, kind)
            for datatype, count in made.items():
                if count and datatype in synced:
                    # each record of the datatype is linked (facets may link it twice)
                    assert count in linked.get(datatype, []), (datatype, count, linked)
                elif count:  # made, but the default options keep it out of the sync
                    assert datatype not in linked, (datatype, linked)
        finally:
            store.close()
    finally:
        served.stop()


def test_the_split_sums_to_the_records_and_keeps_parents_first() -> None:
    for records in (0, 1, 2, 3, 4, 5, 19, 20, 21, 200, 1001):
        counts = split(records, WEIGHTS)
        assert sum(counts.values()) == records
        assert counts["agreement"] <= counts["agreementline"]
        if records:
            assert counts["organisation"] >= 1
    assert split(2000, WEIGHTS) == {k: 100 * w for k, w in WEIGHTS.items()}
    assert split(7, ["organisation"]) == {"organisation": 7}
    with pytest.raises(ValueError, match="no generator for invoice"):
        split(5, ["invoice"])
    with pytest.raises(ValueError, match="human records need organisation records"):
        split(5, ["human"])
    with pytest.raises(ValueError, match="agreement records need agreementline records"):
        split(5, ["organisation", "agreement"])


def test_the_same_seed_makes_the_same_records() -> None:
    first, again, other = generate(500, 11), generate(500, 11), generate(500, 12)
    assert first.records == again.records
    assert first.records != other.records
    lines = first["agreementline"]
    assert {line["agreement"] for line in lines} == set(range(first.count("agreement")))
    assert all(0 <= h["organisation"] < first.count("organisation") for h in first["human"])


def _sync_contacts(tmp_path: Path, contacts: list[dict[str, Any]]) -> tuple[list[Any],
                                                                            dict[str, int]]:
    """One Invoiced customer with ``contacts``, synced into the hub: the runs, and how many
    entities of each global type the hub got."""
    from talk_invoiced.emulator import InvoicedEmulator

    with InvoicedEmulator(api_key="k") as emulator:
        account = emulator.account
        with account.lock:
            owner = account.create_customer({
                "name": "Three Contacts AS", "address1": "Storgata 1", "city": "Oslo",
                "country": "NO"})["id"]
            for contact in contacts:
                account.create_contact(owner, contact)
        served = Served(emulator.url, lambda: {"base_url": emulator.url, "api_key": "k"},
                        emulator.stop)
        store, results, _synced = _sync_into_hub("invoiced", served, tmp_path)
        try:
            in_hub = {gt: store.count_links(gt, "hub")
                      for gt in ("organisation", "human", "location")}
        finally:
            store.close()
    return results, in_hub


def test_three_contacts_of_one_invoiced_customer_sync_without_dead_letters(tmp_path: Path
                                                                         ) -> None:
    """A contact without an address of its own is no postal address of its customer."""
    results, in_hub = _sync_contacts(tmp_path, [
        {"name": "Kari Nordmann", "phone": "+47 22 11 22 33"},
        {"name": "Ola Hansen", "phone": "+47 22 11 22 44"},
        {"name": "Anna Berg", "phone": "+47 22 11 22 55"}])
    assert not any(result.dead_letters for result in results), results[0].dead_letters
    # the customer's own (invoice) address is its one location
    assert in_hub == {"organisation": 1, "human": 3, "location": 1}


def test_three_contacts_with_addresses_are_three_postal_addresses_of_their_customer(
        tmp_path: Path) -> None:
    """Owner and kind are one match key for all three: none is another's, none a dead letter."""
    results, in_hub = _sync_contacts(tmp_path, [
        {"name": "Kari Nordmann", "address1": "Postboks 1", "city": "Oslo"},
        {"name": "Ola Hansen", "address1": "Postboks 2", "city": "Bergen"},
        {"name": "Anna Berg", "city": "Tromsø", "country": "NO"}])
    assert not any(result.dead_letters for result in results), results[0].dead_letters
    assert in_hub == {"organisation": 1, "human": 3, "location": 4}
