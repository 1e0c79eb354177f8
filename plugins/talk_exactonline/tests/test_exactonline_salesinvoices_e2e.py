"""Sales invoices between Invoiced and Exact Online, under Exact's rules for invoices.

An instance with ``invoices_as = "salesinvoices"`` creates Invoiced's
invoices as Exact sales invoices: posted with their lines in one request,
into the sales journal the instance names, numbered by Exact. A draft
changes and is deleted both ways; a processed invoice Exact refuses to
change, and talk keeps the refusal as a dead letter naming why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exact_worlds import Pair, emulated_pair, one, records

from talk_exactonline.emulator import ExactEmulator
from talk_invoiced.emulator import InvoicedEmulator


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with emulated_pair(5005) as (billing, erp):
        erp.state.sales_journals.add("71")
        yield Pair(billing, erp, tmp_path / "state.db", invoices_as="salesinvoices",
                   sales_journal="71")


def _lines(erp: ExactEmulator, invoice: dict[str, Any]) -> list[tuple[str, float, float]]:
    found = sorted(records(erp, "SalesInvoiceLines", InvoiceID=invoice["InvoiceID"]),
                   key=lambda x: x["LineNumber"])
    return [(erp.state.records["Items"][x["Item"]]["Code"].strip(), x["Quantity"],
             x["UnitPrice"]) for x in found]


def test_sales_invoices_flow_both_ways_and_processed_ones_stay_as_exact_has_them(
        pair: Pair) -> None:
    inv, erp = pair.inv, pair.erp
    acme = inv.create_customer({"name": "Acme AS", "email": "post@acme.no", "type": "company",
                                "city": "Oslo", "country": "NO", "currency": "nok"})
    inv.create_item({"id": "consulting", "name": "Consulting", "unit_cost": 150,
                     "currency": "nok"})
    inv.create_item({"id": "widget", "name": "Widget", "unit_cost": 20, "currency": "nok"})
    invoice_i = inv.create_invoice({
        "customer": acme["id"], "number": "INV-0001", "currency": "nok",
        "purchase_order": "PO-17",
        "items": [{"catalog_item": "consulting", "quantity": 2},
                  {"catalog_item": "widget", "quantity": 3}]})
    bakery = erp.state.create("Accounts", {"Name": "Bakkerij de Gouden Korst",
                                           "Email": "info@goudenkorst.nl", "City": "Utrecht",
                                           "Country": "NL"})
    beans = erp.state.create("Items", {"Code": "KOF-001", "Description": "Koffiebonen",
                                       "CostPriceStandard": 12.5})
    invoice_e = erp.state.create("SalesInvoices", {
        "OrderedBy": bakery["ID"], "Journal": "70", "Type": 8020, "Currency": "EUR",
        "InvoiceDate": "2024-09-16", "Description": "September",
        "SalesInvoiceLines": [{"Item": beans["ID"], "Quantity": 6, "UnitPrice": 18.5},
                              {"Item": beans["ID"], "Quantity": 1, "UnitPrice": 20}]})

    pair.settle()
    # Invoiced's invoice is an Exact sales invoice (not an order), in the instance's journal
    acme_e = one(erp, "Accounts", Name="Acme AS")
    assert records(erp, "SalesOrders") == []
    from_i = one(erp, "SalesInvoices", OrderedBy=acme_e["ID"])
    assert (from_i["Journal"], from_i["Type"], from_i["Currency"], from_i["YourRef"]) == (
        "71", 8020, "NOK", "PO-17")
    assert from_i["InvoiceNumber"] == 2  # Exact's number, after its own invoice's 1
    assert _lines(erp, from_i) == [("consulting", 2, 150), ("widget", 3, 20)]
    assert inv.invoices[invoice_i["id"]]["number"] == "INV-0001"
    # Exact's invoice is an Invoiced invoice of the bakery's customer, lines and all
    bakery_i = pair.customer("Bakkerij de Gouden Korst")
    [from_e] = [i for i in inv.invoices.values() if i["customer"] == bakery_i["id"]]
    assert (from_e["currency"], from_e["name"]) == ("eur", "September")
    assert [(x["catalog_item"], x["quantity"], x["unit_cost"]) for x in from_e["items"]] == [
        ("kof-001", 6, 18.5), ("kof-001", 1, 20)]

    # drafts change on either side: the header, and a line
    erp.state.update("SalesInvoices", invoice_e["InvoiceID"], {"Description": "Sept. 2024"})
    inv.update_invoice(invoice_i["id"], {"purchase_order": "PO-18", "items": [
        {"id": invoice_i["items"][0]["id"], "quantity": 4},
        {"id": invoice_i["items"][1]["id"]}]})
    pair.settle()
    assert inv.invoices[from_e["id"]]["name"] == "Sept. 2024"
    from_i = erp.state.records["SalesInvoices"][from_i["InvoiceID"]]
    assert from_i["YourRef"] == "PO-18"
    assert _lines(erp, from_i) == [("consulting", 4, 150), ("widget", 3, 20)]

    # a draft deleted in Exact is deleted in Invoiced, its lines with it
    erp.state.delete("SalesInvoices", invoice_e["InvoiceID"])
    pair.settle()
    assert from_e["id"] not in inv.invoices

    # once processed, Exact refuses changes: talk keeps the refusal, Exact keeps the invoice
    erp.state.records["SalesInvoices"][from_i["InvoiceID"]]["Status"] = 50
    inv.update_invoice(invoice_i["id"], {"purchase_order": "PO-19"})
    refused = pair.run()
    assert refused.status == "done", refused.message
    assert any("processed" in str(letter) for letter in refused.dead_letters), (
        refused.dead_letters)
    assert erp.state.records["SalesInvoices"][from_i["InvoiceID"]]["YourRef"] == "PO-18"
    inv.delete_invoice(invoice_i["id"])
    pair.run()
    assert from_i["InvoiceID"] in erp.state.records["SalesInvoices"]
    assert len(records(erp, "SalesInvoiceLines", InvoiceID=from_i["InvoiceID"])) == 2


def test_an_unknown_journal_is_refused_by_exact_and_nothing_is_half_made(
        tmp_path: Path) -> None:
    billing = InvoicedEmulator(api_key="key_billing").start()
    erp = ExactEmulator(division=5006, minutely_limit=10_000).start()
    try:
        pair = Pair(billing, erp, tmp_path / "state.db", invoices_as="salesinvoices",
                    sales_journal="99")
        acme = pair.inv.create_customer({"name": "Acme AS", "type": "company"})
        pair.inv.create_item({"id": "widget", "name": "Widget", "unit_cost": 20})
        pair.inv.create_invoice({"customer": acme["id"], "items": [
            {"catalog_item": "widget", "quantity": 1}]})
        result = pair.run()
        assert any("Journal 99 does not exist" in str(letter)
                   for letter in result.dead_letters), result.dead_letters
        assert records(erp, "SalesInvoices") == [] and records(erp, "SalesInvoiceLines") == []
    finally:
        billing.stop()
        erp.stop()
