"""Filling an emulated account with generated records, for trying talk at scale.

The records come from ``talk_core.emulation_fill`` in global terms and are
written here as Invoiced keeps them: organisations as company customers,
people as contacts of their customer, products as catalog items and
agreements as invoices with their lines (Invoiced has no orders or quotes;
an address is part of its customer, so no separate ones are made). Each
customer has at most one contact, see ``fill``.
"""

from __future__ import annotations

import calendar
from datetime import date

from talk_core.emulation_fill import generate
from talk_invoiced.emulator.state import Account

#: The global datatypes an Invoiced account holds records of.
KINDS = ("organisation", "human", "product", "agreement", "agreementline")


def _unix(day: str) -> int:
    return calendar.timegm(date.fromisoformat(day).timetuple())


def fill(account: Account, records: int, seed: int) -> dict[str, int]:
    """Add ``records`` generated records; answer how many of each datatype were made."""
    sample = generate(records, seed, KINDS)
    with account.lock:
        customers: list[int] = []
        first = account.sequences.get("CUST", 0)
        for i, org in enumerate(sample["organisation"]):
            made = account.create_customer({
                "name": org["name"], "number": f"CUST-{first + i + 1:04d}", "type": "company",
                "email": org["email"], "phone": org["phone"], "address1": org["address_line1"],
                "city": org["city"], "postal_code": org["postal_code"],
                "country": org["country"], "currency": org["currency"].lower(),
            }, new_number=True)
            customers.append(made["id"])
        account.sequences["CUST"] = first + len(customers)
        for i, human in enumerate(sample["human"]):
            # Each person a contact of a customer of its own (there are never fewer
            # customers than people), so every customer of a fill looks alike.
            account.create_contact(customers[i], {
                "name": human["name"], "title": human["title"], "email": human["email"],
                "phone": human["phone"]})
        items: list[str] = []
        for product in sample["product"]:
            ident = f"gen-{product['code'].lower()}"
            while ident in account.items:  # an earlier fill made this one
                ident += "-x"
            account.create_item({
                "id": ident, "name": product["name"], "description": product["description"],
                "unit_cost": float(product["unit_price"]), "currency": product["currency"].lower(),
                "type": "product"})
            items.append(ident)
        lines: dict[int, list[dict[str, object]]] = {}
        for line in sample["agreementline"]:
            entry: dict[str, object] = {"quantity": int(line["quantity"]),
                                        "unit_cost": float(line["unit_price"]),
                                        "name": line["description"]}
            if line["product"] is not None:
                entry["catalog_item"] = items[line["product"]]
            lines.setdefault(line["agreement"], []).append(entry)
        first = account.sequences.get("INV", 0)
        for i, agreement in enumerate(sample["agreement"]):
            account.create_invoice({
                "customer": customers[agreement["customer"]],
                "number": f"INV-{first + i + 1:04d}",
                "currency": agreement["currency"].lower(), "date": _unix(agreement["date"]),
                "due_date": _unix(agreement["due_date"]),
                "purchase_order": agreement["reference"], "items": lines.get(i, []),
            }, new_number=True)
        account.sequences["INV"] = first + sample.count("agreement")
    return {"customers": len(customers), "contacts": sample.count("human"),
            "items": len(items), "invoices": sample.count("agreement"),
            "lineitems": sample.count("agreementline")}
