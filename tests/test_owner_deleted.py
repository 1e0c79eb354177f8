"""What a record talk deletes takes along: the readings that wait for it as their owner.

``Siblings.gone`` runs in the commit of every delete talk makes. A reading
of the same system that was never linked and whose match keys name the
deleted record (an address naming its account) would wait for that record
for good, so it is marked to be deleted too; anything that is more than
such a belonging, or already linked, is left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.mapping import Mapping, mapped
from talk_core.model import DataType, Link, Property, PropertyType
from talk_core.staged import StagedRecord
from talk_core.store.base import InboxRow
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.catalog import Catalog
from talk_core.sync.records import ORPHANED
from talk_core.sync.references import References
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.sync.siblings import Siblings
from talk_core.sync.translate import Translator
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

REF = PropertyType.REFERENCE

ACCOUNTS = DataType("Accounts", "Accounts", (Property("Name", required=True),))
ADDRESSES = DataType("Addresses", "Addresses", (
    Property("Account", REF, reference="Accounts", required=True),
    Property("Type"), Property("City"),
))
#: a person that is also a postal address of the account it works for (an Invoiced contact)
CONTACTS = DataType("Contacts", "Contacts", (
    Property("Account", REF, reference="Accounts"), Property("Name"), Property("City"),
))
#: addresses the system keeps whatever is deleted elsewhere
KEPT = DataType("Kept", "Kept", (
    Property("Account", REF, reference="Accounts", required=True),
    Property("Type"), Property("City"),
))
DATATYPES = (ACCOUNTS, ADDRESSES, CONTACTS, KEPT)

ERP = SystemSpec(
    "erp", "ERP", DATATYPES,
    (
        Mapping("Accounts", "organisation", mapped([("Name", "name")])),
        Mapping("Addresses", "location",
                mapped([("Account", "owner"), ("Type", "kind"), ("City", "city")])),
        Mapping("Contacts", "human",
                mapped([("Name", "name"), ("City", "city"), ("Account", "organisation")])),
        Mapping("Contacts", "location",
                mapped([("Account", "owner"), ("City", "city")]),
                defaults={"kind": "postal"}, creates=False),
        Mapping("Kept", "location",
                mapped([("Account", "owner"), ("Type", "kind"), ("City", "city")]),
                deletes=False),
    ),
    factory=lambda **_: InMemoryConnector(list(DATATYPES)),
)

ACCOUNT = Link("organisation", "g-org", "erp", "Accounts", "E1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    made = SQLiteStore(tmp_path / "state.db")
    yield made
    made.close()


@pytest.fixture
def siblings(store: SQLiteStore) -> Siblings:
    systems = {"erp": SystemInstance("erp", ERP, InMemoryConnector(list(DATATYPES)))}
    catalog = Catalog(systems, SyncSettings(), GLOBAL_TYPES)
    return Siblings(store, catalog, Translator(catalog, References(store, GLOBAL_TYPES)))


def reading(global_type: str, datatype: str, external_id: str, account: str) -> InboxRow:
    return InboxRow(global_type, "erp", datatype, external_id,
                    StagedRecord({"owner": account, "kind": "invoice", "city": "Oslo"}, "h"))


def marks(store: SQLiteStore) -> list[tuple[str, str, dict[str, str] | None]]:
    rows = store.inbox_deferred() + store.inbox_unresolved("location", 100)
    return sorted((r.datatype, r.external_id, r.payload.values if r.payload else None)
                  for r in rows if r.kind == ORPHANED)


def test_an_address_waiting_for_the_deleted_account_is_marked_to_go(
        store: SQLiteStore, siblings: Siblings) -> None:
    with store.transaction():
        store.stage([reading("location", "Addresses", "E2", "E1"),
                     reading("location", "Addresses", "E3", "E9")])
        siblings.gone(ACCOUNT)
    assert marks(store) == [("Addresses", "E2", {"owner": "E1"})]


def test_a_linked_address_is_left_to_its_entity(store: SQLiteStore, siblings: Siblings) -> None:
    with store.transaction():
        store.put_link(Link("location", "g-loc", "erp", "Addresses", "E2", "h"))
        store.stage([reading("location", "Addresses", "E2", "E1")])
        siblings.gone(ACCOUNT)
    assert marks(store) == []


def test_a_record_that_is_more_than_the_accounts_address_is_not_marked(
        store: SQLiteStore, siblings: Siblings) -> None:
    """A contact's postal address names the account; the contact is a person too."""
    with store.transaction():
        store.stage([reading("location", "Contacts", "E4", "E1"),
                     reading("location", "Kept", "E5", "E1")])
        siblings.gone(ACCOUNT)
    assert marks(store) == []
