"""Seed 004, Invoiced to Exact Online: billing records kept in step with the ERP.

Every section of the seed: Invoiced Customers (organisation data) ->
Accounts, Customers (location data) -> Addresses, Customers (human data)
-> Contacts, Contacts -> Contacts and Addresses, Items -> Items, Invoices
-> Salesorders with Lineitem -> Salesorderlines (and inline in the order),
Invoices -> Quotations with Lineitem -> Quotations.

An emulated Invoiced account gets a company with an address and a contact,
a person, two items and an invoice with a discount. Two kinds of Exact
record are only ever paired, never created from Invoiced, so the emulated
Exact division already holds them: a contact with the person's e-mail
address (Exact keeps contacts under accounts, and a person on their own
has none), and a quotation (an Invoiced invoice becomes a sales order,
while a quotation made in Exact becomes an Invoiced invoice that keeps it
in sync). After the first sync, a city changed in Exact flows back to
Invoiced, and a currency changed on the invoice paired with the quotation
reaches the quotation.

    python examples/seed_004_invoiced_to_exactonline.py
"""

from __future__ import annotations

from _emulated import edit, emulated, one, put, records, run, show

from talk_core import Sync


def _invoiced_records(sync: Sync) -> None:
    acme = put(sync, "billing", "customers", {
        "name": "Acme Norge AS", "type": "company", "email": "post@acme.no",
        "address1": "Storgata 1", "city": "Oslo", "postal_code": "0150", "country": "NO",
        "currency": "nok"})
    put(sync, "billing", "contacts", {
        "customer": acme.id, "name": "Ola Hansen", "email": "ola@acme.no", "title": "CFO",
        "address1": "Postboks 12", "city": "Oslo", "postal_code": "0101", "country": "NO"})
    put(sync, "billing", "customers", {
        "name": "Kari Nordmann", "type": "person", "email": "kari@example.no",
        "city": "Bergen", "country": "NO"})
    put(sync, "billing", "items", {"id": "consulting", "name": "Consulting",
                                   "unit_cost": 150, "currency": "nok"})
    put(sync, "billing", "items", {"id": "widget", "name": "Widget", "unit_cost": 20,
                                   "currency": "nok"})
    put(sync, "billing", "invoices", {
        "customer": acme.id, "number": "INV-0001", "currency": "nok",
        "discounts": [{"amount": 36}],  # 10% of 2 x 150 + 3 x 20
        "items": [{"catalog_item": "consulting", "quantity": 2},
                  {"catalog_item": "widget", "quantity": 3}]})


def _exact_records(sync: Sync) -> None:
    bakery = put(sync, "erp", "Accounts", {
        "Name": "Bakkerij de Gouden Korst", "City": "Utrecht", "Postcode": "3511 AB",
        "Country": "NL", "Email": "info@goudenkorst.nl"})
    put(sync, "erp", "Contacts", {
        "Account": bakery.id, "FullName": "Kari Nordmann", "Email": "kari@example.no",
        "City": "Bergen", "Country": "NO"})
    beans = put(sync, "erp", "Items", {"Code": "KOF-001", "Description": "Koffiebonen 1 kg",
                                       "CostPriceStandard": 12.5})
    put(sync, "erp", "Quotations", {
        "OrderAccount": bakery.id, "Currency": "EUR", "Description": "Koffie-inrichting",
        "QuotationLines": [{"Item": beans.id, "Quantity": 10, "UnitPrice": 18.5}]})


def main() -> None:
    with emulated({"billing": "invoiced", "erp": "exactonline"}) as sync:
        _invoiced_records(sync)
        _exact_records(sync)

        run(sync, "First sync")
        print("In Exact Online:")
        accounts = records(sync, "erp", "Accounts")
        show("Invoiced Customers (organisation data) to Exact Online Accounts", accounts,
             ("Name", "City", "Postcode", "Country", "Code"))
        addresses = records(sync, "erp", "Addresses")
        show("Invoiced Customers (location data) to Exact Online Addresses",
             [a for a in addresses if a.properties.get("Type") == 3],
             ("Type", "AddressLine1", "City", "Country"))
        contacts = records(sync, "erp", "Contacts")
        show("Invoiced Customers (human data) to Exact Online Contacts (paired by e-mail)",
             [c for c in contacts if c.properties.get("Email") == "kari@example.no"],
             ("FullName", "Email", "City"))
        show("Invoiced Contacts to Exact Online Contacts",
             [c for c in contacts if c.properties.get("Email") == "ola@acme.no"],
             ("FullName", "Email", "JobTitleDescription", "City"))
        show("Invoiced Contacts to Exact Online Addresses",
             [a for a in addresses if a.properties.get("Type") == 2],
             ("Type", "AddressLine1", "City", "Postcode"))
        show("Invoiced Items to Exact Online Items", records(sync, "erp", "Items"),
             ("Code", "Description", "CostPriceStandard"))
        show("Invoiced Invoices to Exact Online Salesorders",
             records(sync, "erp", "SalesOrders"),
             ("OrderNumber", "Currency", "Discount", "Description"))
        show("Invoiced Lineitem to Exact Online Salesorderlines",
             records(sync, "erp", "SalesOrderLines"), ("Quantity", "UnitPrice", "LineNumber"))
        show("Invoiced Invoices to Exact Online Quotations (made in Exact, now paired)",
             records(sync, "erp", "Quotations"), ("QuotationNumber", "Currency",
                                                  "Description"))
        show("Invoiced Lineitem to Exact Online Quotations (its lines)",
             records(sync, "erp", "QuotationLines"), ("Quantity", "UnitPrice"))
        print("In Invoiced, from Exact Online:")
        show("the quotation's invoice", [i for i in records(sync, "billing", "invoices")
                                         if i.properties.get("currency") == "eur"],
             ("number", "currency", "name"))

        account = one(sync, "erp", "Accounts", Name="Acme Norge AS")
        edit(sync, "erp", "Accounts", account.id, City="Drammen", Postcode="3015")
        print("\nEdited in Exact Online: Acme Norge AS City = 'Drammen', Postcode = '3015'")
        quoted = one(sync, "billing", "invoices", currency="eur")
        edit(sync, "billing", "invoices", quoted.id, currency="usd")
        print(f"Edited in Invoiced: invoice {quoted.properties['number']} currency = 'usd'")

        run(sync, "Second sync")
        back = one(sync, "billing", "customers", name="Acme Norge AS")
        print(f"In Invoiced: Acme Norge AS city = {back.properties['city']!r}, "
              f"postal_code = {back.properties['postal_code']!r}")
        [quote] = records(sync, "erp", "Quotations")
        print(f"In Exact Online: quotation Currency = {quote.properties['Currency']!r}")
        if (back.properties["city"], quote.properties["Currency"]) != ("Drammen", "USD"):
            raise SystemExit("an edit did not reach the other system")


if __name__ == "__main__":
    main()
