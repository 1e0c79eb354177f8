"""Filling the emulated division with generated records, for trying talk at scale.

The records come from ``talk_core.emulation_fill`` in global terms and are
written here as Exact keeps them: organisations as Accounts, people as
Contacts of their Account, addresses as delivery Addresses (Type 4),
products as Items, and agreements as SalesOrders, Quotations for the quotes
and SalesInvoices (posted in the sales journal) for every ``INVOICE_EVERY``-th
order, with their lines.

A division is never empty of its own set-up, so part of the N records are
the division's: its reference data (``Currencies`` and ``Units`` the
documents and items name, ``VATCodes`` the invoice lines name) once N is
``SETUP_FROM`` or more, and its ``Departments``, ``Employees`` and other
administrations (``Divisions``) in the shares of ``COMPANY_SHARE``, within
``COMPANY_MOST``. Exact
keeps no department on an employee (``payroll/Employees`` has no such
field), so none is named. Every reference names a record made before it, and
the same seed makes the same division.
"""

from __future__ import annotations

import random
from typing import Any

from talk_core.emulation_fill import generate
from talk_exactonline.emulator.state import ExactState
from talk_exactonline.mappings import INVOICE_TYPE, SALES_JOURNAL

#: The global datatypes an Exact Online division holds records of.
KINDS = ("organisation", "human", "location", "product", "agreement", "agreementline")
DELIVERY_ADDRESS = 4
#: Every this many-th order is written as a sales invoice instead.
INVOICE_EVERY = 3

#: The division's set-up: what the generated documents and items name.
CURRENCIES = (("EUR", "Euro"), ("NOK", "Noorse kroon"), ("SEK", "Zweedse kroon"),
              ("USD", "Amerikaanse dollar"))
UNITS = (("pc", "Stuk", "quantity"), ("box", "Doos", "quantity"), ("hour", "Uur", "time"),
         ("kg", "Kilogram", "weight"))
VAT_CODES = (("1", "BTW laag", 0.09), ("2", "BTW hoog", 0.21), ("0", "BTW 0%", 0.0))
#: Invoice lines of goods are charged high VAT, of hours low: a sample, not tax advice.
HOURS_VAT, GOODS_VAT = "1", "2"
#: The set-up is made only in a fill of at least this many records, all of it at once.
SETUP_FROM = 50
#: Of every 1,000 records past the set-up: departments, employees, other divisions ...
COMPANY_SHARE = {"Departments": 5, "Employees": 40, "Divisions": 1}
#: ... at least one department and one other division, and no more than a company has.
COMPANY_MOST = {"Departments": 60, "Divisions": 12}

_DEPARTMENTS = (("VK", "Verkoop"), ("IN", "Inkoop"), ("MAG", "Magazijn"),
                ("ADM", "Administratie"), ("ICT", "ICT"), ("KLS", "Klantenservice"))
_REGIONS = ("Noord", "Zuid", "Oost", "West", "Benelux", "Scandinavië")
_FIRST = ("Sanne", "Daan", "Lotte", "Bram", "Fleur", "Thijs", "Eva", "Ruben", "Iris", "Joris",
          "Noor", "Sem", "Julia", "Milan", "Anouk")
_LAST = ("Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos",
         "Vos", "Peters", "Hendriks", "van Leeuwen")
_STREETS = ("Lange Nieuwstraat", "Biltstraat", "Amsterdamsestraatweg", "Oudegracht",
            "Vleutenseweg", "Kanaalstraat", "Twijnstraat")
_CITIES = (("Utrecht", "3512"), ("Zeist", "3701"), ("Nieuwegein", "3431"),
           ("Houten", "3991"), ("Amersfoort", "3811"))


