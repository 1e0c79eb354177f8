"""A division filled by ``talk emulate exactonline --records N``: its set-up, its own people
and its invoices are there, every reference names a record that exists, and talk reads all
of it (``company_data`` on, code lists synced) without a dead letter."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.testing.hub import hub_system, runs_until_quiet
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.emulator.fill import SETUP_FROM, company_counts, fill
from talk_exactonline.emulator.state import ExactState
from talk_exactonline.testing import emulator_connector

NEW = ("SalesInvoices", "SalesInvoiceLines", "VATCodes", "Units", "Currencies", "Employees",
       "Departments", "Divisions")


def _codes(state: ExactState, name: str) -> set[str]:
    return {str(r["Code"]).strip() for r in state.records[name].values()}


def _shown(state: ExactState, name: str) -> list[dict[str, Any]]:
    """The records without what differs between two fills of one seed (ids, times)."""
    hidden = {"ID", "InvoiceID", "OrderID", "QuotationID", "Timestamp", "Modified", "Created",
              "Account", "OrderedBy", "InvoiceTo", "OrderAccount", "Item"}
    return [{k: v for k, v in r.items() if k not in hidden} for r in state.records[name].values()]


def test_a_filled_division_holds_the_new_datatypes_with_valid_references() -> None:
    state = ExactState(division=4242)
    made = fill(state, 1000, 3)
    assert sum(made.values()) == 1000
    for name in NEW:
        assert made[name] > 0, name
        own = 1 if name == "Divisions" else 0  # the administration talk works in
        assert len(state.records[name]) == made[name] + own, name
    assert _codes(state, "Currencies") == {"EUR", "NOK", "SEK", "USD"}
    assert _codes(state, "Units") == {"pc", "box", "hour", "kg"}
    assert _codes(state, "VATCodes") == {"0", "1", "2"}

    items = state.records["Items"]
    for invoice in state.records["SalesInvoices"].values():
        assert invoice["OrderedBy"] in state.records["Accounts"]
        assert (invoice["Journal"], invoice["Type"], invoice["Status"]) == ("70", 8020, 20)
        assert invoice["Currency"] in _codes(state, "Currencies")
        assert invoice["Description"].startswith("Invoice ")
    lines = list(state.records["SalesInvoiceLines"].values())
    assert {line["InvoiceID"] for line in lines} == set(state.records["SalesInvoices"])
    for line in lines:
        assert line["Item"] in items
        assert line["VATCode"] in _codes(state, "VATCodes")
        assert line["UnitCode"] == items[line["Item"]]["Unit"]
    assert {item["Unit"] for item in items.values()} <= _codes(state, "Units")
    for name in ("SalesOrders", "Quotations"):
        assert {r["Currency"] for r in state.records[name].values()} <= _codes(
            state, "Currencies")

    employees = list(state.records["Employees"].values())
    assert len({e["BusinessEmail"] for e in employees}) == len(employees)
    assert all(e["FullName"] == f"{e['FirstName']} {e['LastName']}" for e in employees)
    assert all(e["Country"].strip() == "NL" and e["AddressStreetNumber"] for e in employees)
    departments = [d["Code"] for d in state.records["Departments"].values()]
    assert len(set(departments)) == len(departments)
    divisions = [d for d in state.records["Divisions"].values() if d["Code"] != 4242]
    assert all(d["Code"] > 4242 and d["Description"].startswith("Groothandel ")
               for d in divisions)


def test_the_company_grows_with_the_records_as_far_as_a_company_does() -> None:
    assert company_counts(SETUP_FROM - 1) == (
        False, {"Departments": 0, "Employees": 0, "Divisions": 0})
    assert company_counts(SETUP_FROM) == (
        True, {"Departments": 1, "Employees": 1, "Divisions": 1})
    assert company_counts(100_000) == (
        True, {"Departments": 60, "Employees": 3999, "Divisions": 12})


def test_the_same_seed_fills_the_same_division() -> None:
    first, again, other = ExactState(), ExactState(), ExactState()
    assert fill(first, 300, 9) == fill(again, 300, 9)
    fill(other, 300, 10)
    for name in NEW:
        assert _shown(first, name) == _shown(again, name), name
    assert _shown(first, "Employees") != _shown(other, "Employees")


def test_a_second_fill_adds_no_second_set_up_and_keeps_codes_and_emails_unique() -> None:
    state = ExactState()
    fill(state, 200, 1)
    made = fill(state, 200, 1)
    assert sum(made.values()) == 200
    assert (made["Currencies"], made["Units"], made["VATCodes"]) == (0, 0, 0)
    assert len(state.records["Units"]) == 4
    employees = [e["BusinessEmail"] for e in state.records["Employees"].values()]
    assert len(set(employees)) == len(employees) > 0
    codes = [d["Code"] for d in state.records["Departments"].values()]
    assert len(set(codes)) == len(codes) == 2


def test_a_small_fill_has_no_set_up_but_still_invoices() -> None:
    state = ExactState()
    made = fill(state, SETUP_FROM - 1, 2)
    assert sum(made.values()) == SETUP_FROM - 1
    assert (made["Units"], made["Employees"]) == (0, 0)
    assert made["SalesInvoices"] > 0
    assert all("VATCode" not in line for line in state.records["SalesInvoiceLines"].values())


@pytest.fixture
def filled() -> Iterator[ExactEmulator]:
    emulator = ExactEmulator(minutely_limit=100_000).start()
    try:
        fill(emulator.state, 400, 5)
        yield emulator
    finally:
        emulator.stop()


def test_a_sync_with_company_data_reads_every_filled_record_without_dead_letters(
        filled: ExactEmulator, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    erp = emulator_connector(filled, store, "erp", sleep=lambda _s: None, company_data=True)
    assert erp.spec is not None
    hub_spec, hub = hub_system()
    sync = Sync(store, [SystemInstance("erp", erp.spec, erp),
                        SystemInstance("hub", hub_spec, hub)], SyncSettings())
    try:
        for result in runs_until_quiet(sync, 4):
            assert result.status == "done", result.message
            assert not result.dead_letters, result.dead_letters[:3]
            assert not result.errors, result.errors[:3]
        linked: dict[tuple[str, str], int] = {}
        for system, datatype, global_type, count in store.link_counts():
            if system == "erp":
                linked[datatype, global_type] = count
    finally:
        sync.close()
    state = filled.state
    for name in (*NEW, "SalesOrders", "Quotations", "Accounts", "Contacts", "Items"):
        main = {"SalesInvoices": "agreement", "SalesInvoiceLines": "agreementline",
                "Employees": "human", "Departments": "organisation",
                "Divisions": "organisation", "SalesOrders": "agreement",
                "Quotations": "agreement", "Accounts": "organisation", "Contacts": "human",
                "Items": "product"}.get(name, "codelist")
        assert linked.get((name, main)) == len(state.records[name]), (name, linked)
    # an employee's home and a division's visiting address are locations of their own
    assert linked["Employees", "location"] == len(state.records["Employees"])
    assert linked["Divisions", "location"] == len(state.records["Divisions"])
    codes = {(r["kind"], r["code"]) for r in hub.records("codelist").values()}
    assert {("vat", "2"), ("unit", "hour"), ("currency", "NOK")} <= codes
