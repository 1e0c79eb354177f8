"""Filling a custom system's emulator with generated records, for trying talk at scale.

The records come from ``talk_core.emulation_fill`` in global terms and are
written here in the profile's own datatypes: organisations as customers,
people as contacts, products, and agreements as orders (or quotes, where
the profile has them) with their lines; in the PMS, agreements are projects
and their lines tasks. A profile without a datatype gets none of its
records (the PMS has no contacts or products), and N is split over the
datatypes it has.

Customers are companies and persons (``customer_type``): in a shop, which
has no contacts, every generated person is a private customer; in a CRM
every ``PRIVATE_EVERY``-th one is, the rest contacts of a company. A person
lives in the town of the company the generator tied them to. Lines an
installation keeps inside their order (``datatypes.order.lines``, see
``inline``) are written into the order's array, each with an id of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from talk_core.emulation_fill import Sample, generate

#: Which datatype of a profile holds each global datatype generated.
DATATYPES = {"organisation": "customer", "human": "contact", "product": "product",
             "agreement": "order", "agreementline": "orderline"}

#: In a CRM, every this many-th generated person is a private customer, not a contact.
PRIVATE_EVERY = 4

Put = Callable[[str, dict[str, Any]], str]


def fill(put: Put, datatypes: set[str], records: int, seed: int,
         inline: Collection[str] = ()) -> dict[str, int]:
    """Add ``records`` generated records through ``put(datatype, fields) -> id``.

    ``datatypes``: the profile's datatypes; ``inline``: the line datatypes
    the installation keeps inside their parent's ``lines``. Answers how many
    of each were made.
    """
    if "project" in datatypes:
        return _fill_projects(put, datatypes, records, seed)
    kinds = [kind for kind, name in DATATYPES.items() if name in datatypes]
    if "contact" not in datatypes and "customer" in datatypes:
        kinds.append("human")  # private customers
    sample = generate(records, seed, kinds)
    made: dict[str, int] = {DATATYPES[kind]: 0 for kind in kinds if DATATYPES[kind] in datatypes}
    if "quote" in datatypes:
        made.update(quote=0, quoteline=0)
    customers = _customers(put, sample)
    made["customer"] = len(customers)
    for i, human in enumerate(sample["human"]):
        if "contact" not in datatypes or i % PRIVATE_EVERY == PRIVATE_EVERY - 1:
            org = sample["organisation"][human["organisation"]]
            put("customer", {"name": human["name"], "email": _private(human, i),
                             "phone": human["phone"], "city": org["city"],
                             "postal_code": org["postal_code"], "country": org["country"],
                             "customer_type": "person"})
            made["customer"] += 1
            continue
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
    lines = _lines(sample, products)
    documents: list[tuple[str, str]] = []
    for index, agreement in enumerate(sample["agreement"]):
        quote = agreement["kind"] == "quote" and "quote" in datatypes
        fields = {"number": agreement["number"], "currency": agreement["currency"],
                  "customer": customers[agreement["customer"]], "date": agreement["date"]}
        if quote:
            fields.update(valid_until=agreement["due_date"], status="sent")
        else:
            fields["status"] = "confirmed"
        datatype = "quote" if quote else "order"
        if datatype + "line" in inline:
            fields["lines"] = [{"id": f"{agreement['number']}-{n}", **line}
                               for n, line in enumerate(lines.get(index, []), 1)]
            made[datatype + "line"] += len(fields["lines"])
        documents.append((datatype, put(datatype, fields)))
        made[datatype] += 1
    for line in sample["agreementline"]:
        parent, ident = documents[line["agreement"]]
        if parent + "line" in inline:
            continue  # written with its document
        put(parent + "line", {parent: ident, **_line(line, products)})
        made[parent + "line"] += 1
    return made


def _private(human: dict[str, Any], index: int) -> str:
    """A private customer's own address, not one at the company they were generated with."""
    local = human["name"].lower().replace(" ", ".")
    return f"{local}.{index + 1}@mail.example"


def _line(line: dict[str, Any], products: list[str]) -> dict[str, Any]:
    fields = {"description": line["description"], "quantity": line["quantity"],
              "unit_price": line["unit_price"]}
    if line["product"] is not None:
        fields["product"] = products[line["product"]]
    return fields


def _lines(sample: Sample, products: list[str]) -> dict[int, list[dict[str, Any]]]:
    """Each agreement's lines, by the agreement's index."""
    out: dict[int, list[dict[str, Any]]] = {}
    for line in sample["agreementline"]:
        out.setdefault(line["agreement"], []).append(_line(line, products))
    return out


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
