"""The core's connector contract on both backends: REST on the emulator, and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from talk_core.model import Entity, ReadMode
from talk_core.testing.contract import ConnectorContract
from talk_custom import CustomEmulator, create_database, instance
from talk_custom.connector import RestConnector
from talk_custom.sqlite_backend import SqliteConnector


def customer(n: int) -> dict[str, Any]:
    return {"name": f"Customer {n}", "email": f"c{n}@example.com", "city": "Oslo",
            "country": "NO"}


def rename(props: dict[str, Any]) -> dict[str, Any]:
    return {"name": props["name"] + " (changed)", "phone": "+47 1234"}


class _CustomerContract(ConnectorContract):
    """Customers, on whichever backend the subclass's ``connector`` serves."""

    @pytest.fixture
    def datatype(self) -> str:
        return "customer"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        return customer

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return rename


class TestRestCustomers(_CustomerContract):
    @pytest.fixture
    def connector(self) -> Iterator[RestConnector]:
        with CustomEmulator("customcrm") as emulator:
            conn = instance("crm", "customcrm", base_url=emulator.url, page_size=3).connector
            yield conn
            conn.close()


class TestRestRenamedFieldsAndPaths(TestRestCustomers):
    """An in-house API whose names differ from the profile's, used without code."""

    LAYOUT = {"customer": {"path": "clients", "id_field": "client_id",
                           "updated_field": "modified", "deleted_field": "removed",
                           "fields": {"name": "company_name", "email": "mail"}}}

    @pytest.fixture
    def connector(self) -> Iterator[RestConnector]:
        with CustomEmulator("custompms", datatypes=self.LAYOUT, api_key="k-123") as emulator:
            conn = instance("pms", "custompms", base_url=emulator.url, api_key="k-123",
                            page_size=2, datatypes=self.LAYOUT).connector
            yield conn
            conn.close()
            assert emulator.requests and all(p.startswith("/clients") for _, p in emulator.requests)


class TestRestProducts(ConnectorContract):
    @pytest.fixture
    def connector(self) -> Iterator[RestConnector]:
        with CustomEmulator("customwebshop", token="t-1") as emulator:
            conn = instance("shop", "customwebshop", base_url=emulator.url, token="t-1",
                            page_size=2).connector
            yield conn
            conn.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "product"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        return lambda n: {"code": f"SKU-{n}", "name": f"Widget {n}", "price": 10.5 + n,
                          "currency": "EUR"}

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return lambda props: {"price": props["price"] + 1, "description": "bigger"}


def _db(tmp_path: Path, **layout: Any) -> Path:
    return create_database(tmp_path / "shop.db", "customwebshop", datatypes=layout or None)


class TestSqliteCustomers(_CustomerContract):
    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[SqliteConnector]:
        _db(tmp_path)
        conn = instance("shop", "customwebshop", backend="sqlite", database="shop.db",
                        base_dir=tmp_path, page_size=3).connector
        yield conn
        conn.close()


class TestSqliteOrderlines(ConnectorContract):
    """Lines with references to an order and a product, and decimals stored as numbers."""

    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[SqliteConnector]:
        _db(tmp_path)
        conn = instance("shop", "customwebshop", backend="sqlite", database="shop.db",
                        base_dir=tmp_path, page_size=2).connector
        c = conn.create("customer", customer(0), key="c0")
        self.order = conn.create("order", {"number": "1", "customer": c.id}, key="o1").id
        self.product = conn.create("product", {"code": "P1"}, key="p1").id
        yield conn
        conn.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "orderline"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        return lambda n: {"order": self.order, "product": self.product, "quantity": n + 1,
                          "unit_price": 9.5}

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return lambda props: {"quantity": props["quantity"] + 10}

    def assert_stored(self, sent: dict[str, Any], entity: Entity) -> None:
        for name, value in sent.items():
            stored = entity.properties[name]
            if isinstance(value, int | float):
                assert Decimal(str(stored)) == Decimal(str(value)), name
            else:
                assert stored == value, name


class TestSqliteFullListing(TestSqliteCustomers):
    """A table without updated and deleted columns: full listings and real deletes."""

    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[SqliteConnector]:
        import sqlite3

        with sqlite3.connect(tmp_path / "pms.db") as db:
            db.execute("CREATE TABLE guests (guest_no INTEGER PRIMARY KEY, name TEXT, "
                       "email TEXT, phone TEXT, address TEXT, city TEXT, postal_code TEXT, "
                       "country TEXT, org_number TEXT, vat_number TEXT)")
        db.close()
        conn = instance("pms", "custompms", backend="sqlite", database=str(tmp_path / "pms.db"),
                        page_size=2, datatypes={"customer": {"table": "guests",
                                                             "id_field": "guest_no"}}).connector
        assert conn.datatype("customer").read_mode is ReadMode.FULL
        yield conn
        conn.close()
