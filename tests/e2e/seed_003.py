"""Seed 003, Custom Webshop to Invoiced, on both emulators: what is made and what must hold.

The seed's tables are empty: each section still names records that must
flow and stay linked. The rows below are properties both sides carry
(``seed=False``), checked after one sync and edited in Invoiced.
"""

from __future__ import annotations

from pathlib import Path

from seedflow import SOURCE, Dataflow, Record, Ref, Row, Section, unix_day
from seedrun import World
from seedsides import CustomSide, Emulators, InvoicedSide

DATAFLOW = Dataflow(
    seed="003", source_kind="customwebshop", target_kind="invoiced",
    records=(
        Record("fjellsport", SOURCE, "customer", {
            "name": "Fjellsport AS", "email": "ordre@fjellsport.no", "phone": "+47 61 00 00 00",
            "city": "Lillehammer", "postal_code": "2609", "country": "NO"}),
        Record("tent", SOURCE, "product", {
            "code": "TENT-2P", "name": "Tent for two", "price": 2499, "currency": "NOK"}),
        Record("order", SOURCE, "order", {
            "number": "WEB-5001", "customer": Ref("fjellsport"), "currency": "NOK",
            "date": "2024-09-02"}),
    ),
    sections=(
        Section("Customwebshop Customer to Invoiced Customers company",
                "organisation", "customer", "customers", "fjellsport", (
                    Row("name", "name", ("Fjellsport AS", "Fjellsport AS"), "Fjellsport Gruppen AS",
                        "Fjellsport Gruppen AS", seed=False),
                    Row("email", "email", ("ordre@fjellsport.no", "ordre@fjellsport.no"),
                        "faktura@fjellsport.no", "faktura@fjellsport.no", seed=False),
                    Row("phone", "phone", ("+47 61 00 00 00", "+47 61 00 00 00"),
                        "+47 61 11 11 11", "+47 61 11 11 11", seed=False),
                )),
        Section("Customwebshop Order to Invoiced Invoices",
                "agreement", "order", "invoices", "order", (
                    Row("number", "number", ("WEB-5001", "WEB-5001"), "WEB-5001-B", "WEB-5001-B",
                        seed=False),
                    Row("currency", "currency", ("NOK", "nok"), "eur", "EUR", seed=False),
                    Row("date", "date", ("2024-09-02", unix_day("2024-09-02")),
                        unix_day("2024-09-05"), "2024-09-05", seed=False),
                )),
        Section("Customwebshop Product to Invoiced Items",
                "product", "product", "items", "tent", (
                    Row("code", "id", ("TENT-2P", "tent-2p"), seed=False,
                        one_way="an Invoiced item's id is given when the item is made"),
                    Row("name", "name", ("Tent for two", "Tent for two"), "Tent for two, green",
                        "Tent for two, green", seed=False),
                    Row("price", "unit_cost", (2499, 2499), 2199.5, 2199.5, seed=False),
                )),
    ),
)


def world(root: Path, emulators: Emulators) -> World:
    return World(root, DATAFLOW, CustomSide("shop", emulators.custom("customwebshop")),
                 InvoicedSide("billing", emulators.invoiced("key_billing"), "BILLING_API_KEY"))
