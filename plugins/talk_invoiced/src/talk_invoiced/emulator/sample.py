"""Realistic sample records for a fresh emulated account (``--seed``)."""

from __future__ import annotations

from talk_invoiced.emulator.state import Account


def seed(account: Account) -> None:
    """A handful of companies, a person, contacts, catalog items and invoices with lines."""
    with account.lock:
        acme = account.create_customer({
            "name": "Acme Corporation", "email": "billing@acme.example", "type": "company",
            "address1": "1 Main Street", "city": "Austin", "state": "TX",
            "postal_code": "78701", "country": "US", "phone": "+1 512 555 0100",
            "currency": "usd", "payment_terms": "NET 30",
        })
        nord = account.create_customer({
            "name": "Nordlys AS", "email": "faktura@nordlys.example", "type": "company",
            "address1": "Storgata 1", "city": "Oslo", "postal_code": "0155",
            "country": "NO", "currency": "nok", "tax_id": "NO912345678MVA",
        })
        account.create_customer({
            "name": "Kari Nordmann", "email": "kari@example.no", "type": "person",
            "address1": "Fjellveien 7", "city": "Bergen", "postal_code": "5003",
            "country": "NO",
        })
        account.create_contact(acme["id"], {
            "name": "Wile E. Coyote", "title": "Purchasing", "email": "wile@acme.example",
            "phone": "+1 512 555 0101", "city": "Austin", "country": "US",
        })
        account.create_contact(nord["id"], {
            "name": "Ola Hansen", "title": "CFO", "email": "ola@nordlys.example",
            "city": "Oslo", "country": "NO",
        })
        account.create_item({"id": "consulting", "name": "Consulting hour", "unit_cost": 150,
                             "currency": "usd", "type": "service",
                             "description": "One hour of consulting"})
        account.create_item({"id": "widget-a", "name": "Widget A", "unit_cost": 19.5,
                             "currency": "usd", "type": "product"})
        account.create_invoice({
            "customer": acme["id"], "currency": "usd", "purchase_order": "PO-1001",
            "discounts": [{"amount": 10}],
            "items": [{"catalog_item": "consulting", "quantity": 3},
                      {"catalog_item": "widget-a", "quantity": 10}],
        })
        account.create_invoice({
            "customer": nord["id"], "currency": "nok", "notes": "Thank you!",
            "items": [{"name": "Setup fee", "quantity": 1, "unit_cost": 2500}],
        })
