"""The core's connector contract, run against the Exact Online emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.model import Entity
from talk_core.store.sqlite import SQLiteStore
from talk_core.testing import ConnectorContract
from talk_exactonline.connector import ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.testing import emulator_connector

SYNC_PAGE = 4


@pytest.fixture
def emulator() -> Iterator[ExactEmulator]:
    emu = ExactEmulator(sync_page_size=SYNC_PAGE, page_size=3).start()
    yield emu
    emu.stop()


@pytest.fixture
def exact(emulator: ExactEmulator, tmp_path: Path) -> Iterator[ExactConnector]:
    store = SQLiteStore(tmp_path / "state.db")
    conn = emulator_connector(emulator, store, sleep=lambda _s: None)
    yield conn
    conn.close()
    store.close()


class ExactContract(ConnectorContract):
    @pytest.fixture
    def connector(self, exact: ExactConnector) -> ExactConnector:
        return exact

    @pytest.fixture
    def page_size(self) -> int:
        return SYNC_PAGE

    @pytest.fixture
    def unknown_id(self) -> str:
        return "00000000-0000-0000-0000-000000000000"

    def assert_stored(self, sent: dict[str, Any], entity: Entity) -> None:
        """Exact pads codes and countries and answers numbers as numbers."""
        def norm(value: Any) -> Any:
            if isinstance(value, str):
                return value.strip()
            if isinstance(value, list):
                return [norm(v) for v in value]
            if isinstance(value, dict):
                return {k: norm(v) for k, v in value.items()}
            return value

        super().assert_stored(norm(sent), Entity(entity.id, norm(entity.properties)))


class TestAccountsContract(ExactContract):
    @pytest.fixture
    def datatype(self) -> str:
        return "Accounts"

    @pytest.fixture
    def new_record(self) -> Any:
        return lambda n: {"Name": f"Account {n}", "Email": f"a{n}@example.nl", "City": "Delft",
                          "Country": "NL"}

    @pytest.fixture
    def change(self) -> Any:
        return lambda props: {"City": props["City"] + " Noord"}


class TestItemsContract(ExactContract):
    @pytest.fixture
    def datatype(self) -> str:
        return "Items"

    @pytest.fixture
    def new_record(self) -> Any:
        return lambda n: {"Code": f"SKU-{n}", "Description": f"Item {n}", "Unit": "pc"}

    @pytest.fixture
    def change(self) -> Any:
        return lambda props: {"Description": props["Description"] + " v2"}


class TestSalesOrdersContract(ExactContract):
    @pytest.fixture
    def datatype(self) -> str:
        return "SalesOrders"

    @pytest.fixture
    def new_record(self, exact: ExactConnector) -> Any:
        account = exact.create("Accounts", {"Name": "Buyer"}, key="k-account")
        item = exact.create("Items", {"Code": "X1", "Description": "Widget"}, key="k-item")
        return lambda n: {"OrderedBy": account.id, "Description": f"Order {n}",
                          "YourRef": f"PO-{n}",
                          "SalesOrderLines": [{"Item": item.id, "Quantity": n + 1,
                                               "UnitPrice": 9.5}]}

    @pytest.fixture
    def change(self) -> Any:
        return lambda props: {"Description": props["Description"] + " (changed)"}


class TestContactsContract(ExactContract):
    @pytest.fixture
    def datatype(self) -> str:
        return "Contacts"

    @pytest.fixture
    def new_record(self, exact: ExactConnector) -> Any:
        account = exact.create("Accounts", {"Name": "Employer"}, key="k-account")
        return lambda n: {"Account": account.id, "FullName": f"Anna{n} de Vries",
                          "Email": f"anna{n}@example.nl"}

    @pytest.fixture
    def change(self) -> Any:
        return lambda props: {"FullName": "Anna " + props["FullName"].split(" ", 1)[1] + "-Bos"}


class TestQuotationsContract(ExactContract):
    @pytest.fixture
    def datatype(self) -> str:
        return "Quotations"

    @pytest.fixture
    def new_record(self, exact: ExactConnector) -> Any:
        account = exact.create("Accounts", {"Name": "Prospect"}, key="k-account")
        item = exact.create("Items", {"Code": "Q1", "Description": "Service"}, key="k-item")
        return lambda n: {"OrderAccount": account.id, "Description": f"Offer {n}",
                          "QuotationDate": "2024-09-02T00:00:00",
                          "QuotationLines": [{"Item": item.id, "Quantity": 1,
                                              "UnitPrice": 100 + n, "Discount": 0.055}]}

    @pytest.fixture
    def change(self) -> Any:
        return lambda props: {"Description": props["Description"] + " (v2)"}

    def assert_stored(self, sent: dict[str, Any], entity: Entity) -> None:
        """Exact answers dates as /Date(ms)/."""
        sent = dict(sent)
        if "QuotationDate" in sent:
            assert entity.properties["QuotationDate"] == "/Date(1725235200000)/"
            del sent["QuotationDate"]
        super().assert_stored(sent, entity)
