"""Seed 001, Custom CRM to Invoiced, on both emulators: what is made and what must hold.

The seed's tables are empty: each section still names records that must
flow and stay linked. The rows below are properties both sides carry
(``seed=False``), checked after one sync and edited in Invoiced. A CRM user
billed for a licence is an agreement, so it becomes an Invoiced invoice.
"""

from __future__ import annotations

from pathlib import Path

from seedflow import SOURCE, Dataflow, Record, Ref, Row, Section, unix_day
from seedrun import World
from seedsides import CustomSide, Emulators, InvoicedSide

DATAFLOW = Dataflow(
    seed="001", source_kind="customcrm", target_kind="invoiced",
    records=(
        Record("havblikk", SOURCE, "customer", {
            "name": "Havblikk AS", "email": "post@havblikk.no", "phone": "+47 73 00 00 00",
            "city": "Trondheim", "postal_code": "7010", "country": "NO"}),
        Record("bread", SOURCE, "product", {
            "code": "BREAD-1", "name": "Bread", "price": 59, "currency": "NOK"}),
        Record("order", SOURCE, "order", {
            "number": "1001", "customer": Ref("havblikk"), "currency": "NOK",
            "date": "2024-09-02"}),
        Record("seat", SOURCE, "user", {
            "name": "Front desk", "email": "desk@havblikk.no", "role": "agent",
            "licence_number": "LIC-42", "account": Ref("havblikk"), "plan": "CRM seat",
            "currency": "NOK", "licence_start": "2024-09-01"}),
    ),
    sections=(
        Section("Customcrm Customer to Invoiced Customers company",
                "organisation", "customer", "customers", "havblikk", (
                    Row("name", "name", ("Havblikk AS", "Havblikk AS"), "Havblikk Holding AS",
                        "Havblikk Holding AS", seed=False),
                    Row("email", "email", ("post@havblikk.no", "post@havblikk.no"),
                        "faktura@havblikk.no", "faktura@havblikk.no", seed=False),
                    Row("phone", "phone", ("+47 73 00 00 00", "+47 73 00 00 00"),
                        "+47 73 11 11 11", "+47 73 11 11 11", seed=False),
                )),
        Section("Customcrm Order to Invoiced Invoices",
                "agreement", "order", "invoices", "order", (
                    Row("number", "number", ("1001", "1001"), "1001-B", "1001-B", seed=False),
                    Row("currency", "currency", ("NOK", "nok"), "eur", "EUR", seed=False),
                    Row("date", "date", ("2024-09-02", unix_day("2024-09-02")),
                        unix_day("2024-09-05"), "2024-09-05", seed=False),
                )),
        Section("Customcrm Product to Invoiced Items",
                "product", "product", "items", "bread", (
                    Row("code", "id", ("BREAD-1", "bread-1"), seed=False,
                        one_way="an Invoiced item's id is given when the item is made"),
                    Row("name", "name", ("Bread", "Bread"), "Rye bread", "Rye bread", seed=False),
                    Row("price", "unit_cost", (59, 59), 65.5, 65.5, seed=False),
                )),
        Section("Customcrm User to Invoiced Invoices",
                "agreement", "user", "invoices", "seat", (
                    Row("plan", "name", ("CRM seat", "CRM seat"), "CRM seat plus",
                        "CRM seat plus", seed=False),
                    Row("currency", "currency", ("NOK", "nok"), "sek", "SEK", seed=False),
                    Row("licence_start", "date", ("2024-09-01", unix_day("2024-09-01")),
                        unix_day("2024-09-15"), "2024-09-15", seed=False),
                )),
    ),
)


def world(root: Path, emulators: Emulators) -> World:
    return World(root, DATAFLOW, CustomSide("crm", emulators.custom("customcrm")),
                 InvoicedSide("billing", emulators.invoiced("key_billing"), "BILLING_API_KEY"))
