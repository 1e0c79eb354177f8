"""Two in-memory systems with references and lines, for engine tests of agreements.

``billing`` holds invoice lines as records of their own (like Invoiced
line items); ``erp`` only takes a new sales order together with its lines
(like Exact Online), so talk must create the order once the lines are known.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from talk_core.mapping import DECIMAL, Mapping, PropertyMapping, mapped
from talk_core.model import ChildOf, DataType, Property, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

REF, KIDS = PropertyType.REFERENCE, PropertyType.CHILDREN

B_CUSTOMERS = DataType("customers", "Customers", (Property("name", required=True),
                                                 Property("email")))
B_ITEMS = DataType("items", "Items", (Property("code", required=True), Property("name"),
                                      Property("price")))
B_INVOICES = DataType("invoices", "Invoices", (
    Property("customer", REF, reference="customers", required=True),
    Property("number"), Property("currency"),
))
B_LINES = DataType("lineitems", "Lineitem", (
    Property("invoice", REF, reference="invoices", required=True),
    Property("item", REF, reference="items"),
    Property("quantity", PropertyType.DECIMAL), Property("unit_cost", PropertyType.DECIMAL),
), child_of=ChildOf("invoices", "invoice"))

BILLING = SystemSpec(
    "billing", "Billing", (B_CUSTOMERS, B_ITEMS, B_INVOICES, B_LINES),
    (
        Mapping("customers", "organisation", mapped([("name", "name"), ("email", "email")])),
        Mapping("items", "product", mapped([("code", "code"), ("name", "name"),
                                            PropertyMapping("price", "unit_price", DECIMAL)])),
        Mapping("invoices", "agreement",
                mapped([("customer", "customer"), ("number", "number"),
                        ("currency", "currency")]),
                defaults={"kind": "invoice"}),
        Mapping("lineitems", "agreementline",
                mapped([("invoice", "agreement"), ("item", "product"),
                        PropertyMapping("quantity", "quantity", DECIMAL),
                        PropertyMapping("unit_cost", "unit_price", DECIMAL)])),
    ),
    factory=lambda **_: InMemoryConnector([]),
)

E_ACCOUNTS = DataType("Accounts", "Accounts", (Property("Name", required=True),
                                               Property("Email")))
E_ITEMS = DataType("Items", "Items", (Property("Code", required=True, create_only=True),
                                      Property("Description"), Property("Price")))
E_ORDERS = DataType("SalesOrders", "Salesorders", (
    Property("OrderedBy", REF, reference="Accounts", required=True),
    Property("OrderNumber"), Property("Currency"),
    Property("SalesOrderLines", KIDS, child="SalesOrderLines", required=True),
))
E_QUOTES = DataType("Quotations", "Quotations", (
    Property("OrderAccount", REF, reference="Accounts", required=True),
    Property("QuotationNumber"), Property("Currency"),
))
E_LINES = DataType("SalesOrderLines", "Salesorderlines", (
    Property("OrderID", REF, reference="SalesOrders", required=True),
    Property("Item", REF, reference="Items", required=True),
    Property("Quantity", PropertyType.DECIMAL), Property("UnitPrice", PropertyType.DECIMAL),
), child_of=ChildOf("SalesOrders", "OrderID", inline_on_create=True))

ERP = SystemSpec(
    "erp", "ERP", (E_ACCOUNTS, E_ITEMS, E_ORDERS, E_QUOTES, E_LINES),
    (
        Mapping("Accounts", "organisation", mapped([("Name", "name"), ("Email", "email")])),
        Mapping("Items", "product", mapped([("Code", "code"), ("Description", "name"),
                                            PropertyMapping("Price", "unit_price", DECIMAL)])),
        Mapping("Quotations", "agreement",
                mapped([("OrderAccount", "customer"), ("QuotationNumber", "number"),
                        ("Currency", "currency")]),
                defaults={"kind": "quote"}, route=lambda v: v.get("kind") == "quote"),
        Mapping("SalesOrders", "agreement",
                mapped([("OrderedBy", "customer"), ("OrderNumber", "number"),
                        ("Currency", "currency")]),
                defaults={"kind": "order"}),
        Mapping("SalesOrderLines", "agreementline",
                mapped([("OrderID", "agreement"), ("Item", "product"),
                        PropertyMapping("Quantity", "quantity", DECIMAL),
                        PropertyMapping("UnitPrice", "unit_price", DECIMAL)])),
    ),
    factory=lambda **_: InMemoryConnector([]),
)


def order_systems() -> dict[str, InMemoryConnector]:
    return {
        "billing": InMemoryConnector(BILLING.datatypes, page_size=2, id_prefix="b"),
        "erp": InMemoryConnector(ERP.datatypes, page_size=2, id_prefix="E"),
    }


def order_sync(path: Path, conns: dict[str, InMemoryConnector], **settings: Any) -> Sync:
    specs = {"billing": BILLING, "erp": ERP}
    systems = [SystemInstance(n, specs[n], c) for n, c in conns.items()]
    return Sync(SQLiteStore(path), systems, SyncSettings(**settings))


def invoice_with_lines(billing: InMemoryConnector, customer: str = "Acme",
                       lines: int = 2) -> dict[str, str]:
    c = billing.put("customers", {"name": customer, "email": f"{customer.lower()}@x.no"})
    items = [billing.put("items", {"code": f"sku-{customer}-{i}", "name": f"Widget {i}",
                                   "price": 10 + i}) for i in range(lines)]
    inv = billing.put("invoices", {"customer": c.id, "number": f"INV-{customer}",
                                   "currency": "EUR"})
    for i, item in enumerate(items):
        billing.put("lineitems", {"invoice": inv.id, "item": item.id, "quantity": i + 1,
                                  "unit_cost": 10 + i})
    return {"customer": c.id, "invoice": inv.id}
