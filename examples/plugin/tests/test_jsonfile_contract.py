"""The core's connector contract, run on both of the example's datatypes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.testing import ConnectorContract
from talk_jsonfile import JsonFileConnector, JsonFolder


class TestCompanies(ConnectorContract):
    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[JsonFileConnector]:
        connector = JsonFileConnector(JsonFolder(tmp_path), page_size=2)
        yield connector
        connector.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "companies"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        return lambda n: {"name": f"Company {n}", "email": f"post@company{n}.example",
                          "country": "no", "status": "active"}

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return lambda props: {"name": props["name"] + " AS", "phone": "+47 22 00 00 00"}


class TestContacts(ConnectorContract):
    @pytest.fixture
    def connector(self, tmp_path: Path) -> Iterator[JsonFileConnector]:
        connector = JsonFileConnector(JsonFolder(tmp_path), page_size=3)
        self.company = connector.create("companies", {"name": "Employer"}, key="employer").id
        yield connector
        connector.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "contacts"

    @pytest.fixture
    def new_record(self):  # type: ignore[no-untyped-def]
        def contact(n: int) -> dict[str, Any]:
            return {"name": f"Person {n}", "email": f"p{n}@example.com", "company": self.company}
        return contact

    @pytest.fixture
    def change(self):  # type: ignore[no-untyped-def]
        return lambda props: {"title": "Buyer", "phone": "+47 400 00 000"}
