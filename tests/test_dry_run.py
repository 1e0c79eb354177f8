"""A dry run lists exactly the writes the run after it makes, and leaves nothing behind.

A dry run sends nothing: a create is answered by the record talk would
send, under a placeholder id, and settled inside the rolled-back
transaction, so that the later passes of the same dry run plan what the
real run will do with it: the created record's other facets (an update of
the record, or a create elsewhere) and the parents a system takes only with
their lines.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from facets import connectors, make_sync
from orders import invoice_with_lines, order_sync, order_systems
from systems import SharedClock
from systems import make_connectors as company_connectors
from systems import make_sync as company_sync

from talk_core.store.base import StateStore
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.result import RunResult
from talk_core.testing import InMemoryConnector
from talk_core.testing.memory import SimulatedCrash

ACME = {"name": "Acme AS", "type": "company", "email": "post@acme.no", "street": "Torget 3",
        "city": "Oslo", "phone": "+47 22 00 00 00"}

WRITES = ("create", "update", "delete")


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


def listed(result: RunResult) -> Counter[tuple[str, str, str]]:
    return Counter((p["system"], p["datatype"], p["action"]) for p in result.planned)


def made(result: RunResult) -> Counter[tuple[str, str, str]]:
    return Counter({(system, datatype, what): counts[what]
                    for (system, datatype), counts in result.counts.items()
                    for what in WRITES if counts[what]})


def writes_sent(conns: dict[str, InMemoryConnector]) -> int:
    return sum(c.stats[what] for c in conns.values() for what in WRITES)


def assert_nothing_kept(store: StateStore, systems: list[str]) -> None:
    """No link, no journal entry, nothing staged survives the dry run."""
    assert [lk for lk in store.iter_links() if lk.system in systems] == []
    assert store.journal_pending() == []
    assert store.inbox_last_seq() in (None, 0)


def planned(result: RunResult, system: str, datatype: str, action: str) -> list[dict[str, Any]]:
    return [p for p in result.planned
            if (p["system"], p["datatype"], p["action"]) == (system, datatype, action)]


def test_a_created_records_other_facet_is_updated_as_planned(tmp_path: Path,
                                                             clock: SharedClock) -> None:
    """``right`` gets Acme through its organisation facet; its location facet (the same
    customer) is linked to Acme's address and updated with the phone in the same run."""
    conns = connectors(clock, "left", "right", "erp")
    conns["left"].put("customers", ACME)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    dry = sync.run(dry_run=True)
    assert dry.dead_letters == [] and dry.conflicts == []
    assert writes_sent(conns) == 0
    assert_nothing_kept(sync.store, ["left", "right", "erp"])
    [customer] = planned(dry, "right", "customers", "create")
    [address] = planned(dry, "right", "customers", "update")
    # the update names the record the create would make, and writes what it lacks
    assert customer["id"].startswith("(new ") and address["id"] == customer["id"]
    assert address["global_type"] == "location" and address["values"] == {
        "phone": "+47 22 00 00 00"}
    # erp keeps addresses apart: one created there, owned by the account created there too
    [account] = planned(dry, "erp", "Accounts", "create")
    [erp_address] = planned(dry, "erp", "Addresses", "create")
    assert erp_address["values"]["owner"] == account["global_id"]
    assert len({p["id"] for p in dry.planned}) == len(dry.planned) - 1  # the update's id

    real = sync.run()
    assert real.dead_letters == [] and real.conflicts == []
    assert made(real) == listed(dry) == made(dry)
    assert writes_sent(conns) == sum(listed(dry).values())
    assert sync.run().writes == 0


def test_a_facet_only_the_created_record_has_is_created_elsewhere_as_planned(
        tmp_path: Path, clock: SharedClock) -> None:
    """An erp account without an address becomes a customer in ``left``; that customer's
    address facet is news talk made itself, and is created in erp in the same run."""
    conns = connectors(clock, "left", "erp")
    account = conns["erp"].put("Accounts", {"Name": "Fjell AS", "Email": "post@fjell.no"})
    sync = make_sync(tmp_path / "state.db", conns, clock)
    dry = sync.run(dry_run=True)
    assert dry.dead_letters == [] and writes_sent(conns) == 0
    assert listed(dry) == Counter({("left", "customers", "create"): 1,
                                   ("erp", "Addresses", "create"): 1})
    [address] = planned(dry, "erp", "Addresses", "create")
    assert address["values"]["kind"] == "invoice"
    assert_nothing_kept(sync.store, ["left", "erp"])

    real = sync.run()
    assert made(real) == listed(dry)
    [(_id, made_address)] = conns["erp"].records("Addresses").items()
    assert made_address["Account"] == account.id


