"""Seed 004 end to end: Invoiced and Exact Online (both emulators) kept in sync by the engine.

Every section of seed 004 is covered with records made on both sides and
checked on the other with the listed properties equal after conversion;
then edits flow back from the side that did not create the record, one
property edited on both sides is a recorded conflict, deletes propagate,
Exact's daily budget runs out mid-run and the next day's run completes, and
a rerun writes nothing.

Decisions the test pins down (documented in the two plugins' mappings):

- An Invoiced invoice is an agreement of kind "invoice" and becomes an
  Exact *sales order*; an Exact quotation becomes an Invoiced invoice (the
  global kind stays "quote", so it stays linked to the quotation).
- Exact numbers its own documents: "INV-0001" is never sent to Exact; an
  Exact number that Invoiced already has is left for Invoiced to assign.
- Discounts are fractions in between: Invoiced amounts are taken of the
  invoice's subtotal (or the line's quantity x unit cost), Exact order
  discounts are percentages, Exact line discounts fractions.
- A person customer of Invoiced has no account in Exact, so it is not
  created there; it is linked to an Exact contact with the same e-mail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exact_worlds import Pair, emulated_pair, one, records

from talk_core.docs import parse_rst
from talk_exactonline.emulator import ExactEmulator
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.emulator.state import Account

SEED = next(Path("/work/shared/seeds").glob("004_*.txt"), None)

#: What this test checks for each section of seed 004 (heading -> where).
COVERED = {
    "Invoiced Customers (organisation data) to Exact Online Accounts": "accounts",
    "Invoiced Customers (human data) to Exact Online Contacts": "person",
    "Invoiced Customers (location data) to Exact Online Addresses": "addresses",
    "Invoiced Contacts to Exact Online Contacts": "contacts",
    "Invoiced Contacts to Exact Online Addresses": "addresses",
    "Invoiced Items to Exact Online Items": "items",
    "Invoiced Invoices to Exact Online Salesorders": "orders",
    "Invoiced Invoices to Exact Online Quotations": "quotes",
    "Invoiced Lineitem to Exact Online Salesorderlines": "orders",
    "Invoiced Lineitem to Exact Online Quotations": "quotes",
}


class World(Pair):
    """Both emulators, with talk's clock ``days_on`` days ahead: its budget's "tomorrow"."""

    def __init__(self, billing: InvoicedEmulator, erp: ExactEmulator, path: Path,
                 **erp_options: Any) -> None:
        super().__init__(billing, erp, path, clock=self.clock, **erp_options)
        self.days_on = 0

    def clock(self) -> float:
        return time.time() + self.days_on * 86400

    # -- Exact records --------------------------------------------------------
    def exact(self, name: str, **where: Any) -> dict[str, Any]:
        return one(self.erp, name, **where)

    def exact_all(self, name: str, **where: Any) -> list[dict[str, Any]]:
        return records(self.erp, name, **where)

    def exact_lines(self, name: str, parent_field: str, parent: str) -> list[dict[str, Any]]:
        return sorted(self.exact_all(name, **{parent_field: parent}),
                      key=lambda x: x["LineNumber"])

    # -- Invoiced records -----------------------------------------------------
    def contact(self, name: str) -> dict[str, Any]:
        [found] = [c for c in self.inv.contacts.values() if c["name"] == name]
        return found

    def invoices_of(self, customer: dict[str, Any]) -> list[dict[str, Any]]:
        return [i for i in self.inv.invoices.values() if i["customer"] == customer["id"]]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with emulated_pair(4004) as (billing, erp):
        yield World(billing, erp, tmp_path / "state.db")


@pytest.fixture
def quoting_world(tmp_path: Path) -> Iterator[World]:
    """Exact configured to take new invoices as quotations."""
    with emulated_pair(4004) as (billing, erp):
        yield World(billing, erp, tmp_path / "state.db", invoices_as="quotations")


def _code(text: str) -> str:
    return text.rjust(18)


def _populate_invoiced(inv: Account) -> dict[str, Any]:
    acme = inv.create_customer({"name": "Acme AS", "email": "post@acme.no", "type": "company",
                                "city": "Oslo", "country": "NO", "postal_code": "0150",
                                "currency": "nok"})
    kari = inv.create_customer({"name": "Kari Nordmann", "email": "kari@example.no",
                                "type": "person", "city": "Bergen", "country": "NO"})
    ola = inv.create_contact(acme["id"], {"name": "Ola Hansen", "email": "ola@acme.no",
                                          "title": "CFO", "city": "Oslo", "country": "NO"})
    inv.create_item({"id": "consulting", "name": "Consulting", "unit_cost": 150,
                     "currency": "nok"})
    inv.create_item({"id": "widget", "name": "Widget", "unit_cost": 20, "currency": "nok"})
    invoice = inv.create_invoice({
        "customer": acme["id"], "number": "INV-0001", "currency": "nok",
        "discounts": [{"amount": 36}],  # 10% of 2 x 150 + 3 x 20
        "items": [{"catalog_item": "consulting", "quantity": 2},
                  {"catalog_item": "widget", "quantity": 3}],
    })
    return {"acme": acme, "kari": kari, "ola": ola, "invoice": invoice}


def _populate_exact(erp: ExactEmulator) -> dict[str, Any]:
    state = erp.state
    bakery = state.create("Accounts", {
        "Name": "Bakkerij de Gouden Korst", "City": "Utrecht", "Postcode": "3511 AB",
        "Country": "NL", "Email": "info@goudenkorst.nl"})
    anna = state.create("Contacts", {
        "Account": bakery["ID"], "FirstName": "Anna", "LastName": "de Vries",
        "Email": "anna@goudenkorst.nl", "City": "Utrecht", "Country": "NL"})
    # the same person as Invoiced's person customer Kari (the e-mail is the match key)
    kari = state.create("Contacts", {
        "Account": bakery["ID"], "FirstName": "Kari", "LastName": "Nordmann",
        "Email": "kari@example.no", "City": "Bergen", "Country": "NO"})
    address = state.create("Addresses", {
        "Account": bakery["ID"], "Type": 3, "AddressLine1": "Oudegracht 112",
        "City": "Utrecht", "Postcode": "3511 AB", "Country": "NL"})
    beans = state.create("Items", {"Code": "KOF-001", "Description": "Koffiebonen 1 kg",
                                   "CostPriceStandard": 12.5, "Unit": "pc"})
    quote = state.create("Quotations", {
        "OrderAccount": bakery["ID"], "Currency": "EUR", "Description": "Koffie-inrichting",
        "QuotationLines": [{"Item": beans["ID"], "Quantity": 10, "UnitPrice": 18.5,
                            "Discount": 0.05}]})
    order = state.create("SalesOrders", {
        "OrderedBy": bakery["ID"], "Currency": "EUR", "Discount": 2.5,
        "Description": "Wekelijkse levering",
        "SalesOrderLines": [{"Item": beans["ID"], "Quantity": 6, "UnitPrice": 18.5}]})
    return {"bakery": bakery, "anna": anna, "kari": kari, "address": address,
            "beans": beans, "quote": quote, "order": order}


@pytest.mark.skipif(SEED is None, reason="seed 004 is not on this machine")
def test_seed_004_sections_are_all_covered() -> None:
    assert SEED is not None
    headings = {heading for heading, _rows in parse_rst(SEED.read_text())}
    assert headings == set(COVERED), headings ^ set(COVERED)


def test_invoiced_and_exact_sync_every_section_of_seed_004(world: World) -> None:
    inv, erp = world.inv, world.erp
    made_i = _populate_invoiced(inv)
    made_e = _populate_exact(erp)

    results = world.settle()
    assert not [c for r in results for c in r.conflicts if c.get("policy") != "first link"]

    # -- Customers (organisation data) <-> Accounts: name, city, country, postal code
    acme_e = world.exact("Accounts", Name="Acme AS")
    assert (acme_e["City"], acme_e["Country"].strip(), acme_e["Postcode"]) == (
        "Oslo", "NO", "0150")
    assert acme_e["Code"] == _code(str(made_i["acme"]["id"]))  # Invoiced id -> Code
    bakery_i = world.customer("Bakkerij de Gouden Korst")
    assert (bakery_i["type"], bakery_i["city"], bakery_i["country"],
            bakery_i["postal_code"]) == ("company", "Utrecht", "NL", "3511 AB")
    bakery_e = made_e["bakery"]

    # -- Customers (human data) <-> Contacts: the person customer is linked, not duplicated
    assert [c["name"] for c in inv.customers.values() if c["type"] == "person"] == [
        "Kari Nordmann"]
    assert len(world.exact_all("Contacts", Email="kari@example.no")) == 1
    assert not [c for c in inv.contacts.values() if c["email"] == "kari@example.no"]

    # -- Contacts <-> Contacts: city (and the employer)
    ola_e = world.exact("Contacts", Email="ola@acme.no")
    assert (ola_e["FirstName"], ola_e["LastName"], ola_e["City"], ola_e["Account"]) == (
        "Ola", "Hansen", "Oslo", acme_e["ID"])
    anna_i = world.contact("Anna de Vries")
    assert (anna_i["city"], anna_i["country"], anna_i["customer"]) == (
        "Utrecht", "NL", bakery_i["id"])

    # -- Customers (location data) <-> Addresses, Contacts <-> Addresses: city, country
    acme_invoice_address = world.exact("Addresses", Account=acme_e["ID"], Type=3)
    assert (acme_invoice_address["City"], acme_invoice_address["Country"].strip()) == (
        "Oslo", "NO")
    acme_postal = world.exact("Addresses", Account=acme_e["ID"], Type=2)
    assert acme_postal["City"] == "Oslo"  # Ola's address, owned by his customer
    # the bakery's invoice address (Exact) and its customer's address (Invoiced) are one
    assert world.exact_all("Addresses", Account=bakery_e["ID"], Type=3) == [
        erp.state.records["Addresses"][made_e["address"]["ID"]]]

    # -- Items <-> Items
    consulting_e = world.exact("Items", Code=_code("consulting"))
    assert (consulting_e["Description"], consulting_e["CostPriceStandard"]) == (
        "Consulting", 150)
    beans_i = inv.items["kof-001"]  # Invoiced's form of the code; the code itself is kept
    assert (beans_i["name"], beans_i["unit_cost"]) == ("Koffiebonen 1 kg", 12.5)
    assert beans_i["metadata"]["talk_code"] == "KOF-001"

    # -- Invoices <-> Salesorders (currency, discount), Lineitem <-> Salesorderlines
    order_e = world.exact("SalesOrders", OrderedBy=acme_e["ID"])
    assert (order_e["Currency"], order_e["Discount"]) == ("NOK", 10)  # 36 of 360 = 10%
    lines_e = world.exact_lines("SalesOrderLines", "OrderID", order_e["OrderID"])
    assert [(erp.state.records["Items"][x["Item"]]["Code"].strip(), x["Quantity"],
             x["UnitPrice"]) for x in lines_e] == [("consulting", 2, 150), ("widget", 3, 20)]
    bakery_invoices = world.invoices_of(bakery_i)
    assert len(bakery_invoices) == 2
    [from_order] = [i for i in bakery_invoices
                    if [line["quantity"] for line in i["items"]] == [6]]
    assert from_order["currency"] == "eur"
    # 2.5% of 6 x 18.50, rounded to the cent; the rate is kept for later lines
    assert from_order["discounts"] == [{"amount": 2.78}]
    assert from_order["metadata"]["talk_discount_rate"] == "0.025"
    assert [(x["catalog_item"], x["quantity"], x["unit_cost"]) for x in from_order["items"]] == [
        ("kof-001", 6, 18.5)]

    # -- Invoices <-> Quotations (currency), Lineitem <-> Quotations (lines inline)
    [from_quote] = [i for i in bakery_invoices if i is not from_order]
    assert from_quote["currency"] == "eur"
    [qline] = from_quote["items"]
    assert (qline["catalog_item"], qline["quantity"], qline["unit_cost"]) == (
        "kof-001", 10, 18.5)
    assert qline["discounts"] == [{"amount": 9.25}]  # 5% of 10 x 18.50
    # Exact numbers quotes and orders apart: one keeps Exact's number, the other gets Invoiced's
    assert sorted(str(i["number"]) == "1" for i in bakery_invoices) == [False, True]
    # the Invoiced invoice did not go to Quotations, and kept its own number
    assert len(erp.state.records["Quotations"]) == 1
    assert inv.invoices[made_i["invoice"]["id"]]["number"] == "INV-0001"
    assert order_e["OrderNumber"] != "INV-0001"

    # ======== edits on the side that did not create the record flow back ========
    world.erp.state.update("Accounts", acme_e["ID"], {
        "Name": "Acme Norge AS", "City": "Drammen", "Postcode": "3015", "Country": "SE"})
    inv.update_customer(bakery_i["id"], {"city": "Amersfoort", "postal_code": "3811 AA",
                                         "country": "BE"})
    erp.state.update("Contacts", ola_e["ID"], {"City": "Bergen"})
    inv.update_contact(bakery_i["id"], anna_i["id"], {"city": "Zeist"})
    erp.state.update("Contacts", made_e["kari"]["ID"], {"City": "Stavanger"})
    inv.update_customer(made_i["kari"]["id"], {"country": "DK"})
    erp.state.update("Items", consulting_e["ID"], {"Description": "Consulting hours",
                                                    "CostPriceStandard": 160})
    inv.update_item("kof-001", {"name": "Koffiebonen vers"})
    erp.state.update("SalesOrders", order_e["OrderID"], {"Currency": "EUR", "Discount": 5})
    inv.update_invoice(from_order["id"], {"currency": "usd", "discounts": [{"amount": 11.1}]})
    erp.state.update("Quotations", made_e["quote"]["QuotationID"], {"Currency": "USD"})
    erp.state.update("SalesOrderLines", lines_e[1]["ID"], {"Quantity": 4})
    inv.update_invoice(from_quote["id"], {"items": [{"id": qline["id"], "quantity": 12}]})
    world.settle()

    acme_i = inv.customers[made_i["acme"]["id"]]
    assert (acme_i["name"], acme_i["city"], acme_i["postal_code"], acme_i["country"]) == (
        "Acme Norge AS", "Drammen", "3015", "SE")
    acme_invoice_address = erp.state.records["Addresses"][acme_invoice_address["ID"]]
    assert (acme_invoice_address["City"], acme_invoice_address["Country"].strip()) == (
        "Drammen", "SE")  # the customer's address is also its location
    bakery_e = erp.state.records["Accounts"][bakery_e["ID"]]
    assert (bakery_e["City"], bakery_e["Postcode"], bakery_e["Country"].strip()) == (
        "Amersfoort", "3811 AA", "BE")
    bakery_address = erp.state.records["Addresses"][made_e["address"]["ID"]]
    assert (bakery_address["City"], bakery_address["Country"].strip()) == ("Amersfoort", "BE")
    assert world.contact("Ola Hansen")["city"] == "Bergen"
    assert erp.state.records["Addresses"][acme_postal["ID"]]["City"] == "Bergen"
    assert erp.state.records["Contacts"][made_e["anna"]["ID"]]["City"] == "Zeist"
    kari_i = inv.customers[made_i["kari"]["id"]]
    kari_e = erp.state.records["Contacts"][made_e["kari"]["ID"]]
    assert (kari_i["city"], kari_i["country"]) == ("Stavanger", "DK")
    assert (kari_e["City"], kari_e["Country"].strip()) == ("Stavanger", "DK")
    consulting_i = inv.items["consulting"]
    assert (consulting_i["name"], consulting_i["unit_cost"]) == ("Consulting hours", 160)
    assert erp.state.records["Items"][made_e["beans"]["ID"]]["Description"] == (
        "Koffiebonen vers")
    invoice_i = inv.invoices[made_i["invoice"]["id"]]
    # 5% of the new subtotal: 2 x 150 + 4 x 20 (the line's quantity was edited in Exact too)
    assert (invoice_i["currency"], invoice_i["discounts"]) == ("eur", [{"amount": 19}])
    order_from_bakery = erp.state.records["SalesOrders"][made_e["order"]["OrderID"]]
    assert (order_from_bakery["Currency"], order_from_bakery["Discount"]) == ("USD", 10)
    assert [x["quantity"] for x in inv.invoices[made_i["invoice"]["id"]]["items"]] == [2, 4]
    assert inv.invoices[from_quote["id"]]["currency"] == "usd"
    [quote_line_e] = world.exact_all("QuotationLines",
                                     QuotationID=made_e["quote"]["QuotationID"])
    assert quote_line_e["Quantity"] == 12
    # the line's 5% stays 5% of the new quantity
    assert inv.invoices[from_quote["id"]]["items"][0]["discounts"] == [{"amount": 11.1}]

    # ======== one property edited on both sides: a recorded conflict ========
    inv.update_customer(made_i["acme"]["id"], {"postal_code": "3016"})
    erp.state.update("Accounts", acme_e["ID"], {"Postcode": "3017"})
    inv.update_invoice(from_quote["id"], {"currency": "gbp"})
    results = world.settle()
    conflicts = [c for r in results for c in r.conflicts]
    assert [c for c in conflicts if c["property"] == "postal_code"], conflicts
    acme_i = inv.customers[made_i["acme"]["id"]]
    assert acme_i["postal_code"] == erp.state.records["Accounts"][acme_e["ID"]]["Postcode"]
    assert acme_i["postal_code"] in ("3016", "3017")
    assert erp.state.records["Quotations"][made_e["quote"]["QuotationID"]]["Currency"] == "GBP"

    # ======== deletes propagate, from either side ========
    inv.delete_customer(made_i["kari"]["id"])
    erp.state.delete("Contacts", ola_e["ID"])
    world.settle()
    assert made_e["kari"]["ID"] not in erp.state.records["Contacts"]
    assert not [c for c in inv.contacts.values() if c["name"] == "Ola Hansen"]
    assert erp.state.records["Contacts"].get(made_e["anna"]["ID"]) is not None

    # ======== Exact's daily budget runs out mid-run; the next day's run completes ========
    for n in range(4):
        inv.create_customer({"name": f"Kunde {n}", "type": "company", "city": "Tromsø",
                             "country": "NO"})
    # the reads take about 18 calls (a Sync API list per datatype, one sync/Deleted for
    # all, a listing of each datatype without a Sync API); a few writes fit after them,
    # not all eight
    erp.limits.used_day = erp.limits.daily - 21
    stopped = world.run()
    assert stopped.status == "budget", (stopped.status, stopped.message)
    assert "daily" in stopped.message
    assert not [c for c in erp.calls if c[2] == 429], "the connector caused a 429"
    arrived = [r for r in erp.state.records["Accounts"].values()
               if r["Name"].startswith("Kunde ")]
    addresses = [a for a in world.exact_all("Addresses", Type=3) if a["City"] == "Tromsø"]
    # four accounts and their four invoice addresses: some were written, not all
    assert 0 < len(arrived) + len(addresses) < 8, (len(arrived), len(addresses))
    erp.new_day()
    world.days_on = 1  # the budget kept from the stopped run has reset by now
    world.settle()
    arrived = sorted(r["Name"] for r in erp.state.records["Accounts"].values()
                     if r["Name"].startswith("Kunde "))
    assert arrived == ["Kunde 0", "Kunde 1", "Kunde 2", "Kunde 3"]
    assert len([a for a in world.exact_all("Addresses", Type=3)
                if a["City"] == "Tromsø"]) == 4

    # ======== and a rerun writes nothing anywhere ========
    writes = len(erp.writes())
    events = len(inv.events)
    final = world.run()
    assert final.status == "done" and final.writes == 0, final.counts
    assert final.conflicts == [] and final.dead_letters == []
    assert len(erp.writes()) == writes and len(inv.events) == events


def test_invoices_become_quotations_with_their_lines_when_the_instance_says_so(
        quoting_world: World) -> None:
    world, inv, erp = quoting_world, quoting_world.inv, quoting_world.erp
    made_i = _populate_invoiced(inv)
    made_e = _populate_exact(erp)
    world.settle()

    acme_e = world.exact("Accounts", Name="Acme AS")
    quote_e = world.exact("Quotations", OrderAccount=acme_e["ID"])
    assert quote_e["Currency"] == "NOK"
    assert world.exact_all("SalesOrders", OrderedBy=acme_e["ID"]) == []

    def quoted_lines() -> list[tuple[str, float, float]]:
        return [(erp.state.records["Items"][x["Item"]]["Code"].strip(), x["Quantity"],
                 x["UnitPrice"])
                for x in world.exact_lines("QuotationLines", "QuotationID",
                                           quote_e["QuotationID"])]

    assert quoted_lines() == [("consulting", 2, 150), ("widget", 3, 20)]
    # Exact's own documents keep their kinds: its order is still the only sales order
    assert [o["OrderID"] for o in erp.state.records["SalesOrders"].values()] == [
        made_e["order"]["OrderID"]]

    # a line added to the invoice later follows it to the quotation
    invoice = inv.invoices[made_i["invoice"]["id"]]
    inv.update_invoice(invoice["id"], {"items": [
        *({"id": line["id"]} for line in invoice["items"]),
        {"catalog_item": "consulting", "quantity": 5}]})
    world.settle()
    assert quoted_lines() == [("consulting", 2, 150), ("widget", 3, 20),
                              ("consulting", 5, 150)]
    assert erp.state.records["SalesOrderLines"].keys() == {
        line["ID"] for line in world.exact_all("SalesOrderLines",
                                               OrderID=made_e["order"]["OrderID"])}


def test_an_exact_account_edited_in_exact_reaches_its_exact_address_in_the_same_run(
        world: World) -> None:
    inv, erp = world.inv, world.erp
    made_i = _populate_invoiced(inv)
    _populate_exact(erp)
    world.settle()
    acme_e = world.exact("Accounts", Name="Acme AS")
    address = world.exact("Addresses", Account=acme_e["ID"], Type=3)
    erp.state.update("Accounts", acme_e["ID"], {"City": "Drammen", "Postcode": "3015"})
    result = world.run()
    assert result.status == "done" and not result.dead_letters and not result.conflicts
    # Exact's account reaches Invoiced's customer as organisation data; the customer's
    # address is also its location, which the same run carries to Exact's invoice address
    acme_i = inv.customers[made_i["acme"]["id"]]
    assert (acme_i["city"], acme_i["postal_code"]) == ("Drammen", "3015")
    address = erp.state.records["Addresses"][address["ID"]]
    assert (address["City"], address["Postcode"]) == ("Drammen", "3015")
    assert result.counts[("erp", "Addresses")]["update"] == 1
    writes, events = len(erp.writes()), len(inv.events)
    again = world.run()
    assert again.status == "done" and again.writes == 0, again.counts
    assert len(erp.writes()) == writes and len(inv.events) == events
