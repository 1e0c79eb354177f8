"""Two in-memory systems in the topology that is hardest for the engine.

``ledger`` keeps customers the way Invoiced does: one ``customers``
datatype carries an organisation (``type == "company"``), a human
(``type == "person"``, whose ``company`` names a company customer) and,
from a company's own address fields, a location owned by the customer
itself. Its invoices carry a ``kind`` (quote or order) and have lines as
records of their own, each naming an item.

``erp`` keeps them the way Exact Online does: accounts, contacts naming
their account, addresses naming their account, items, and agreements in
two datatypes chosen by kind (quotes go to ``Quotations``, orders to
``SalesOrders``); a sales order is only accepted together with its lines
(``ChildOf(inline_on_create=True)``), and quotations have no lines here.

An account's ``City`` is the organisation's city and an address's ``City``
the location's: in the ledger both are the one ``city`` field of the
customer, so an update through one facet changes what the other facet
reads.

``project`` renders every system's records of a global type as tuples of
comparable values, references written as the referenced record's natural
key (name, code, kind and number), so two systems can be compared without
the store.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from talk_core.mapping import (
    DECIMAL,
    Direction,
    Mapping,
    PropertyMapping,
    constant,
    field_equals,
    mapped,
)
from talk_core.model import ChildOf, DataType, Property, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

REF, KIDS, DEC = PropertyType.REFERENCE, PropertyType.CHILDREN, PropertyType.DECIMAL

# -- ledger (Invoiced-like) ------------------------------------------------------------

L_CUSTOMERS = DataType("customers", "Customers", (
    Property("id", REF, read_only=True, reference="customers"),
    Property("name", required=True), Property("type"), Property("email"),
    Property("street"), Property("city"),
    Property("company", REF, reference="customers"),
))
L_ITEMS = DataType("items", "Items", (Property("code", required=True), Property("name"),
                                      Property("price", DEC)))
L_INVOICES = DataType("invoices", "Invoices", (
    Property("customer", REF, reference="customers", required=True),
    Property("kind"), Property("number"), Property("currency"),
))
L_LINES = DataType("lineitems", "Lineitem", (
    Property("invoice", REF, reference="invoices", required=True),
    Property("item", REF, reference="items"),
    Property("quantity", DEC),
), child_of=ChildOf("invoices", "invoice"))

LEDGER = SystemSpec(
    "ledger", "Ledger", (L_CUSTOMERS, L_ITEMS, L_INVOICES, L_LINES),
    (
        Mapping("customers", "organisation",
                mapped([("name", "name"), ("email", "email"), ("city", "city")]),
                facet="organisation data", when=field_equals("type", "company"),
                on_create={"type": "company"}),
        Mapping("customers", "location",
                (*mapped([("id", "owner"), ("street", "address_line1"), ("city", "city")]),
                 PropertyMapping("type", "kind", constant("invoice"), Direction.TO_GLOBAL)),
                facet="location data", when=field_equals("type", "company"),
                defaults={"kind": "invoice"}, creates=False),
        Mapping("customers", "human",
                mapped([("name", "name"), ("email", "email"), ("city", "city"),
                        ("company", "organisation")]),
                facet="human data", when=field_equals("type", "person"),
                on_create={"type": "person"}),
        Mapping("items", "product", mapped([("code", "code"), ("name", "name"),
                                            PropertyMapping("price", "unit_price", DECIMAL)])),
        Mapping("invoices", "agreement",
                mapped([("customer", "customer"), ("kind", "kind"), ("number", "number"),
                        ("currency", "currency")])),
        Mapping("lineitems", "agreementline",
                mapped([("invoice", "agreement"), ("item", "product"),
                        PropertyMapping("quantity", "quantity", DECIMAL)])),
    ),
    factory=lambda **_: InMemoryConnector([]),
)

# -- erp (Exact-like) -------------------------------------------------------------------

E_ACCOUNTS = DataType("Accounts", "Accounts", (Property("Name", required=True),
                                               Property("Email"), Property("City")))
E_CONTACTS = DataType("Contacts", "Contacts", (
    Property("FullName", required=True), Property("Mail"), Property("Town"),
    Property("Account", REF, reference="Accounts"),
))
E_ADDRESSES = DataType("Addresses", "Addresses", (
    Property("Account", REF, reference="Accounts", required=True, create_only=True),
    Property("Type"), Property("AddressLine1"), Property("City"),
))
E_ITEMS = DataType("Items", "Items", (Property("Code", required=True, create_only=True),
                                      Property("Description"), Property("Price", DEC)))
E_QUOTES = DataType("Quotations", "Quotations", (
    Property("OrderAccount", REF, reference="Accounts", required=True),
    Property("QuotationNumber"), Property("Currency"),
))
E_ORDERS = DataType("SalesOrders", "Salesorders", (
    Property("OrderedBy", REF, reference="Accounts", required=True),
    Property("OrderNumber"), Property("Currency"),
    Property("SalesOrderLines", KIDS, child="SalesOrderLines", required=True),
))
E_LINES = DataType("SalesOrderLines", "Salesorderlines", (
    Property("OrderID", REF, reference="SalesOrders", required=True),
    Property("Item", REF, reference="Items", required=True),
    Property("Quantity", DEC),
), child_of=ChildOf("SalesOrders", "OrderID", inline_on_create=True))

ERP = SystemSpec(
    "erp", "ERP", (E_ACCOUNTS, E_CONTACTS, E_ADDRESSES, E_ITEMS, E_QUOTES, E_ORDERS, E_LINES),
    (
        Mapping("Accounts", "organisation",
                mapped([("Name", "name"), ("Email", "email"), ("City", "city")])),
        Mapping("Contacts", "human",
                mapped([("FullName", "name"), ("Mail", "email"), ("Town", "city"),
                        ("Account", "organisation")])),
        Mapping("Addresses", "location",
                mapped([("Account", "owner"), ("Type", "kind"),
                        ("AddressLine1", "address_line1"), ("City", "city")])),
        Mapping("Items", "product", mapped([("Code", "code"), ("Description", "name"),
                                            PropertyMapping("Price", "unit_price", DECIMAL)])),
        Mapping("Quotations", "agreement",
                mapped([("OrderAccount", "customer"), ("QuotationNumber", "number"),
                        ("Currency", "currency")]),
                defaults={"kind": "quote"}, route=lambda v: v.get("kind") == "quote"),
        Mapping("SalesOrders", "agreement",
                mapped([("OrderedBy", "customer"), ("OrderNumber", "number"),
                        ("Currency", "currency")]),
                defaults={"kind": "order"}, route=lambda v: v.get("kind") == "order"),
        Mapping("SalesOrderLines", "agreementline",
                mapped([("OrderID", "agreement"), ("Item", "product"),
                        PropertyMapping("Quantity", "quantity", DECIMAL)])),
    ),
    factory=lambda **_: InMemoryConnector([]),
)

SPECS = {"ledger": LEDGER, "erp": ERP}
SYSTEMS = ("ledger", "erp")
GLOBAL_TYPES = ("organisation", "human", "location", "product", "agreement", "agreementline")


def make_connectors(clock: Callable[[], datetime], page_size: int = 2
                    ) -> dict[str, InMemoryConnector]:
    return {
        "ledger": InMemoryConnector(LEDGER.datatypes, page_size=page_size, id_prefix="L",
                                    clock=clock),
        "erp": InMemoryConnector(ERP.datatypes, page_size=page_size, id_prefix="E",
                                 clock=clock),
    }


def make_sync(path: Path, conns: dict[str, InMemoryConnector],
              clock: Callable[[], datetime], **settings: Any) -> Sync:
    settings.setdefault("max_delete_fraction", 1.0)
    settings.setdefault("datatypes", {
        "organisation": DatatypeSettings(match_keys=(("name",),)),
        "human": DatatypeSettings(match_keys=(("name",),)),
        "product": DatatypeSettings(match_keys=(("code",),)),
    })
    systems = [SystemInstance(name, SPECS[name], conn) for name, conn in conns.items()]
    return Sync(SQLiteStore(path), systems, SyncSettings(**settings), clock=clock)


# -- comparing systems through global values -------------------------------------------

def norm(value: Any) -> Any:
    """An empty text is no value in any system; numbers compare as decimals."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return str(Decimal(str(value)).normalize())
    return value


