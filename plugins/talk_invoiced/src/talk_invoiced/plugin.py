"""Entry point of the Invoiced connector in the ``talk`` plugin group."""

from __future__ import annotations

import secrets
from typing import Any

from talk_core.emulation import Served
from talk_core.hookspecs import Register, hookimpl
from talk_core.limits import LIMIT_OPTIONS, limit_overrides
from talk_core.system import Option, SystemContext, SystemSpec
from talk_invoiced.api import MAX_PAGE, PRODUCTION, SANDBOX, InvoicedApi
from talk_invoiced.connector import InvoicedConnector
from talk_invoiced.mappings import MAPPINGS
from talk_invoiced.replacing import ReplacementNote
from talk_invoiced.schema import DATATYPES

OPTIONS = (
    Option("api_key", str, required=True, secret=True, help="Invoiced API key"),
    Option("base_url", str, default=PRODUCTION,
           help="API address: production, the sandbox, or an emulator on 127.0.0.1"),
    Option("sandbox", bool, default=False,
           help=f"use the sandbox ({SANDBOX}) when base_url is not set"),
    Option("page_size", int, default=MAX_PAGE, help="records per page, at most 100"),
    *LIMIT_OPTIONS,
)


def make_connector(*, options: dict[str, Any], context: SystemContext) -> InvoicedConnector:
    """Build the connector from a system instance's validated options."""
    base_url = options.get("base_url") or PRODUCTION
    if options.get("sandbox") and base_url == PRODUCTION:
        base_url = SANDBOX
    api = InvoicedApi(options["api_key"], base_url,
                      page_size=int(options.get("page_size") or MAX_PAGE),
                      system=context.name if context is not None else "",
                      limits=limit_overrides(options))
    if context is None:
        return InvoicedConnector(api)
    return InvoicedConnector(api, ReplacementNote(context.name, context.store))


def _emulator(*, port: int, seed: bool) -> None:
    from talk_invoiced.emulator import serve

    serve(port, seed)


def _start_emulator(*, port: int = 0, credentials: dict[str, str] | None = None) -> Served:
    """An empty account in the background, with the API key given or one of its own."""
    from talk_invoiced.emulator import InvoicedEmulator
    from talk_invoiced.emulator.fill import fill

    api_key = (credentials or {}).get("api_key") or secrets.token_urlsafe(16)
    emulator = InvoicedEmulator(port=port, api_key=api_key).start()
    url = emulator.url
    return Served(url, lambda: {"base_url": url, "api_key": emulator.api_key}, emulator.stop,
                  fill=lambda records, seed: fill(emulator.account, records, seed),
                  seed=emulator.seed)


#: What ``talk emulate invoiced`` takes, with the emulator's public default.
EMULATOR_CREDENTIALS = (
    Option("api_key", str, secret=True, default="test_key",
           help="the API key the emulator demands (HTTP basic user)"),
)


INVOICED_SPEC = SystemSpec(
    "invoiced", "Invoiced", DATATYPES, MAPPINGS, factory=make_connector, options=OPTIONS,
    emulator=_emulator, plugin="talk-invoiced", start_emulator=_start_emulator,
    emulator_credentials=EMULATOR_CREDENTIALS,
)


@hookimpl
def register_systems(register: Register) -> None:
    register(INVOICED_SPEC)
