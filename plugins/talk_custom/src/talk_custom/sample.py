"""A small, realistic sample of records, so a demo or an emulator starts with something to sync.

Written through a ``put(datatype, properties) -> id`` callback, so the
emulator and the SQLite demo database share one sample and references
between records (an order's customer, a line's product) hold real ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Put = Callable[[str, dict[str, Any]], str]

CUSTOMERS = (
    {"name": "Fjord Bakeri AS", "email": "post@fjordbakeri.no", "phone": "+47 22 11 22 33",
     "address": "Storgata 1", "city": "Oslo", "postal_code": "0155", "country": "NO",
     "org_number": "912345678"},
    {"name": "Nordlys Hotell", "email": "booking@nordlys.example", "phone": "+47 77 60 00 00",
     "address": "Strandvegen 12", "city": "Tromsø", "postal_code": "9008", "country": "NO"},
)
PRODUCTS = (
    {"code": "BRD-01", "name": "Sourdough loaf", "description": "800 g, stone baked",
     "price": 59.0, "currency": "NOK"},
    {"code": "CAF-02", "name": "Coffee beans", "description": "1 kg, medium roast",
     "price": 249.5, "currency": "NOK"},
)


def seed_into(profile: str, put: Put) -> None:
    """Put the sample records the profile has datatypes for."""
    customers = [put("customer", dict(c)) for c in CUSTOMERS]
    if profile == "custompms":
        project = put("project", {"name": "New booking site", "number": "P-12",
                                  "customer": customers[1], "currency": "NOK",
                                  "start_date": "2024-09-02", "end_date": "2024-11-29",
                                  "status": "active"})
        put("task", {"project": project, "title": "Design", "hours": 24, "rate": 1150,
                     "status": "done"})
        put("task", {"project": project, "title": "Build", "hours": 80, "rate": 1050,
                     "status": "open"})
        return
    products = [put("product", dict(p)) for p in PRODUCTS]
    order = put("order", {"number": "1001", "customer": customers[0], "currency": "NOK",
                          "date": "2024-09-02", "status": "confirmed"})
    for i, product in enumerate(products):
        put("orderline", {"order": order, "product": product, "description": PRODUCTS[i]["name"],
                          "quantity": i + 1, "unit_price": PRODUCTS[i]["price"]})
    if profile != "customcrm":
        return
    put("contact", {"name": "Kari Nordmann", "email": "kari@fjordbakeri.no",
                    "title": "Daily manager", "customer": customers[0]})
    put("quote", {"number": "Q-7", "customer": customers[1], "currency": "NOK",
                  "date": "2024-09-05", "valid_until": "2024-10-05", "status": "sent"})
    put("user", {"name": "Ola Hansen", "email": "ola@crm.example", "role": "sales"})
    put("user", {"name": "Nordlys front desk", "email": "desk@nordlys.example", "role": "guest",
                 "licence_number": "LIC-42", "account": customers[1], "plan": "CRM Basic seat",
                 "currency": "NOK", "licence_start": "2024-09-01", "licence_status": "active"})