def company_counts(records: int) -> tuple[bool, dict[str, int]]:
    """Whether the set-up is made, and how many of the division's own records."""
    if records < SETUP_FROM:
        return False, dict.fromkeys(COMPANY_SHARE, 0)
    rest = records - len(CURRENCIES) - len(UNITS) - len(VAT_CODES)
    counts = {name: rest * share // 1000 for name, share in COMPANY_SHARE.items()}
    for name, most in COMPANY_MOST.items():
        counts[name] = min(most, max(1, counts[name]))
    return True, counts


def fill(state: ExactState, records: int, seed: int) -> dict[str, int]:
    """Add ``records`` generated records; answer how many of each datatype were made."""
    setup, company = company_counts(records)
    missing = _missing_setup(state) if setup else {}
    own = sum(len(entries) for entries in missing.values()) + sum(company.values())
    sample = generate(records - own, seed, KINDS)
    made = dict.fromkeys(("Accounts", "Contacts", "Addresses", "Items", "SalesOrders",
                          "SalesOrderLines", "Quotations", "QuotationLines", "SalesInvoices",
                          "SalesInvoiceLines", "Currencies", "Units", "VATCodes",
                          "Departments", "Employees", "Divisions"), 0)
    with state.lock:
        made.update(_setup(state, missing))
        made.update(_company(state, company, random.Random(f"exact-{seed}")))
        accounts = [state.create("Accounts", {
            "Name": org["name"], "Email": org["email"], "Phone": org["phone"],
            "AddressLine1": org["address_line1"], "City": org["city"],
            "Postcode": org["postal_code"], "Country": org["country"],
            "ChamberOfCommerce": org["org_number"], "Status": "C",
        })["ID"] for org in sample["organisation"]]
        made["Accounts"] = len(accounts)
        for human in sample["human"]:
            state.create("Contacts", {
                "Account": accounts[human["organisation"]], "FirstName": human["first_name"],
                "LastName": human["last_name"], "Email": human["email"],
                "Phone": human["phone"], "JobTitleDescription": human["title"]})
        made["Contacts"] = sample.count("human")
        for location in sample["location"]:
            state.create("Addresses", {
                "Account": accounts[location["owner"]], "Type": DELIVERY_ADDRESS,
                "AddressLine1": location["address_line1"], "City": location["city"],
                "Postcode": location["postal_code"], "Country": location["country"]})
        made["Addresses"] = sample.count("location")
        taken = {str(r["Code"]).strip() for r in state.records["Items"].values()}
        items = []
        for product in sample["product"]:
            code = product["code"]
            while code in taken:  # an earlier fill made this one
                code += "X"
            items.append(state.create("Items", {
                "Code": code, "Description": product["name"],
                "ExtraDescription": product["description"],
                "CostPriceStandard": product["unit_price"], "Unit": product["unit"],
                "IsSalesItem": True})["ID"])
        made["Items"] = len(items)
        units = [product["unit"] for product in sample["product"]]
        lines: dict[int, list[dict[str, Any]]] = {}
        for line in sample["agreementline"]:
            entry: dict[str, Any] = {"Quantity": line["quantity"],
                                     "UnitPrice": line["unit_price"],
                                     "Description": line["description"]}
            if line["product"] is not None:
                entry["Item"] = items[line["product"]]
                entry["UnitCode"] = units[line["product"]]
            lines.setdefault(line["agreement"], []).append(entry)
        orders = 0
        for i, agreement in enumerate(sample["agreement"]):
            kind = _document(agreement, orders)
            orders += agreement["kind"] != "quote"
            made[kind] += 1
            made[kind[:-1] + "Lines"] += len(lines[i])
            _write(state, kind, accounts[agreement["customer"]], agreement, lines[i], setup)
    return made


def _document(agreement: dict[str, Any], orders_before: int) -> str:
    """Where a generated agreement goes: a quotation, a sales invoice or a sales order."""
    if agreement["kind"] == "quote":
        return "Quotations"
    return "SalesInvoices" if orders_before % INVOICE_EVERY == INVOICE_EVERY - 1 \
        else "SalesOrders"


def _write(state: ExactState, kind: str, account: str, agreement: dict[str, Any],
           lines: list[dict[str, Any]], setup: bool) -> None:
    description = agreement["description"]
    if kind == "SalesInvoices":
        description = description.replace("Order", "Invoice", 1)
    common = {"Currency": agreement["currency"], "Description": description,
              "YourRef": agreement["reference"]}
    if kind == "Quotations":
        state.create("Quotations", {
            "OrderAccount": account, "QuotationDate": agreement["date"],
            "DueDate": agreement["due_date"], "QuotationLines": lines, **common})
    elif kind == "SalesInvoices":
        invoice_lines = [{**line, "VATCode": _vat(line)} if setup else line for line in lines]
        state.create("SalesInvoices", {
            "OrderedBy": account, "InvoiceTo": account, "Journal": SALES_JOURNAL,
            "Type": INVOICE_TYPE, "InvoiceDate": agreement["date"],
            "OrderDate": agreement["date"], "DueDate": agreement["due_date"],
            "PaymentReference": agreement["number"], "SalesInvoiceLines": invoice_lines,
            **common})
    else:
        state.create("SalesOrders", {
            "OrderedBy": account, "OrderDate": agreement["date"],
            "DeliveryDate": agreement["due_date"], "SalesOrderLines": lines, **common})


def _vat(line: dict[str, Any]) -> str:
    return HOURS_VAT if line.get("UnitCode") == "hour" else GOODS_VAT


def _missing_setup(state: ExactState) -> dict[str, list[tuple[Any, ...]]]:
    """The currencies, units and VAT codes of the set-up the division does not have yet."""
    have = {name: {str(r.get("Code") or "").strip() for r in state.records[name].values()}
            for name in ("Currencies", "Units", "VATCodes")}
    return {name: [entry for entry in entries if entry[0] not in have[name]]
            for name, entries in (("Currencies", CURRENCIES), ("Units", UNITS),
                                  ("VATCodes", VAT_CODES))}


def _setup(state: ExactState, missing: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    """The currencies, units and VAT codes of the division's set-up that it lacked."""
    for code, description in missing.get("Currencies", ()):
        state.create("Currencies", {"Code": code, "Description": description,
                                    "AmountPrecision": 0.01, "PricePrecision": 0.0001})
    for code, description, kind in missing.get("Units", ()):
        state.create("Units", {"Code": code, "Description": description, "Type": kind,
                               "Active": True})
    for code, description, rate in missing.get("VATCodes", ()):
        state.create("VATCodes", {"Code": code, "Description": description,
                                  "Percentage": rate, "Type": "E", "IsBlocked": False})
    return {name: len(entries) for name, entries in missing.items()}


def _company(state: ExactState, counts: dict[str, int], rng: random.Random) -> dict[str, int]:
    """The division's departments, employees and the company's other administrations."""
    taken = {str(r.get("Code")) for r in state.records["Departments"].values()}
    for n in range(counts["Departments"]):
        code, name = _DEPARTMENTS[n % len(_DEPARTMENTS)]
        round_ = n // len(_DEPARTMENTS)
        if round_:
            code, name = f"{code}{round_ + 1}", f"{name} {_REGIONS[round_ % len(_REGIONS)]}"
        while code in taken:  # an earlier fill made this one
            code += "X"
        taken.add(code)
        state.create("Departments", {"Code": code, "Description": name,
                                     "Notes": f"afdeling {name.lower()}"})
    before = len(state.records["Employees"])  # an earlier fill's: e-mails stay unique
    for n in range(before, before + counts["Employees"]):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        city, postcode = rng.choice(_CITIES)
        login = f"{first.lower()}.{last.lower().replace(' ', '')}{n + 1}"
        born = f"{rng.randint(1962, 2003)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        state.create("Employees", {
            "FirstName": first, "LastName": last, "FullName": f"{first} {last}",
            "BusinessEmail": f"{login}@groothandel.example",
            "Email": f"{login}@thuis.example",
            "BusinessPhone": f"+31 30 {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            "Mobile": f"+31 6 {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}",
            "AddressStreet": rng.choice(_STREETS),
            "AddressStreetNumber": str(rng.randint(1, 180)), "City": city,
            "Postcode": f"{postcode} {rng.choice('ABCDEFGHJK')}{rng.choice('LMNPRST')}",
            "Country": "NL", "BirthDate": born, "IsActive": rng.random() > 0.1})
    codes = {int(r["Code"]) for r in state.records["Divisions"].values()}
    for n in range(counts["Divisions"]):
        number = max(codes) + 1
        codes.add(number)
        region = _REGIONS[n % len(_REGIONS)]
        city, postcode = rng.choice(_CITIES)
        slug = f"{region.lower().replace('ë', 'e')}{number}"
        state.create("Divisions", {
            "Code": number, "Description": f"Groothandel {region} {n + 1} BV",
            "Email": f"info@{slug}.groothandel.example", "Phone": f"+31 30 {rng.randint(200, 999)} "
            f"{rng.randint(1000, 9999)}", "Website": f"{slug}.groothandel.example",
            "ChamberOfCommerceNumber": f"3{rng.randint(1000000, 9999999)}",
            "VATNumber": f"NL{rng.randint(100000000, 999999999)}B01", "Currency": "EUR",
            "AddressLine1": f"{rng.choice(_STREETS)} {rng.randint(1, 180)}", "City": city,
            "Postcode": f"{postcode} AB", "Country": "NL"})
    return dict(counts)
