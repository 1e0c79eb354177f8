"""In-memory systems whose records carry several global types at once, for facet tests.

``left``, ``right`` and ``billing`` keep customers the way Invoiced does: a
company customer is an organisation and, through its own address, a
location whose owner is the customer itself (its own id, read as a
reference); a person customer is a human. ``billing`` reads its address's
kind from the ``object`` field the system fills in itself, as Invoiced
does. ``erp`` keeps accounts and their addresses as two datatypes, an
address naming its account, as Exact Online does. ``books`` keeps accounts
as Exact Online does since an account's own address became a location too:
of kind "visit", beside its Addresses of other kinds, and never a reason to
create or delete an account.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from talk_core.mapping import Direction, Mapping, PropertyMapping, constant, field_equals, mapped
from talk_core.model import DataType, Entity, Property, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

REF = PropertyType.REFERENCE

CUSTOMERS = DataType("customers", "Customers", (
    Property("id", REF, read_only=True, reference="customers"),
    Property("name", required=True), Property("type"), Property("email"),
    Property("street"), Property("city"), Property("phone"),
    Property("object", read_only=True),
))


class BillingConnector(InMemoryConnector):
    """Answers every customer with ``object`` filled in, as Invoiced does; talk never sends it."""

    def _entity(self, table: Any, id: str) -> Entity:
        entity = super()._entity(table, id)
        entity.properties["object"] = "customer"
        return entity


def _ledger(name: str, kind_from: str = "type") -> SystemSpec:
    """``kind_from``: the field the location's constant kind is read from."""
    return SystemSpec(
        name, name.title(), (CUSTOMERS,),
        (
            Mapping("customers", "organisation",
                    mapped([("name", "name"), ("email", "email"), ("street", "address_line1"),
                            ("city", "city")]),
                    facet="organisation data", when=field_equals("type", "company"),
                    on_create={"type": "company"}),
            Mapping("customers", "location",
                    (*mapped([("id", "owner"), ("street", "address_line1"),
                              ("city", "city"), ("phone", "phone")]),
                     PropertyMapping(kind_from, "kind", constant("invoice"),
                                     Direction.TO_GLOBAL)),
                    facet="location data", when=field_equals("type", "company"),
                    defaults={"kind": "invoice"}, creates=False),
            Mapping("customers", "human",
                    mapped([("name", "name"), ("email", "email"), ("city", "city")]),
                    facet="human data", when=field_equals("type", "person"),
                    on_create={"type": "person"}),
        ),
        factory=lambda **_: InMemoryConnector([CUSTOMERS]),
    )


ACCOUNTS = DataType("Accounts", "Accounts", (Property("Name", required=True),
                                             Property("Email")))
ADDRESSES = DataType("Addresses", "Addresses", (
    Property("Account", REF, reference="Accounts", required=True, create_only=True),
    Property("Type"), Property("AddressLine1"), Property("City"), Property("Phone"),
))
ERP = SystemSpec(
    "erp", "ERP", (ACCOUNTS, ADDRESSES),
    (
        Mapping("Accounts", "organisation", mapped([("Name", "name"), ("Email", "email")])),
        Mapping("Addresses", "location",
                mapped([("Account", "owner"), ("Type", "kind"), ("AddressLine1", "address_line1"),
                        ("City", "city"), ("Phone", "phone")])),
    ),
    factory=lambda **_: InMemoryConnector([ACCOUNTS, ADDRESSES]),
)

BOOK_ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("ID", REF, read_only=True, reference="Accounts"),
    Property("Name", required=True), Property("Email"), Property("AddressLine1"),
    Property("City"),
), id_field="ID")
BOOKS = SystemSpec(
    "books", "Books", (BOOK_ACCOUNTS, ADDRESSES),
    (
        Mapping("Accounts", "organisation",
                mapped([("Name", "name"), ("Email", "email"),
                        ("AddressLine1", "address_line1"), ("City", "city")])),
        Mapping("Accounts", "location",
                (PropertyMapping("ID", "owner", direction=Direction.TO_GLOBAL),
                 PropertyMapping("Name", "kind", constant("visit"), Direction.TO_GLOBAL),
                 *mapped([("AddressLine1", "address_line1"), ("City", "city")])),
                facet="location data", defaults={"kind": "visit"}, creates=False,
                deletes=False),
        Mapping("Addresses", "location",
                mapped([("Account", "owner"), ("Type", "kind"), ("AddressLine1", "address_line1"),
                        ("City", "city"), ("Phone", "phone")])),
    ),
    factory=lambda **_: InMemoryConnector([BOOK_ACCOUNTS, ADDRESSES]),
)

CLIENTS = DataType("clients", "Clients", (
    Property("name", required=True), Property("email"), Property("street"), Property("city"),
))
SHOP = SystemSpec(
    "shop", "Shop", (CLIENTS,),
    (Mapping("clients", "organisation",
             mapped([("name", "name"), ("email", "email"), ("street", "address_line1"),
                     ("city", "city")])),),
    factory=lambda **_: InMemoryConnector([CLIENTS]),
)

SPECS = {"left": _ledger("left"), "right": _ledger("right"),
         "billing": _ledger("billing", kind_from="object"), "erp": ERP, "books": BOOKS,
         "shop": SHOP}


def connectors(clock: Callable[[], datetime], *names: str) -> dict[str, InMemoryConnector]:
    made: dict[str, InMemoryConnector] = {}
    for name in names:
        if name == "erp":
            made[name] = InMemoryConnector([ACCOUNTS, ADDRESSES], id_prefix="e", clock=clock)
        elif name == "books":
            made[name] = InMemoryConnector([BOOK_ACCOUNTS, ADDRESSES], id_prefix="b",
                                           clock=clock)
        elif name == "shop":
            made[name] = InMemoryConnector([CLIENTS], id_prefix="s", clock=clock)
        elif name == "billing":
            made[name] = BillingConnector([CUSTOMERS], id_prefix="i", clock=clock)
        else:
            made[name] = InMemoryConnector([CUSTOMERS], id_prefix=name[0], clock=clock)
    return made


def make_sync(path: Path, conns: dict[str, InMemoryConnector],
              clock: Callable[[], datetime], **settings: Any) -> Sync:
    systems = [SystemInstance(name, SPECS[name], conn) for name, conn in conns.items()]
    return Sync(SQLiteStore(path), systems, SyncSettings(**settings), clock=clock)
