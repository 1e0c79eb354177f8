"""Seed 000 end to end: two Invoiced accounts kept in sync by the core engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.emulator.state import Account
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for


@pytest.fixture
def accounts() -> Iterator[dict[str, InvoicedEmulator]]:
    emus = {"a": InvoicedEmulator(api_key="key_a").start(),
            "b": InvoicedEmulator(api_key="key_b").start()}
    yield emus
    for emu in emus.values():
        emu.stop()


def _sync(tmp_path: Path, emus: dict[str, InvoicedEmulator]) -> Sync:
    systems = [SystemInstance(name, INVOICED_SPEC, connector_for(emu, page_size=2))
               for name, emu in emus.items()]
    return Sync(SQLiteStore(tmp_path / "state.db"), systems, SyncSettings())


def _customers(account: Account) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in account.customers.values()}


def _populate(a: Account) -> dict[str, Any]:
    acme = a.create_customer({"name": "Acme AS", "email": "post@acme.no", "type": "company",
                              "city": "Oslo", "country": "NO", "postal_code": "0150",
                              "currency": "nok"})
    kari = a.create_customer({"name": "Kari Nordmann", "email": "kari@example.no",
                              "type": "person", "city": "Bergen", "country": "NO"})
    a.create_contact(acme["id"], {"name": "Ola Hansen", "email": "ola@acme.no",
                                  "title": "CFO", "city": "Oslo"})
    a.create_item({"id": "consulting", "name": "Consulting", "unit_cost": 150,
                   "currency": "nok"})
    a.create_item({"id": "widget", "name": "Widget", "unit_cost": 20, "currency": "nok"})
    invoice = a.create_invoice({
        "customer": acme["id"], "number": "INV-77", "currency": "nok",
        "purchase_order": "PO-9", "discounts": [{"amount": 5}],
        "items": [{"catalog_item": "consulting", "quantity": 2},
                  {"catalog_item": "widget", "quantity": 3}],
    })
    return {"acme": acme, "kari": kari, "invoice": invoice}


def _settle(sync: Sync, runs: int = 4) -> list[Any]:
    """Run until a run writes nothing (references resolve over a few runs)."""
    results = []
    for _ in range(runs):
        result = sync.run()
        results.append(result)
        if result.writes == 0:
            break
    return results


def test_two_accounts_sync_both_ways_with_conflict_delete_and_quiet_rerun(
        tmp_path: Path, accounts: dict[str, InvoicedEmulator]) -> None:
    a, b = accounts["a"].account, accounts["b"].account
    made = _populate(a)
    sync = _sync(tmp_path, accounts)
    results = _settle(sync)
    assert results[-1].writes == 0, [r.as_dict() for r in results]
    assert all(r.dead_letters == [] for r in results), results[-1].dead_letters

    # everything arrived in b with equal mapped values
    acme_b = _customers(b)["Acme AS"]
    assert (acme_b["type"], acme_b["email"], acme_b["city"], acme_b["country"],
            acme_b["postal_code"], acme_b["currency"]) == (
        "company", "post@acme.no", "Oslo", "NO", "0150", "nok")
    kari_b = _customers(b)["Kari Nordmann"]
    assert (kari_b["type"], kari_b["city"]) == ("person", "Bergen")
    [contact_b] = b.contacts.values()
    assert (contact_b["name"], contact_b["title"], contact_b["customer"]) == (
        "Ola Hansen", "CFO", acme_b["id"])
    assert {i: (v["name"], v["unit_cost"]) for i, v in b.items.items()} == {
        "consulting": ("Consulting", 150), "widget": ("Widget", 20)}
    [invoice_b] = b.invoices.values()
    assert (invoice_b["customer"], invoice_b["number"], invoice_b["currency"],
            invoice_b["purchase_order"], invoice_b["discounts"]) == (
        acme_b["id"], "INV-77", "nok", "PO-9", [{"amount": 5}])
    lines_b = sorted((line["catalog_item"], line["quantity"], line["unit_cost"])
                     for line in invoice_b["items"])
    assert lines_b == [("consulting", 2, 150), ("widget", 3, 20)]

    # edits on both sides, one property edited on both (a conflict)
    a.update_customer(made["acme"]["id"], {"email": "faktura@acme.no", "city": "Drammen"})
    b.update_customer(acme_b["id"], {"city": "Trondheim", "phone": "+47 22 00 00 00"})
    b.update_customer(kari_b["id"], {"postal_code": "5003"})
    results = _settle(sync)
    assert results[-1].writes == 0
    conflicts = [c for r in results for c in r.conflicts]
    assert [c["property"] for c in conflicts if c["property"] == "city"], conflicts
    acme_a = a.customers[made["acme"]["id"]]
    acme_b = b.customers[acme_b["id"]]
    assert acme_a["email"] == acme_b["email"] == "faktura@acme.no"
    assert acme_a["phone"] == acme_b["phone"] == "+47 22 00 00 00"
    assert acme_a["city"] == acme_b["city"]
    assert a.customers[made["kari"]["id"]]["postal_code"] == "5003"

    # a delete propagates (Kari has no invoices, so she is really deleted)
    a.delete_customer(made["kari"]["id"])
    results = _settle(sync)
    assert "Kari Nordmann" not in _customers(b)
    assert results[-1].writes == 0

    # and a rerun writes nothing
    again = sync.run()
    assert again.writes == 0 and again.conflicts == [] and again.dead_letters == []
