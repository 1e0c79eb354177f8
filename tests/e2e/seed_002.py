"""Seed 002, Invoiced to Custom PMS, on both emulators: what is made and what must hold.

The seed names one section three times, with empty tables: company
customers of Invoiced flow to the PMS as customers and stay linked. The
rows below are properties both sides carry (``seed=False``), checked after
one sync and edited in the PMS.
"""

from __future__ import annotations

from pathlib import Path

from seedflow import SOURCE, Dataflow, Record, Row, Section
from seedrun import World
from seedsides import CustomSide, Emulators, InvoicedSide

DATAFLOW = Dataflow(
    seed="002", source_kind="invoiced", target_kind="custompms",
    records=(
        Record("fjord", SOURCE, "customers", {
            "name": "Fjord Hotel AS", "type": "company", "email": "post@fjord.no",
            "phone": "+47 55 00 00 00", "address1": "Bryggen 1", "city": "Bergen",
            "postal_code": "5003", "country": "NO", "tax_id": "NO912345678MVA"}),
    ),
    sections=(
        Section("Invoiced Customers (organisation data) to Custom PMS Customer",
                "organisation", "customers", "customer", "fjord", (
                    Row("name", "name", ("Fjord Hotel AS", "Fjord Hotel AS"),
                        "Fjord Hotel Bryggen AS", "Fjord Hotel Bryggen AS", seed=False),
                    Row("email", "email", ("post@fjord.no", "post@fjord.no"),
                        "booking@fjord.no", "booking@fjord.no", seed=False),
                    Row("phone", "phone", ("+47 55 00 00 00", "+47 55 00 00 00"),
                        "+47 55 11 11 11", "+47 55 11 11 11", seed=False),
                    Row("address1", "address", ("Bryggen 1", "Bryggen 1"), "Bryggen 2",
                        "Bryggen 2", seed=False),
                    Row("postal_code", "postal_code", ("5003", "5003"), "5004", "5004",
                        seed=False),
                    Row("tax_id", "vat_number", ("NO912345678MVA", "NO912345678MVA"),
                        "NO912345679MVA", "NO912345679MVA", seed=False),
                )),
    ),
)


def world(root: Path, emulators: Emulators) -> World:
    return World(root, DATAFLOW,
                 InvoicedSide("billing", emulators.invoiced("key_billing"), "BILLING_API_KEY"),
                 CustomSide("pms", emulators.custom("custompms")))
