"""Filling the emulated division with generated records, for trying talk at scale.

The records come from ``talk_core.emulation_fill`` in global terms and are
written here as Exact keeps them: organisations as Accounts, people as
Contacts of their Account, addresses as delivery Addresses (Type 4),
products as Items, and agreements as SalesOrders, or Quotations for the
quotes, with their lines.
"""

from __future__ import annotations

from typing import Any

from talk_core.emulation_fill import generate
from talk_exactonline.emulator.state import ExactState

#: The global datatypes an Exact Online division holds records of.
KINDS = ("organisation", "human", "location", "product", "agreement", "agreementline")
DELIVERY_ADDRESS = 4


def fill(state: ExactState, records: int, seed: int) -> dict[str, int]:
    """Add ``records`` generated records; answer how many of each datatype were made."""
    sample = generate(records, seed, KINDS)
    made = dict.fromkeys(("Accounts", "Contacts", "Addresses", "Items", "SalesOrders",
                          "SalesOrderLines", "Quotations", "QuotationLines"), 0)
    with state.lock:
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
        lines: dict[int, list[dict[str, Any]]] = {}
        for line in sample["agreementline"]:
            entry: dict[str, Any] = {"Quantity": line["quantity"],
                                     "UnitPrice": line["unit_price"],
                                     "Description": line["description"]}
            if line["product"] is not None:
                entry["Item"] = items[line["product"]]
            lines.setdefault(line["agreement"], []).append(entry)
        for i, agreement in enumerate(sample["agreement"]):
            account = accounts[agreement["customer"]]
            common = {"Currency": agreement["currency"], "Description": agreement["description"],
                      "YourRef": agreement["reference"]}
            if agreement["kind"] == "quote":
                state.create("Quotations", {
                    "OrderAccount": account, "QuotationDate": agreement["date"],
                    "DueDate": agreement["due_date"], "QuotationLines": lines[i], **common})
                made["Quotations"] += 1
                made["QuotationLines"] += len(lines[i])
            else:
                state.create("SalesOrders", {
                    "OrderedBy": account, "OrderDate": agreement["date"],
                    "DeliveryDate": agreement["due_date"], "SalesOrderLines": lines[i],
                    **common})
                made["SalesOrders"] += 1
                made["SalesOrderLines"] += len(lines[i])
    return made
