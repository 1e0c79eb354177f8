"""The core's connector contract, run against the connector on the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from talk_core.model import Entity
from talk_core.testing.contract import ConnectorContract
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.testing import connector_for


@pytest.fixture
def emulator() -> Iterator[InvoicedEmulator]:
    with InvoicedEmulator() as emu:
        yield emu


class _OnEmulator(ConnectorContract):
    @pytest.fixture
    def connector(self, emulator: InvoicedEmulator) -> Iterator[InvoicedConnector]:
        conn = connector_for(emulator, page_size=3)
        yield conn
        conn.close()

    def assert_stored(self, sent: dict[str, Any], entity: Entity) -> None:
        """Invoiced answers currencies in lower case and adds its own metadata marker."""
        sent = {k: (v.lower() if k == "currency" else v) for k, v in sent.items()}
        super().assert_stored(sent, entity)


class TestCustomers(_OnEmulator):
    @pytest.fixture
    def datatype(self) -> str:
        return "customers"

    @pytest.fixture
    def new_record(self) -> Callable[[int], dict[str, Any]]:
        return lambda n: {"name": f"Customer {n}", "email": f"c{n}@example.com",
                          "city": "Oslo", "country": "NO"}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"city": props["city"] + " sentrum"}


class TestInvoices(_OnEmulator):
    @pytest.fixture
    def customer_id(self, emulator: InvoicedEmulator) -> str:
        return str(emulator.account.create_customer({"name": "Buyer"})["id"])

    @pytest.fixture
    def datatype(self) -> str:
        return "invoices"

    @pytest.fixture
    def new_record(self, customer_id: str) -> Callable[[int], dict[str, Any]]:
        return lambda n: {"customer": customer_id, "number": f"T-{n}", "currency": "eur",
                          "purchase_order": f"PO-{n}"}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"notes": f"changed {props['number']}"}


class TestItems(_OnEmulator):
    @pytest.fixture
    def datatype(self) -> str:
        return "items"

    @pytest.fixture
    def new_record(self) -> Callable[[int], dict[str, Any]]:
        return lambda n: {"id": f"sku-{n}", "name": f"Item {n}", "unit_cost": 10 + n}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"unit_cost": props["unit_cost"] + 5, "name": "Dearer"}


class TestContacts(_OnEmulator):
    @pytest.fixture
    def datatype(self) -> str:
        return "contacts"

    @pytest.fixture
    def new_record(self, emulator: InvoicedEmulator) -> Callable[[int], dict[str, Any]]:
        customer = str(emulator.account.create_customer({"name": "Employer"})["id"])
        return lambda n: {"customer": customer, "name": f"Contact {n}",
                          "email": f"p{n}@example.com"}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"title": "Director"}


class TestLineitems(_OnEmulator):
    @pytest.fixture
    def datatype(self) -> str:
        return "lineitems"

    @pytest.fixture
    def new_record(self, emulator: InvoicedEmulator) -> Callable[[int], dict[str, Any]]:
        customer = emulator.account.create_customer({"name": "Buyer"})
        invoice = str(emulator.account.create_invoice({"customer": customer["id"]})["id"])
        return lambda n: {"invoice": invoice, "name": f"Line {n}", "quantity": n + 1,
                          "unit_cost": 7}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"quantity": props["quantity"] + 10}