def test_two_addresses_made_in_one_run_are_merged_by_their_keys_as_planned(
        tmp_path: Path, clock: SharedClock) -> None:
    """A shop client becomes a customer in ``billing`` and in ``right``: each customer's own
    address is an invoice location of the client, one location by owner and kind, which
    erp gets once. ``billing`` fills the field its kind is read from itself; the record a
    dry run rehearses lacks it, and still has its kind, as the real one has."""
    conns = connectors(clock, "shop", "billing", "right", "erp")
    conns["shop"].put("clients", {"name": "Fjell AS", "email": "post@fjell.no",
                                  "street": "Torget 3", "city": "Oslo"})
    sync = make_sync(tmp_path / "state.db", conns, clock)
    dry = sync.run(dry_run=True)
    assert dry.dead_letters == [] and writes_sent(conns) == 0
    assert listed(dry) == Counter({
        ("billing", "customers", "create"): 1, ("right", "customers", "create"): 1,
        ("erp", "Accounts", "create"): 1, ("erp", "Addresses", "create"): 1})
    [address] = planned(dry, "erp", "Addresses", "create")
    assert address["values"]["kind"] == "invoice"
    assert_nothing_kept(sync.store, ["shop", "billing", "right", "erp"])

    real = sync.run()
    assert real.dead_letters == [] and made(real) == listed(dry)
    [billing_id] = conns["billing"].records("customers")
    [right_id] = conns["right"].records("customers")
    billing = sync.store.get_link("billing", "customers", billing_id, "location")
    right = sync.store.get_link("right", "customers", right_id, "location")
    assert billing is not None and right is not None
    assert billing.global_id == right.global_id
    assert sync.run().writes == 0


def test_an_order_created_with_its_lines_is_planned_with_them(tmp_path: Path) -> None:
    """erp takes a sales order only with its lines: the dry run lists the order and each line
    (with the ids it would give them), once the lines' pass has them all."""
    conns = order_systems()
    invoice_with_lines(conns["billing"], lines=3)
    sync = order_sync(tmp_path / "state.db", conns)
    dry = sync.run(dry_run=True)
    assert dry.dead_letters == [] and writes_sent(conns) == 0
    assert listed(dry) == Counter({
        ("erp", "Accounts", "create"): 1, ("erp", "Items", "create"): 3,
        ("erp", "SalesOrders", "create"): 1, ("erp", "SalesOrderLines", "create"): 3})
    [order] = planned(dry, "erp", "SalesOrders", "create")
    [account] = planned(dry, "erp", "Accounts", "create")
    lines = planned(dry, "erp", "SalesOrderLines", "create")
    assert order["values"]["customer"] == account["global_id"]
    assert {line["parent"] for line in lines} == {order["id"]}
    assert len({line["id"] for line in lines} | {order["id"]}) == 4
    assert sorted(line["values"]["quantity"] for line in lines) == ["1", "2", "3"]
    assert_nothing_kept(sync.store, ["erp"])
    assert sync.store.inbox_deferred() == []

    real = sync.run()
    assert real.dead_letters == []
    assert made(real) == listed(dry) == made(dry)
    assert conns["erp"].count("SalesOrders") == 1 and conns["erp"].count("SalesOrderLines") == 3
    assert sync.run().writes == 0


def test_a_dry_run_journals_nothing_that_outlives_it(tmp_path: Path, clock: SharedClock) -> None:
    """Enough creates for a batch row of the journal: gone with the dry run all the same."""
    conns = company_connectors(clock)
    for i in range(12):
        conns["crm"].put("customers", {"name": f"Firm {i}", "type": "company"})
    path = tmp_path / "state.db"
    with company_sync(path, conns, clock, batch_size=50) as sync:
        first = sync.run(dry_run=True)
        again = sync.run(dry_run=True)
        assert sync.store.journal_pending() == []
    # the same plan twice: nothing of the first was kept for the second to see
    assert [(p["system"], p["datatype"], p["action"], p.get("id")) for p in again.planned] == \
        [(p["system"], p["datatype"], p["action"], p.get("id")) for p in first.planned]
    assert listed(first) == Counter({("erp", "Accounts", "create"): 12,
                                     ("shop", "companies", "create"): 12})
    with company_sync(path, conns, clock, batch_size=50) as sync:
        real = sync.run()
    assert made(real) == listed(first)
    assert all(c.stats["recover"] == c.stats["recover_many"] == 0 for c in conns.values())


def test_after_a_crash_a_dry_run_plans_what_recovery_leaves_to_do(tmp_path: Path,
                                                                  clock: SharedClock) -> None:
    """The crash made one of three accounts: the dry run asks, as the run will, and plans
    the other two, not three; the journal is still there for the run.

    No match keys: only recovery tells that the account erp holds is talk's own, not a
    record of its own to copy everywhere.
    """
    conns = company_connectors(clock)
    for i in range(3):
        conns["crm"].put("customers", {"name": f"Firm {i}", "type": "company"})
    conns["erp"].crash_after_next("create", datatype="Accounts")
    path = tmp_path / "state.db"
    with company_sync(path, conns, clock, batch_size=10, datatypes={}) as sync, \
            pytest.raises(SimulatedCrash):
        sync.run()
    assert conns["erp"].count("Accounts") == 1
    with company_sync(path, conns, clock, datatypes={}) as sync:
        journalled = len(sync.store.journal_pending())
        sent = writes_sent(conns)
        dry = sync.run(dry_run=True)
        assert writes_sent(conns) == sent
        assert len(sync.store.journal_pending()) == journalled > 0
        assert listed(dry)[("erp", "Accounts", "create")] == 2
        real = sync.run()
        assert sync.store.journal_pending() == []
    assert made(real) == listed(dry)
    assert conns["erp"].count("Accounts") == 3
    store = SQLiteStore(path)
    try:
        assert store.count_links("organisation", "erp") == 3
    finally:
        store.close()
