"""Two systems kept in sync, end to end, with nothing to set up.

A CRM keeps companies and people in one ``customers`` list told apart by a
``type`` field; an ERP keeps ``Accounts`` and ``Contacts`` under other field
names. Both start with some records, one company in both. talk links what
matches, creates what is missing, then carries edits both ways, settles a
conflict and propagates a delete. State lives in a SQLite file, as it would
in production.

    python examples/two_systems.py [--state PATH]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from talk_core import (
    DataType,
    Mapping,
    Property,
    PropertyType,
    Sync,
    SyncSettings,
    SystemInstance,
    SystemSpec,
    mapped,
)
from talk_core.mapping import field_equals
from talk_core.store.sqlite import SQLiteStore
from talk_core.testing import InMemoryConnector

CUSTOMERS = DataType("customers", "Customers", (
    Property("name", required=True), Property("email"), Property("city"),
    Property("type"), Property("employer", PropertyType.REFERENCE, reference="customers"),
))
CRM = SystemSpec(
    "crm", "CRM", (CUSTOMERS,),
    (
        Mapping("customers", "organisation",
                mapped([("name", "name"), ("email", "email"), ("city", "city")]),
                facet="organisation data", when=field_equals("type", "company"),
                on_create={"type": "company"}),
        Mapping("customers", "human",
                mapped([("name", "name"), ("email", "email"), ("city", "city"),
                        ("employer", "organisation")]),
                facet="human data", when=field_equals("type", "person"),
                on_create={"type": "person"}),
    ),
    factory=lambda **_: InMemoryConnector([CUSTOMERS]),
)

ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("Name", required=True), Property("Email"), Property("City"),
))
CONTACTS = DataType("Contacts", "Contacts", (
    Property("FullName", required=True), Property("Email"), Property("City"),
    Property("Account", PropertyType.REFERENCE, reference="Accounts"),
))
ERP = SystemSpec(
    "erp", "ERP", (ACCOUNTS, CONTACTS),
    (
        Mapping("Accounts", "organisation",
                mapped([("Name", "name"), ("Email", "email"), ("City", "city")])),
        Mapping("Contacts", "human",
                mapped([("FullName", "name"), ("Email", "email"), ("City", "city"),
                        ("Account", "organisation")])),
    ),
    factory=lambda **_: InMemoryConnector([ACCOUNTS, CONTACTS]),
)


def show(title: str, crm: InMemoryConnector, erp: InMemoryConnector) -> None:
    print(f"\n{title}")
    print("  CRM customers:")
    for ident, rec in sorted(crm.records("customers").items()):
        print(f"    {ident:<5} {rec.get('type', ''):<8} {rec.get('name')!s:<22} "
              f"{rec.get('email')!s:<22} {rec.get('city')}")
    print("  ERP accounts and contacts:")
    for dt in ("Accounts", "Contacts"):
        for ident, rec in sorted(erp.records(dt).items()):
            name = rec.get("Name") or rec.get("FullName")
            print(f"    {ident:<5} {dt[:-1]:<8} {name!s:<22} {rec.get('Email')!s:<22} "
                  f"{rec.get('City')}")


def report(label: str, result) -> None:  # type: ignore[no-untyped-def]
    print(f"\n{label}: {result.status}")
    for (system, datatype), counts in sorted(result.counts.items()):
        done = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"  {system:<4} {datatype:<10} {done}")
    for c in result.conflicts:
        print(f"  conflict on {c['property']}: {c['values']} -> {c['winner']} wins ({c['policy']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, default=None, help="state file (default: temporary)")
    args = parser.parse_args()
    state = args.state or Path(tempfile.mkdtemp(prefix="talk-example-")) / "state.db"

    crm = InMemoryConnector([CUSTOMERS], id_prefix="c")
    erp = InMemoryConnector([ACCOUNTS, CONTACTS], id_prefix="E")
    acme = crm.put("customers", {"name": "Acme AS", "email": "post@acme.no", "city": "Oslo",
                                 "type": "company"})
    crm.put("customers", {"name": "Kari Nordmann", "email": "kari@acme.no", "city": "Oslo",
                          "type": "person", "employer": acme.id})
    erp.put("Accounts", {"Name": "ACME AS", "Email": "post@acme.no", "City": "Oslo"})
    fjord = erp.put("Accounts", {"Name": "Fjordkraft", "Email": "hei@fjord.no",
                                 "City": "Bergen"})
    erp.put("Contacts", {"FullName": "Ola Hansen", "Email": "ola@fjord.no", "City": "Bergen",
                         "Account": fjord.id})
    show("Before the first sync", crm, erp)

    store = SQLiteStore(state)
    sync = Sync(store, [SystemInstance("crm", CRM, crm), SystemInstance("erp", ERP, erp)],
                SyncSettings(conflict="newest"))
    report("First sync", sync.run())
    show("After the first sync (Acme matched by e-mail, the rest created)", crm, erp)

    erp_acme = next(i for i, r in erp.records("Accounts").items()
                    if r["Email"] == "post@acme.no")
    crm.edit("customers", acme.id, city="Drammen")
    erp.edit("Accounts", erp_acme, City="Lillestrøm")
    kari = next(i for i, r in crm.records("customers").items() if r["name"] == "Kari Nordmann")
    crm.edit("customers", kari, email="kari.nordmann@acme.no")
    erp.remove("Contacts", next(i for i, r in erp.records("Contacts").items()
                                if r["FullName"] == "Ola Hansen"))
    report("Second sync (edits on both sides, one conflict, one delete)", sync.run())
    show("After the second sync", crm, erp)

    third = sync.run()
    print(f"\nThird sync with no change: {third.writes} writes")
    print(f"State kept in {state}")
    store.close()


if __name__ == "__main__":
    main()
