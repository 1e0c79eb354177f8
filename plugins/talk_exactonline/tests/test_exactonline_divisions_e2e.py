"""Two Exact divisions of one company keep their reference data alike, within Exact's rules.

VAT codes Exact lets be written: they flow both ways, edits and deletes
too. Units and currencies it only lets be read: a division that lacks one
is not written to, and a division's own unit or currency is linked to the
other's by its code without a write. An account's own address is a
"visit" location that does not become an extra address in the other
division, and a quotation's delivery date travels with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exact_worlds import Divisions, one, records, writes_to

from talk_exactonline.emulator import ExactEmulator


@pytest.fixture
def divisions(tmp_path: Path) -> Iterator[Divisions]:
    a = ExactEmulator(division=111, minutely_limit=10_000).start()
    b = ExactEmulator(division=222, minutely_limit=10_000).start()
    try:
        yield Divisions(a, b, tmp_path / "state.db")
    finally:
        a.stop()
        b.stop()


def test_vat_codes_units_and_currencies_between_two_divisions(divisions: Divisions) -> None:
    a, b = divisions.a, divisions.b
    high = a.state.create("VATCodes", {"Code": "2", "Description": "BTW hoog",
                                       "Percentage": 0.21, "Type": "E"})
    b.state.create("VATCodes", {"Code": "1", "Description": "BTW laag", "Percentage": 0.09,
                                "Type": "E"})
    for emu in (a, b):
        emu.state.create("Units", {"Code": "pc", "Description": "Piece",
                                   "Active": True})
        emu.state.create("Currencies", {"Code": "EUR", "Description": "Euro"})
    a.state.create("Units", {"Code": "box", "Description": "Box", "Active": True})
    a.state.create("Currencies", {"Code": "USD", "Description": "US dollar"})

    divisions.settle()
    high_b = one(b, "VATCodes", Code="2")
    assert (high_b["Description"], high_b["Percentage"], high_b.get("Type")) == (
        "BTW hoog", 0.21, None)  # the type is Exact's to default; talk sends the rate
    low_a = one(a, "VATCodes", Code="1")
    assert (low_a["Description"], low_a["Percentage"]) == ("BTW laag", 0.09)
    # read-only lists: nothing written to them, each division keeps its own
    assert sorted(u["Code"] for u in records(b, "Units")) == ["pc"]
    assert sorted(c["Code"] for c in records(b, "Currencies")) == ["EUR"]
    assert writes_to(a, "logistics/Units", "general/Currencies") == []
    assert writes_to(b, "logistics/Units", "general/Currencies") == []

    # edits on either side, a blocked code, a unit renamed where it cannot be written back
    b.state.update("VATCodes", high_b["ID"], {"Description": "BTW hoog tarief"})
    a.state.update("VATCodes", low_a["ID"], {"IsBlocked": True})
    [pc_a] = records(a, "Units", Code="pc")
    pc_a["Description"] = "Stuk"  # Exact's own screens change it; the API cannot
    divisions.settle()
    assert a.state.records["VATCodes"][high["ID"]]["Description"] == "BTW hoog tarief"
    assert one(b, "VATCodes", Code="1")["IsBlocked"] is True
    assert one(b, "Units", Code="pc")["Description"] == "Piece"
    assert writes_to(b, "logistics/Units") == []

    # a delete in one division deletes the code in the other
    a.state.delete("VATCodes", high["ID"])
    divisions.settle()
    assert records(b, "VATCodes", Code="2") == []
    assert [v["Code"] for v in records(a, "VATCodes")] == ["1"]

    writes_a, writes_b = len(a.writes()), len(b.writes())
    quiet = divisions.run()
    assert quiet.status == "done" and quiet.writes == 0, quiet.counts
    assert (len(a.writes()), len(b.writes())) == (writes_a, writes_b)


def test_account_address_and_quotation_delivery_date_between_two_divisions(
        divisions: Divisions) -> None:
    a, b = divisions.a, divisions.b
    account = a.state.create("Accounts", {"Name": "Brasserie Lumière", "City": "Antwerpen",
                                          "Postcode": "2000", "Country": "BE",
                                          "AddressLine1": "Groenplaats 9"})
    item = a.state.create("Items", {"Code": "KOF-001", "Description": "Koffiebonen"})
    quote = a.state.create("Quotations", {
        "OrderAccount": account["ID"], "Currency": "EUR", "Description": "Inrichting",
        "DeliveryDate": "2024-10-01",
        "QuotationLines": [{"Item": item["ID"], "Quantity": 2, "UnitPrice": 10}]})
    divisions.settle()

    account_b = one(b, "Accounts", Name="Brasserie Lumière")
    assert (account_b["AddressLine1"], account_b["City"]) == ("Groenplaats 9", "Antwerpen")
    # the account's own address is its visit address: not made again as an Addresses record
    assert records(b, "Addresses") == []
    quote_b = one(b, "Quotations", Description="Inrichting")
    assert quote_b["DeliveryDate"] == a.state.records["Quotations"][quote["QuotationID"]][
        "DeliveryDate"]

    first_date = quote_b["DeliveryDate"]
    b.state.update("Quotations", quote_b["QuotationID"], {"DeliveryDate": "2024-10-15"})
    b.state.update("Accounts", account_b["ID"], {"City": "Gent", "Postcode": "9000"})
    divisions.settle()
    moved = b.state.records["Quotations"][quote_b["QuotationID"]]["DeliveryDate"]
    assert moved != first_date
    assert a.state.records["Quotations"][quote["QuotationID"]]["DeliveryDate"] == moved
    assert a.state.records["Accounts"][account["ID"]]["City"] == "Gent"
    assert records(a, "Addresses") == [] and records(b, "Addresses") == []

    # deleting the account in one division deletes it in the other, and its address with it
    a.state.delete("Quotations", quote["QuotationID"])
    a.state.delete("Accounts", account["ID"])
    divisions.settle()
    assert records(b, "Accounts") == [] and records(b, "Quotations") == []
    quiet = divisions.run()
    assert quiet.status == "done" and quiet.writes == 0, quiet.counts


def test_sales_invoices_between_two_divisions_that_take_invoices_as_invoices(
        tmp_path: Path) -> None:
    a = ExactEmulator(division=111, minutely_limit=10_000).start()
    b = ExactEmulator(division=222, minutely_limit=10_000).start()
    try:
        divisions = Divisions(a, b, tmp_path / "state.db", invoices_as="salesinvoices")
        account = a.state.create("Accounts", {"Name": "Brasserie Lumière", "City": "Gent"})
        item = a.state.create("Items", {"Code": "KOF-001", "Description": "Koffiebonen"})
        invoice = a.state.create("SalesInvoices", {
            "OrderedBy": account["ID"], "Journal": "70", "Currency": "EUR",
            "InvoiceDate": "2024-09-30", "Description": "September", "YourRef": "LUM-9",
            "SalesInvoiceLines": [{"Item": item["ID"], "Quantity": 3, "UnitPrice": 12.5}]})
        divisions.settle()
        invoice_b = one(b, "SalesInvoices", YourRef="LUM-9")
        assert records(b, "SalesOrders") == []
        assert (invoice_b["Journal"], invoice_b["Type"], invoice_b["Description"],
                invoice_b["InvoiceDate"]) == ("70", 8020, "September", invoice["InvoiceDate"])
        [line_b] = records(b, "SalesInvoiceLines", InvoiceID=invoice_b["InvoiceID"])
        assert (line_b["Quantity"], line_b["UnitPrice"], line_b["LineNumber"]) == (3, 12.5, 1)

        # a line edited in b reaches a; the invoice deleted in a is deleted in b
        b.state.update("SalesInvoiceLines", line_b["ID"], {"Quantity": 4})
        divisions.settle()
        [line_a] = records(a, "SalesInvoiceLines", InvoiceID=invoice["InvoiceID"])
        assert line_a["Quantity"] == 4
        a.state.delete("SalesInvoices", invoice["InvoiceID"])
        divisions.settle()
        assert records(b, "SalesInvoices") == [] and records(b, "SalesInvoiceLines") == []
        quiet = divisions.run()
        assert quiet.status == "done" and quiet.writes == 0, quiet.counts
    finally:
        a.stop()
        b.stop()
