"""The ``invoices_as`` option: which Exact document a new invoice becomes, checked by config.

The sync itself (an Invoiced invoice becoming a quotation with its lines,
and a later line following it) is in test_exactonline_invoiced_e2e.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from talk_core.assemble import instances
from talk_core.config import parse_config
from talk_core.errors import ConfigError
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.settings import SystemInstance
from talk_core.system import SystemSpec
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.plugin import EXACT_ONLINE
from talk_exactonline.testing import emulator_options

SPECS = {"exactonline": EXACT_ONLINE}


def _instance(tmp_path: Path, emulator: ExactEmulator, **extra: Any) -> SystemInstance:
    options = emulator_options(emulator, **extra)
    env = {"SECRET": options.pop("client_secret"), "TOKEN": options.pop("refresh_token")}
    table = {"connector": "exactonline", "client_secret": "${SECRET}",
             "refresh_token": "${TOKEN}", **options}
    config = parse_config({"systems": {"erp": table}}, file=tmp_path / "talk.toml", env=env,
                          systems=SPECS)
    store = SQLiteStore(tmp_path / "state.db")
    [instance] = instances(config, store, SPECS)
    instance.connector.close()
    store.close()
    return instance


def _created_as(spec: SystemSpec, kind: str | None) -> str | None:
    """The datatype a new agreement of ``kind`` is created in (one route takes it)."""
    mappings = [m for m in spec.mappings_for("agreement") if m.routes({"kind": kind})]
    return mappings[0].datatype if len(mappings) == 1 else None


@pytest.fixture
def emulator() -> Iterator[ExactEmulator]:
    emu = ExactEmulator().start()
    yield emu
    emu.stop()


def test_by_default_invoices_become_sales_orders(tmp_path: Path,
                                                  emulator: ExactEmulator) -> None:
    spec = _instance(tmp_path, emulator).spec
    assert [_created_as(spec, k) for k in ("invoice", "quote", "order", None)] == [
        "SalesOrders", "Quotations", "SalesOrders", "SalesOrders"]


def test_invoices_as_quotations_routes_invoices_and_quotes_to_quotations(
        tmp_path: Path, emulator: ExactEmulator) -> None:
    spec = _instance(tmp_path, emulator, invoices_as="quotations").spec
    assert [_created_as(spec, k) for k in ("invoice", "quote", "order", None)] == [
        "Quotations", "Quotations", "SalesOrders", "SalesOrders"]
    # the registered spec (talk docs, talk systems) is not changed by one instance
    assert _created_as(EXACT_ONLINE, "invoice") == "SalesOrders"


def test_an_unknown_invoices_as_is_a_config_error_naming_the_key(
        tmp_path: Path, emulator: ExactEmulator) -> None:
    with pytest.raises(ConfigError) as caught:
        _instance(tmp_path, emulator, invoices_as="invoices")
    message = str(caught.value)
    assert "[systems.erp] invoices_as" in message and "'invoices'" in message
    assert '"salesorders" or "quotations"' in message
    assert "talk.toml" in message
