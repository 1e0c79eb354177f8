"""Seed 001, Custom CRM to Invoiced: customers, products, orders and licences become billing.

Customcrm Customer -> Invoiced Customers company, Customcrm Product ->
Invoiced Items, Customcrm Order -> Invoiced Invoices (its order lines
become line items), Customcrm User -> Invoiced Invoices (a user billed for
a licence seat is an agreement with the account that pays for it). An
emulated CRM gets a few of each; the first sync creates them in an emulated
Invoiced account. An e-mail address changed in Invoiced then flows back to
the CRM on the second sync.

    python examples/seed_001_customcrm_to_invoiced.py
"""

from __future__ import annotations

from _emulated import edit, emulated, one, put, records, run, show


def main() -> None:
    with emulated({"crm": "customcrm", "billing": "invoiced"}) as sync:
        acme = put(sync, "crm", "customer", {
            "name": "Acme AS", "email": "post@acme.no", "phone": "+47 22 00 00 01",
            "address": "Storgata 1", "city": "Oslo", "postal_code": "0150", "country": "NO",
            "vat_number": "NO999888777MVA"})
        put(sync, "crm", "customer", {"name": "Bolt AB", "email": "hej@bolt.se",
                                      "city": "Malmö", "country": "SE"})
        bread = put(sync, "crm", "product", {
            "code": "BREAD-1", "name": "Sourdough loaf", "description": "800 g",
            "price": 59, "currency": "NOK"})
        order = put(sync, "crm", "order", {
            "number": "1001", "customer": acme.id, "currency": "NOK", "date": "2024-09-02",
            "status": "open"})
        put(sync, "crm", "orderline", {"order": order.id, "product": bread.id,
                                       "quantity": 12, "unit_price": 59})
        put(sync, "crm", "user", {
            "name": "Per Olsen", "email": "per@acme.no", "role": "sales",
            "licence_number": "LIC-7", "account": acme.id, "plan": "CRM Pro seat",
            "currency": "NOK", "licence_start": "2024-09-01", "licence_status": "active"})

        run(sync, "First sync")
        print("In Invoiced:")
        show("Customcrm Customer to Invoiced Customers company",
             [c for c in records(sync, "billing", "customers")
              if c.properties.get("type") == "company"],
             ("name", "type", "email", "city", "country", "tax_id"))
        invoices = records(sync, "billing", "invoices")
        show("Customcrm Order to Invoiced Invoices",
             [i for i in invoices if i.properties.get("number") == "1001"],
             ("number", "currency", "name"))
        show("Customcrm Product to Invoiced Items", records(sync, "billing", "items"),
             ("id", "name", "description", "unit_cost"))
        show("Customcrm User to Invoiced Invoices",
             [i for i in invoices if i.properties.get("number") == "LIC-7"],
             ("number", "currency", "name"))
        show("(order lines as line items)", records(sync, "billing", "lineitems"),
             ("catalog_item", "quantity", "unit_cost"))

        billed = one(sync, "billing", "customers", name="Acme AS")
        edit(sync, "billing", "customers", billed.id, email="faktura@acme.no")
        print("\nEdited in Invoiced: Acme AS email = 'faktura@acme.no'")

        run(sync, "Second sync")
        back = one(sync, "crm", "customer", name="Acme AS")
        print(f"In the CRM: Acme AS email = {back.properties['email']!r}")
        if back.properties["email"] != "faktura@acme.no":
            raise SystemExit("the edit made in Invoiced did not reach the CRM")


if __name__ == "__main__":
    main()
