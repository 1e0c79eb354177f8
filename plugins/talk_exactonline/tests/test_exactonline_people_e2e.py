"""People and the company's own structure, between Exact Online and Invoiced.

Employees, departments and divisions Exact only lets be read: they flow out
to Invoiced (an employee is a person customer, a department or a division a
company), edits made in Exact follow, and nothing is ever written back to
Exact; a customer deleted in Invoiced leaves Exact's record alone, and the
next run brings it back, since Exact is where it lives. Accounts that the
instance's ``person_accounts`` rule calls persons are Invoiced person
customers, both ways.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exact_worlds import Pair, emulated_pair, one, records, writes_to

from talk_exactonline.emulator import ExactEmulator
from talk_invoiced.emulator import InvoicedEmulator

READ_ONLY = ("payroll/Employees", "hrm/Departments", "hrm/Divisions")


@pytest.fixture
def emulators() -> Iterator[tuple[InvoicedEmulator, ExactEmulator]]:
    with emulated_pair(6006) as emulators:
        yield emulators


def test_employees_departments_and_divisions_flow_out_of_exact_only(
        emulators: tuple[InvoicedEmulator, ExactEmulator], tmp_path: Path) -> None:
    billing, erp = emulators
    pair = Pair(billing, erp, tmp_path / "state.db", company_data=True)
    jan = erp.state.create("Employees", {
        "ID": "5f0c8a57-0000-4000-8000-000000000001", "FirstName": "Jan",
        "LastName": "de Boer", "FullName": "Jan de Boer",
        "BusinessEmail": "jan@koffiebranderij.nl", "Email": "jan.deboer@home.nl",
        "BusinessPhone": "+31 30 555 0101", "Phone": "+31 6 5555 0101",
        "BirthDate": "1985-04-12", "AddressStreet": "Kerkstraat",
        "AddressStreetNumber": "12", "AddressStreetNumberSuffix": "a",
        "City": "Utrecht", "Postcode": "3511 AA", "Country": "NL", "IsActive": True})
    sales = erp.state.create("Departments", {
        "ID": "5f0c8a57-0000-4000-8000-000000000002", "Code": "VK",
        "Description": "Verkoop", "Notes": "binnendienst"})
    # the administration talk works in is always there; this gives it its company's details
    erp.state.update("Divisions", "6006", {
        "Description": "Koffiebranderij BV", "Website": "koffie.example",
        "Email": "info@koffie.example", "ChamberOfCommerceNumber": "30999999",
        "AddressLine1": "Havenweg 1", "City": "Utrecht", "Postcode": "3542 AD",
        "Country": "NL", "Currency": "EUR"})

    pair.settle()
    jan_i = pair.customer("Jan de Boer")
    assert (jan_i["type"], jan_i["email"], jan_i["phone"]) == (
        "person", "jan@koffiebranderij.nl", "+31 30 555 0101")  # work e-mail and phone
    assert (jan_i["address1"], jan_i["city"], jan_i["postal_code"], jan_i["country"]) == (
        "Kerkstraat 12 a", "Utrecht", "3511 AA", "NL")
    sales_i = pair.customer("Verkoop")
    assert (sales_i["type"], sales_i["notes"]) == ("company", "binnendienst")
    division_i = pair.customer("Koffiebranderij BV")
    assert (division_i["type"], division_i["email"], division_i["city"],
            division_i["currency"]) == ("company", "info@koffie.example", "Utrecht", "eur")
    assert writes_to(erp, *READ_ONLY) == []

    # an edit in Exact follows; an edit in Invoiced is not written back to Exact
    erp.state.records["Employees"][jan["ID"]]["City"] = "Zeist"
    billing.account.update_customer(division_i["id"], {"phone": "+31 30 000 0000"})
    result = pair.settle()[0]
    assert pair.customer("Jan de Boer")["city"] == "Zeist"
    assert not result.dead_letters
    assert writes_to(erp, *READ_ONLY) == []
    assert "Phone" not in one(erp, "Divisions", Code=6006)

    # a customer deleted in Invoiced leaves the department in Exact, and it comes back
    billing.account.delete_customer(sales_i["id"])
    absorbed = pair.run()
    assert absorbed.status == "done" and absorbed.writes == 0 and not absorbed.dead_letters
    assert sales["ID"] in erp.state.records["Departments"]
    assert pair.customers("Verkoop") == []
    pair.settle()  # the next run reads the department as Exact's own again
    assert pair.customer("Verkoop")["notes"] == "binnendienst"
    assert writes_to(erp, *READ_ONLY) == []

    # an employee gone from Exact is gone from Invoiced
    del erp.state.records["Employees"][jan["ID"]]
    pair.settle()
    assert pair.customers("Jan de Boer") == []

    quiet = pair.run()
    assert quiet.status == "done" and quiet.writes == 0, quiet.counts


def test_accounts_the_rule_calls_persons_are_person_customers_both_ways(
        emulators: tuple[InvoicedEmulator, ExactEmulator], tmp_path: Path) -> None:
    billing, erp = emulators
    pair = Pair(billing, erp, tmp_path / "state.db",
                person_accounts="ChamberOfCommerce empty and VATNumber empty")
    inv = billing.account
    kari = inv.create_customer({"name": "Kari Nordmann", "email": "kari@example.no",
                                "type": "person", "city": "Bergen", "country": "NO"})
    inv.create_customer({"name": "Acme AS", "type": "company", "tax_id": "NO999888777",
                         "city": "Oslo", "country": "NO"})
    pieter = erp.state.create("Accounts", {"Name": "Pieter Jansen", "Email": "pieter@mail.nl",
                                           "City": "Delft", "Country": "NL"})
    erp.state.create("Accounts", {"Name": "Bakkerij de Gouden Korst",
                                  "ChamberOfCommerce": "30123456", "City": "Utrecht",
                                  "Country": "NL"})

    pair.settle()
    kari_e = one(erp, "Accounts", Name="Kari Nordmann")
    assert (kari_e["Email"], kari_e["City"], kari_e.get("ChamberOfCommerce")) == (
        "kari@example.no", "Bergen", None)
    assert one(erp, "Accounts", Name="Acme AS")["VATNumber"] == "NO999888777"
    assert records(erp, "Contacts") == []  # a person of their own is no account's contact
    pieter_i = pair.customer("Pieter Jansen")
    assert (pieter_i["type"], pieter_i["email"], pieter_i["city"]) == (
        "person", "pieter@mail.nl", "Delft")
    assert pair.customer("Bakkerij de Gouden Korst")["type"] == "company"

    erp.state.update("Accounts", pieter["ID"], {"City": "Leiden"})
    inv.update_customer(kari["id"], {"phone": "+47 555 12 345"})
    pair.settle()
    assert pair.customer("Pieter Jansen")["city"] == "Leiden"
    assert erp.state.records["Accounts"][kari_e["ID"]]["Phone"] == "+47 555 12 345"

    erp.state.delete("Accounts", pieter["ID"])
    inv.delete_customer(kari["id"])
    pair.settle()
    assert pair.customers("Pieter Jansen") == []
    assert kari_e["ID"] not in erp.state.records["Accounts"]
    quiet = pair.run()
    assert quiet.status == "done" and quiet.writes == 0, quiet.counts