def number(value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return str(Decimal(str(value)).normalize())
    except InvalidOperation:
        return value


def _ref(records: dict[str, dict[str, Any]], ident: Any, key: Callable[[dict[str, Any]], Any]
         ) -> Any:
    if ident is None or ident == "":
        return None
    target = records.get(str(ident))
    return key(target) if target is not None else ("dangling", ident)


def _rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(rows, key=repr)


def project(conns: dict[str, InMemoryConnector], system: str, global_type: str
            ) -> list[tuple[Any, ...]]:
    """``system``'s records of ``global_type`` as sorted tuples of global values."""
    conn = conns[system]
    if system == "ledger":
        customers = conn.records("customers")
        name = lambda r: r.get("name")  # noqa: E731
        companies = {i: r for i, r in customers.items() if r.get("type") == "company"}
        if global_type == "organisation":
            return _rows([(r["name"], norm(r.get("email")), norm(r.get("city")))
                          for r in companies.values()])
        if global_type == "location":
            return _rows([(r["name"], "invoice", norm(r.get("street")), norm(r.get("city")))
                          for r in companies.values()])
        if global_type == "human":
            return _rows([(r["name"], norm(r.get("email")), norm(r.get("city")),
                           _ref(companies, r.get("company"), name))
                          for r in customers.values() if r.get("type") == "person"])
        items = conn.records("items")
        if global_type == "product":
            return _rows([(r["code"], norm(r.get("name")), number(r.get("price")))
                          for r in items.values()])
        invoices = conn.records("invoices")
        if global_type == "agreement":
            return _rows([(r.get("kind"), r.get("number"),
                           _ref(customers, r.get("customer"), name), norm(r.get("currency")))
                          for r in invoices.values()])
        if global_type == "agreementline":
            # quotations have no lines in erp: only order lines are compared
            return _rows([
                (_ref(invoices, r.get("invoice"), lambda d: (d.get("kind"), d.get("number"))),
                 _ref(items, r.get("item"), lambda i: i.get("code")), number(r.get("quantity")))
                for r in conn.records("lineitems").values()
                if invoices.get(r.get("invoice"), {}).get("kind") == "order"])
    else:
        accounts = conn.records("Accounts")
        aname = lambda r: r.get("Name")  # noqa: E731
        if global_type == "organisation":
            return _rows([(r["Name"], norm(r.get("Email")), norm(r.get("City")))
                          for r in accounts.values()])
        if global_type == "location":
            return _rows([(_ref(accounts, r.get("Account"), aname), norm(r.get("Type")),
                           norm(r.get("AddressLine1")), norm(r.get("City")))
                          for r in conn.records("Addresses").values()])
        if global_type == "human":
            return _rows([(r["FullName"], norm(r.get("Mail")), norm(r.get("Town")),
                           _ref(accounts, r.get("Account"), aname))
                          for r in conn.records("Contacts").values()])
        items = conn.records("Items")
        if global_type == "product":
            return _rows([(r["Code"], norm(r.get("Description")), number(r.get("Price")))
                          for r in items.values()])
        orders = conn.records("SalesOrders")
        if global_type == "agreement":
            return _rows(
                [("quote", r.get("QuotationNumber"), _ref(accounts, r.get("OrderAccount"), aname),
                  norm(r.get("Currency"))) for r in conn.records("Quotations").values()]
                + [("order", r.get("OrderNumber"), _ref(accounts, r.get("OrderedBy"), aname),
                    norm(r.get("Currency"))) for r in orders.values()])
        if global_type == "agreementline":
            return _rows([
                (_ref(orders, r.get("OrderID"), lambda o: ("order", o.get("OrderNumber"))),
                 _ref(items, r.get("Item"), lambda i: i.get("Code")), number(r.get("Quantity")))
                for r in conn.records("SalesOrderLines").values()])
    raise KeyError(f"{system} keeps no {global_type}")


#: system -> global type -> the datatypes (and facet marker) that carry it
CARRIERS: dict[str, dict[str, tuple[str, ...]]] = {
    "ledger": {"organisation": ("customers",), "location": ("customers",),
               "human": ("customers",), "product": ("items",), "agreement": ("invoices",),
               "agreementline": ("lineitems",)},
    "erp": {"organisation": ("Accounts",), "location": ("Addresses",), "human": ("Contacts",),
            "product": ("Items",), "agreement": ("Quotations", "SalesOrders"),
            "agreementline": ("SalesOrderLines",)},
}


def carried(conns: dict[str, InMemoryConnector], system: str, global_type: str) -> int:
    """How many of ``system``'s records carry ``global_type`` (quote lines included)."""
    if system == "ledger" and global_type == "agreementline":
        return conns["ledger"].count("lineitems")
    return len(project(conns, system, global_type))
