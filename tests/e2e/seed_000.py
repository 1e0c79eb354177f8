"""Seed 000, Invoiced to Invoiced, on two emulated accounts: what is made and what must hold.

The seed's tables are empty: each section still names records that must
flow and stay linked. The rows below are properties the two facets share
(``seed=False``), checked after one sync and edited in the second account.
"""

from __future__ import annotations

from pathlib import Path

from seedflow import SOURCE, Dataflow, Record, Row, Section
from seedrun import World
from seedsides import Emulators, InvoicedSide

DATAFLOW = Dataflow(
    seed="000", source_kind="invoiced", target_kind="invoiced",
    records=(
        Record("acme", SOURCE, "customers", {
            "name": "Acme AS", "type": "company", "email": "post@acme.no",
            "phone": "+47 22 00 00 00", "city": "Oslo", "country": "NO",
            "postal_code": "0150"}),
        Record("kari", SOURCE, "customers", {
            "name": "Kari Nordmann", "type": "person", "email": "kari@example.no",
            "city": "Bergen", "country": "NO"}),
    ),
    sections=(
        Section("Invoiced Customers (human data) to Invoiced Customers (human data)",
                "human", "customers", "customers", "kari", (
                    Row("name", "name", ("Kari Nordmann", "Kari Nordmann"),
                        "Kari Nordmann Olsen", "Kari Nordmann Olsen", seed=False),
                    Row("email", "email", ("kari@example.no", "kari@example.no"),
                        "kari@nordmann.no", "kari@nordmann.no", seed=False),
                    Row("city", "city", ("Bergen", "Bergen"), "Voss", "Voss", seed=False),
                )),
        Section("Invoiced Customers (organisation data) to Invoiced Customers (organisation data)",
                "organisation", "customers", "customers", "acme", (
                    Row("name", "name", ("Acme AS", "Acme AS"), "Acme Holding AS",
                        "Acme Holding AS", seed=False),
                    Row("email", "email", ("post@acme.no", "post@acme.no"), "faktura@acme.no",
                        "faktura@acme.no", seed=False),
                    Row("phone", "phone", ("+47 22 00 00 00", "+47 22 00 00 00"),
                        "+47 23 00 00 00", "+47 23 00 00 00", seed=False),
                    Row("postal_code", "postal_code", ("0150", "0150"), "0151", "0151",
                        seed=False),
                )),
    ),
)


def world(root: Path, emulators: Emulators) -> World:
    return World(root, DATAFLOW,
                 InvoicedSide("group", emulators.invoiced("key_group"), "GROUP_API_KEY"),
                 InvoicedSide("subsidiary", emulators.invoiced("key_subsidiary"),
                              "SUBSIDIARY_API_KEY"))
