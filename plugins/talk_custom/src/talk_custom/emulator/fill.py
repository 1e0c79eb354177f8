"""Filling a custom system's emulator with generated records, for trying talk at scale.

The records come from ``talk_core.emulation_fill`` in global terms and are
written here in the profile's own datatypes: organisations as customers,
people as contacts, products, and agreements as orders (or quotes, where
the profile has them) with their lines; in the PMS, agreements are projects
and their lines tasks. A profile without a datatype gets none of its
records (the PMS has no contacts or products), and N is split over the
datatypes it has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from talk_core.emulation_fill import Sample, generate

#: Which datatype of a profile holds each global datatype generated.
DATATYPES = {"organisation": "customer", "human": "contact", "product": "product",
             "agreement": "order", "agreementline": "orderline"}

Put = Callable[[str, dict[str, Any]], str]


def fill(put: Put, datatypes: set[str], records: int, seed: int) -> dict[str, int]:
    """Add ``records`` generated records through ``put(datatype, fields) -> id``.

    ``datatypes``: the profile's datatypes. Answers how many of each were made.
    """
    if "project" in datatypes:
        return _fill_projects(put, datatypes, records, seed)
    kinds = [kind for kind, name in DATATYPES.items() if name in datatypes]
    sample = generate(records, seed, kinds)
    made: dict[str, int] = {DATATYPES[kind]: 0 for kind in kinds}
    if "quote" in datatypes:
        made.update(quote=0, quoteline=0)
    customers = _customers(put, sample)
    made["customer"] = len(customers)
    for human in sample["human"]:
        put("contact", {"name": human["name"], "email": human["email"],
                        "phone": human["phone"], "title": human["title"],
                        "customer": customers[human["organisation"]]})
        made["contact"] += 1
    products = [put("product", {
        "code": product["code"], "name": product["name"],
        "description": product["description"], "price": product["unit_price"],
        "currency": product["currency"]}) for product in sample["product"]]
    if "product" in made:
        made["product"] = len(products)
    documents: list[tuple[str, str]] = []
    for agreement in sample["agreement"]:
        quote = agreement["kind"] == "quote" and "quote" in datatypes
        fields = {"number": agreement["number"], "currency": agreement["currency"],
                  "customer": customers[agreement["customer"]], "date": agreement["date"]}
        if quote:
            fields.update(valid_until=agreement["due_date"], status="sent")
        else:
            fields["status"] = "confirmed"
        datatype = "quote" if quote else "order"
        documents.append((datatype, put(datatype, fields)))
        made[datatype] += 1
    for line in sample["agreementline"]:
        parent, ident = documents[line["agreement"]]
        fields = {parent: ident, "description": line["description"],
                  "quantity": line["quantity"], "unit_price": line["unit_price"]}
        if line["product"] is not None:
            fields["product"] = products[line["product"]]
        put(parent + "line", fields)
        made[parent + "line"] += 1
    return made


def _customers(put: Put, sample: Sample) -> list[str]:
    return [put("customer", {
        "name": org["name"], "email": org["email"], "phone": org["phone"],
        "address": org["address_line1"], "city": org["city"],
        "postal_code": org["postal_code"], "country": org["country"],
        "org_number": org["org_number"]}) for org in sample["organisation"]]


def _fill_projects(put: Put, datatypes: set[str], records: int, seed: int) -> dict[str, int]:
    """A PMS: customers, their projects (the generated agreements) and tasks (the lines)."""
    sample = generate(records, seed, ["organisation", "agreement", "agreementline"])
    customers = _customers(put, sample)
    projects = [put("project", {
        "name": agreement["description"] or f"Project {agreement['number']}",
        "number": agreement["number"], "customer": customers[agreement["customer"]],
        "currency": agreement["currency"], "start_date": agreement["date"],
        "status": "active"}) for agreement in sample["agreement"]]
    for line in sample["agreementline"]:
        put("task", {"project": projects[line["agreement"]],
                     "title": line["description"] or "Task", "hours": line["quantity"],
                     "rate": line["unit_price"]})
    return {"customer": len(customers), "project": len(projects),
            "task": len(sample["agreementline"])}
