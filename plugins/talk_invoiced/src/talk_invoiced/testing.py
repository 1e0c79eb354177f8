"""Pytest fixtures for the Invoiced emulator and a connector bound to it.

Import them into a test module (``from talk_invoiced.testing import
invoiced_emulator, invoiced_connector``) or load this module as a pytest
plugin (``-p talk_invoiced.testing``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from talk_invoiced.api import InvoicedApi
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.replacing import ReplacementNote


def connector_for(emulator: InvoicedEmulator, *, page_size: int = 100, store: Any = None,
                  name: str = "invoiced") -> InvoicedConnector:
    """A connector on the emulator that never waits between retries.

    With a state ``store``, it keeps there which items it is replacing, as
    a configured one does (``name`` is its system's name).
    """
    api = InvoicedApi(emulator.api_key, emulator.url, page_size=page_size,
                      sleep=lambda _s: None, timeout=5.0)
    return InvoicedConnector(api, ReplacementNote(name, store))


@pytest.fixture
def invoiced_emulator() -> Iterator[InvoicedEmulator]:
    """An empty emulated account on a free loopback port."""
    emulator = InvoicedEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def invoiced_connector(invoiced_emulator: InvoicedEmulator) -> Iterator[InvoicedConnector]:
    """A connector on ``invoiced_emulator`` with small pages, so paging is exercised."""
    connector = connector_for(invoiced_emulator, page_size=3)
    yield connector
    connector.close()
