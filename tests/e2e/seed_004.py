"""Seed 004, Invoiced to Exact Online, on both emulators: what is made and what must hold.

Two records are made on the Exact side, each for a reason the declaration
states and checks against the routes: a person customer of Invoiced has no
account, so Exact has no contact to create for it and the pair is made by
linking an existing contact with the same e-mail; and a new Invoiced
invoice becomes an Exact sales order, so the quotation pairs start from a
quotation made in Exact Online (no setting routes an Invoiced invoice to
Quotations yet).

Edits of one Invoiced field that two sections carry (a customer's city is
its organisation's and its address's) are the same on both Exact records.
The sales order's discount edit lands together with a line's quantity edit:
Exact's 5 % becomes 5 % of the new subtotal, 2 x 150 + 4 x 20 = 380.
"""

from __future__ import annotations

from pathlib import Path

from seedflow import OWN_ID, SOURCE, TARGET, Dataflow, Record, Ref, Row, Section
from seedrun import World
from seedsides import Emulators, ExactSide, InvoicedSide

QUOTE_ORIGIN = ("a new Invoiced invoice becomes an Exact sales order, so this pair starts from a "
                "quotation made in Exact Online")

DATAFLOW = Dataflow(
    seed="004", source_kind="invoiced", target_kind="exactonline",
    records=(
        Record("acme", SOURCE, "customers", {
            "name": "Acme AS", "type": "company", "email": "post@acme.no", "city": "Oslo",
            "country": "NO", "postal_code": "0150", "currency": "nok"}),
        Record("kari", SOURCE, "customers", {
            "name": "Kari Nordmann", "type": "person", "email": "kari@example.no",
            "city": "Bergen", "country": "NO"}),
        Record("ola", SOURCE, "contacts", {
            "customer": Ref("acme"), "name": "Ola Hansen", "email": "ola@acme.no",
            "city": "Oslo", "country": "NO"}),
        Record("consulting", SOURCE, "items", {
            "id": "consulting", "name": "Consulting", "unit_cost": 150, "currency": "nok"}),
        Record("widget", SOURCE, "items", {
            "id": "widget", "name": "Widget", "unit_cost": 20, "currency": "nok"}),
        Record("invoice", SOURCE, "invoices", {
            "customer": Ref("acme"), "number": "INV-0001", "currency": "nok",
            "discounts": [{"amount": 36}],  # 10 % of 2 x 150 + 3 x 20
            "items": [{"catalog_item": "consulting", "quantity": 2},
                      {"catalog_item": "widget", "quantity": 3}]},
            lines=("consulting_line", "widget_line")),
        Record("bakery", TARGET, "Accounts", {
            "Name": "Bakkerij de Gouden Korst", "City": "Utrecht", "Country": "NL",
            "Email": "info@goudenkorst.nl"}),
        Record("kari_exact", TARGET, "Contacts", {
            "Account": Ref("bakery"), "FirstName": "Kari", "LastName": "Nordmann",
            "Email": "kari@example.no"}),
        Record("beans", TARGET, "Items", {
            "Code": "KOF-001", "Description": "Koffiebonen 1 kg", "CostPriceStandard": 12.5}),
        Record("quote", TARGET, "Quotations", {
            "OrderAccount": Ref("bakery"), "Currency": "EUR", "Description": "Koffie",
            "QuotationLines": [{"Item": Ref("beans"), "Quantity": 10, "UnitPrice": 18.5}]},
            lines=("quote_line",)),
    ),
    sections=(
        Section("Invoiced Customers (organisation data) to Exact Online Accounts",
                "organisation", "customers", "Accounts", "acme", (
                    Row("name", "Name", ("Acme AS", "Acme AS"), "Acme Norge AS",
                        "Acme Norge AS"),
                    Row("city", "City", ("Oslo", "Oslo"), "Drammen", "Drammen"),
                    Row("country", "Country", ("NO", "NO"), "SE", "SE"),
                    Row("id", "ID", (OWN_ID, OWN_ID),
                        one_way="each system assigns its own ids; talk's link ties the two"),
                    Row("postal_code", "Postcode", ("0150", "0150"), "3015", "3015"),
                )),
        Section("Invoiced Customers (human data) to Exact Online Contacts",
                "human", "customers", "Contacts", "kari", (
                    Row("city", "City", ("Bergen", "Bergen"), "Stavanger", "Stavanger"),
                    Row("country", "Country", ("NO", "NO"), "DK", "DK"),
                ),
                origin="Exact Online holds a contact only within an account: the person "
                       "customer is linked to the Exact contact with the same e-mail",
                probe="kari", counterpart="kari_exact"),
        Section("Invoiced Invoices to Exact Online Quotations",
                "agreement", "invoices", "Quotations", "quote", (
                    Row("currency", "Currency", ("eur", "EUR"), "USD", "usd"),
                ), origin=QUOTE_ORIGIN, probe="invoice"),
        Section("Invoiced Items to Exact Online Items",
                "product", "items", "Items", "consulting", (
                    Row("name", "Description", ("Consulting", "Consulting"),
                        "Consulting hours", "Consulting hours", seed=False),
                    Row("unit_cost", "CostPriceStandard", (150, 150), 160, 160, seed=False),
                )),
        Section("Invoiced Lineitem to Exact Online Quotations",
                "agreementline", "lineitems", "QuotationLines", "quote_line", (
                    Row("quantity", "Quantity", (10, 10), 12, 12, seed=False),
                ), origin=QUOTE_ORIGIN, probe="invoice"),
        Section("Invoiced Contacts to Exact Online Addresses",
                "location", "contacts", "Addresses", "ola", (
                    Row("city", "City", ("Oslo", "Oslo"), "Bergen", "Bergen"),
                )),
        Section("Invoiced Contacts to Exact Online Contacts",
                "human", "contacts", "Contacts", "ola", (
                    Row("city", "City", ("Oslo", "Oslo"), "Bergen", "Bergen"),
                )),
        Section("Invoiced Customers (location data) to Exact Online Addresses",
                "location", "customers", "Addresses", "acme", (
                    Row("city", "City", ("Oslo", "Oslo"), "Drammen", "Drammen"),
                    Row("country", "Country", ("NO", "NO"), "SE", "SE"),
                )),
        Section("Invoiced Invoices to Exact Online Salesorders",
                "agreement", "invoices", "SalesOrders", "invoice", (
                    Row("currency", "Currency", ("nok", "NOK"), "EUR", "eur"),
                    Row("discounts", "Discount", ([{"amount": 36}], 10), 5, [{"amount": 19}]),
                )),
        Section("Invoiced Lineitem to Exact Online Salesorderlines",
                "agreementline", "lineitems", "SalesOrderLines", "widget_line", (
                    Row("quantity", "Quantity", (3, 3), 4, 4, seed=False),
                )),
    ),
)


def world(root: Path, emulators: Emulators) -> World:
    return World(root, DATAFLOW, InvoicedSide("billing", emulators.invoiced("key_billing"),
                                              "BILLING_API_KEY"),
                 ExactSide("erp", emulators.exact()))
