"""Three in-memory systems of different shapes, shared by the engine tests.

``crm`` keeps companies and people in one ``customers`` datatype told apart
by ``type``; ``erp`` has ``Accounts`` and ``Contacts`` with other field
names and employee counts as text; ``shop`` lists everything on every read
(deletes show by absence) and prefixes its ids.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from talk_core.mapping import Converter, Mapping, PropertyMapping, field_equals, mapped
from talk_core.model import DataType, Property, PropertyType, ReadMode
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

INT_TEXT = Converter(lambda v: int(v), lambda v: str(v), "integer as text")

CRM_CUSTOMERS = DataType("customers", "Customers", (
    Property("name", required=True), Property("email"), Property("city"),
    Property("size", PropertyType.INTEGER), Property("type"),
))
CRM = SystemSpec(
    "crm", "CRM", (CRM_CUSTOMERS,),
    (
        Mapping("customers", "organisation",
                mapped([("name", "name"), ("email", "email"), ("city", "city"),
                        ("size", "employees")]),
                facet="organisation data", when=field_equals("type", "company"),
                on_create={"type": "company"}),
        Mapping("customers", "human",
                mapped([("name", "name"), ("email", "email"), ("city", "city")]),
                facet="human data", when=field_equals("type", "person"),
                on_create={"type": "person"}),
    ),
    factory=lambda **_: InMemoryConnector([CRM_CUSTOMERS]),
)

ERP_ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("Name", required=True), Property("Email"), Property("City"),
    Property("Employees"),
))
ERP_CONTACTS = DataType("Contacts", "Contacts", (
    Property("FullName", required=True), Property("Mail"), Property("Town"),
))
ERP = SystemSpec(
    "erp", "ERP", (ERP_ACCOUNTS, ERP_CONTACTS),
    (
        Mapping("Accounts", "organisation",
                mapped([("Name", "name"), ("Email", "email"), ("City", "city"),
                        PropertyMapping("Employees", "employees", INT_TEXT)])),
        Mapping("Contacts", "human",
                mapped([("FullName", "name"), ("Mail", "email"), ("Town", "city")])),
    ),
    factory=lambda **_: InMemoryConnector([ERP_ACCOUNTS, ERP_CONTACTS]),
)

SHOP_COMPANIES = DataType("companies", "Companies", (
    Property("title", required=True), Property("mail"), Property("town"),
    Property("staff", PropertyType.INTEGER),
), read_mode=ReadMode.FULL)
SHOP_PEOPLE = DataType("people", "People", (
    Property("full_name", required=True), Property("mail"), Property("town"),
), read_mode=ReadMode.FULL)
SHOP = SystemSpec(
    "shop", "Shop", (SHOP_COMPANIES, SHOP_PEOPLE),
    (
        Mapping("companies", "organisation",
                mapped([("title", "name"), ("mail", "email"), ("town", "city"),
                        ("staff", "employees")])),
        Mapping("people", "human",
                mapped([("full_name", "name"), ("mail", "email"), ("town", "city")])),
    ),
    factory=lambda **_: InMemoryConnector([SHOP_COMPANIES, SHOP_PEOPLE]),
)

SPECS = {"crm": CRM, "erp": ERP, "shop": SHOP}

#: where each system keeps each global type, and its field names in global order
SHAPES: dict[str, dict[str, tuple[str, tuple[str, ...], dict[str, Any]]]] = {
    "organisation": {
        "crm": ("customers", ("name", "email", "city", "size"), {"type": "company"}),
        "erp": ("Accounts", ("Name", "Email", "City", "Employees"), {}),
        "shop": ("companies", ("title", "mail", "town", "staff"), {}),
    },
    "human": {
        "crm": ("customers", ("name", "email", "city"), {"type": "person"}),
        "erp": ("Contacts", ("FullName", "Mail", "Town"), {}),
        "shop": ("people", ("full_name", "mail", "town"), {}),
    },
}
GLOBAL_FIELDS = {"organisation": ("name", "email", "city", "employees"),
                 "human": ("name", "email", "city")}


class SharedClock:
    """One logical clock for all systems, so 'newest' means 'edited last'."""

    def __init__(self) -> None:
        self.t = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.t += timedelta(milliseconds=1)
        return self.t

    def advance(self, delta: timedelta) -> None:
        self.t += delta


def make_connectors(clock: Callable[[], datetime], page_size: int = 3
                    ) -> dict[str, InMemoryConnector]:
    return {
        "crm": InMemoryConnector([CRM_CUSTOMERS], page_size=page_size, id_prefix="c",
                                 clock=clock),
        "erp": InMemoryConnector([ERP_ACCOUNTS, ERP_CONTACTS], page_size=page_size,
                                 id_prefix="e", clock=clock),
        "shop": InMemoryConnector([SHOP_COMPANIES, SHOP_PEOPLE], page_size=page_size,
                                  id_prefix="s-", clock=clock),
    }


def make_sync(path: Path, connectors: dict[str, InMemoryConnector],
              clock: Callable[[], datetime], **settings: Any) -> Sync:
    settings.setdefault("max_delete_fraction", 1.0)
    settings.setdefault("datatypes", {
        "organisation": DatatypeSettings(match_keys=(("name",),)),
        "human": DatatypeSettings(match_keys=(("name",),)),
    })
    store = SQLiteStore(path)
    systems = [SystemInstance(name, SPECS[name], conn) for name, conn in connectors.items()]
    return Sync(store, systems, SyncSettings(**settings), clock=clock)


def records_as_global(connectors: dict[str, InMemoryConnector], global_type: str
                      ) -> dict[str, list[tuple[Any, ...]]]:
    """Every system's records of a global type as sorted tuples of global values."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for system, (datatype, fields, marker) in SHAPES[global_type].items():
        rows = []
        for props in connectors[system].records(datatype).values():
            if any(props.get(k) != v for k, v in marker.items()):
                continue
            row = []
            for f in fields:
                value = props.get(f)
                if value == "":
                    value = None  # an empty text is no value, in every system
                if f == "Employees" and value is not None and str(value).isdigit():
                    value = int(value)
                row.append(value)
            rows.append(tuple(row))
        out[system] = sorted(rows, key=repr)
    return out
