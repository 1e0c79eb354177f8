"""The core's connector contract, run on both datatypes against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from talk_core.testing import ConnectorContract
from talk_crmlite import CrmLiteConnector, CrmLiteEmulator


class TestCustomers(ConnectorContract):
    @pytest.fixture
    def connector(self, emulator: CrmLiteEmulator) -> Iterator[CrmLiteConnector]:
        connector = CrmLiteConnector(emulator.url, emulator.api_key, page_size=2)
        yield connector
        connector.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "customers"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        return lambda n: {"name": f"Customer {n}", "email": f"post@c{n}.example",
                          "country": "NO"}

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return lambda props: {"name": props["name"] + " AS", "city": "Oslo"}


class TestContacts(ConnectorContract):
    @pytest.fixture
    def connector(self, emulator: CrmLiteEmulator) -> Iterator[CrmLiteConnector]:
        connector = CrmLiteConnector(emulator.url, emulator.api_key, page_size=3)
        self.customer = connector.create("customers", {"name": "Employer"}, key="emp").id
        yield connector
        connector.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "contacts"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        def contact(n: int) -> dict[str, Any]:
            return {"name": f"Person {n}", "email": f"p{n}@example.com",
                    "customer_id": self.customer}
        return contact

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return lambda props: {"title": "Buyer", "phone": "+47 400 00 000"}
