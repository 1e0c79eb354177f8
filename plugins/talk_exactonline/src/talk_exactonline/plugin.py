"""Entry point of the Exact Online connector in the ``talk`` plugin group.

The Exact Online system kind: its options, the connector built from them,
and the ``talk exactonline`` commands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import click

from talk_core import interrupt
from talk_core.emulation import Served
from talk_core.errors import ConfigError
from talk_core.hookspecs import Register, hookimpl
from talk_core.limits import LIMIT_OPTIONS, limit_overrides
from talk_core.system import Option, SystemContext, SystemSpec
from talk_exactonline.budget import RateBudget
from talk_exactonline.budget_memory import BudgetMemory
from talk_exactonline.connector import ExactConnector
from talk_exactonline.mappings import INVOICES_AS, MAPPINGS, SALES_JOURNAL, mappings_for
from talk_exactonline.oauth import DEFAULT_BASE_URL, DEFAULT_REDIRECT, token_manager
from talk_exactonline.persons import NONE
from talk_exactonline.schema import DATATYPES

OPTIONS = (
    Option("base_url", str, default=DEFAULT_BASE_URL,
           help="Exact Online host of the country (start.exactonline.nl, .be, .de, ...)"),
    Option("client_id", str, required=True, help="the app's client id (App Center)"),
    Option("client_secret", str, required=True, secret=True, help="the app's client secret"),
    Option("refresh_token", str, secret=True,
           help="a first refresh token for headless setups; the state store keeps the rest"),
    Option("division", int, help="division number; default: the user's current division"),
    Option("redirect_uri", str, default=DEFAULT_REDIRECT,
           help="the app's redirect URI; a loopback one lets `talk auth` catch the code"),
    Option("invoices_as", str, default=INVOICES_AS[0],
           help='where new invoices from other systems go: "salesorders", "quotations" '
                'or "salesinvoices"'),
    Option("person_accounts", str, default=NONE,
           help='which accounts are persons, not companies: "none", or terms joined by '
                '"and": "Field=value", "Field empty", "Field set" (e.g. "Remarks=private")'),
    Option("sales_journal", str, default=SALES_JOURNAL,
           help="the sales journal new sales invoices are posted in"),
    Option("company_data", bool, default=False,
           help="also sync Exact's Employees, Departments and Divisions (read only): the "
                "company's own people and administrations, as humans and organisations"),
    *LIMIT_OPTIONS,
)


def make_connector(*, options: dict[str, Any], context: SystemContext,
                   sleep: Callable[[float], None] = interrupt.sleep,
                   clock: Callable[[], float] = time.time) -> ExactConnector:
    """The factory ``talk`` calls with an instance's validated options.

    ``clock`` is the request budget's: when the day's budget resets.
    """
    base_url = str(options.get("base_url") or DEFAULT_BASE_URL)
    division = int(options["division"]) if options.get("division") is not None else None
    spec = instance_spec(str(options.get("invoices_as") or INVOICES_AS[0]), context,
                         person_accounts=str(options.get("person_accounts") or NONE),
                         sales_journal=str(options.get("sales_journal") or SALES_JOURNAL),
                         company_data=bool(options.get("company_data")))
    tokens = token_manager(options, context)
    memory = BudgetMemory(tokens.tokens, client_id=tokens.client_id, base_url=base_url,
                          division=division)
    connector = ExactConnector(context.name, base_url=base_url, tokens=tokens,
                               division=division, sleep=sleep, verify=True,
                               budget=RateBudget(sleep=sleep, clock=clock, memory=memory),
                               limits=limit_overrides(options))
    connector.spec = spec
    return connector


def instance_spec(invoices_as: str, context: SystemContext, *, person_accounts: str = NONE,
                  sales_journal: str = SALES_JOURNAL, company_data: bool = False) -> SystemSpec:
    """The spec of one instance: the registered one, or its mappings for its options."""
    if invoices_as not in INVOICES_AS:
        choices = " or ".join(f'"{name}"' for name in INVOICES_AS)
        raise ConfigError(f"[systems.{context.name}] invoices_as: expected {choices}, "
                          f"got {invoices_as!r}")
    try:
        mappings = mappings_for(invoices_as, person_accounts, sales_journal, company_data)
    except ValueError as exc:
        raise ConfigError(f"[systems.{context.name}] {exc}") from None
    if mappings is MAPPINGS:
        return EXACT_ONLINE
    return attrs.evolve(EXACT_ONLINE, mappings=mappings)


def _emulator(*, port: int, seed: bool) -> None:
    from talk_exactonline.emulator import serve

    serve(port, seed)


def _start_emulator(*, port: int = 0, credentials: dict[str, str] | None = None) -> Served:
    """An empty division in the background; every ``options()`` carries a fresh refresh token.

    ``credentials``: the app's ``client_id`` and ``client_secret`` the token
    endpoint demands (the emulator's defaults when not given). Its minute
    budget is lifted so that trying talk out never waits for the next
    minute; the daily budget stays as Exact's.
    """
    from talk_exactonline.emulator import ExactEmulator
    from talk_exactonline.emulator.fill import fill

    given = credentials or {}
    emulator = ExactEmulator(minutely_limit=100_000,
                             client_id=given.get("client_id") or "talk-emulator",
                             client_secret=given.get("client_secret") or "emulator-secret"
                             ).start(port)
    url = emulator.url

    def options() -> dict[str, Any]:
        return {"base_url": url, "client_id": emulator.state.client_id,
                "client_secret": emulator.state.client_secret,
                "refresh_token": emulator.refresh_token()}

    return Served(url, options, emulator.stop,
                  fill=lambda records, seed: fill(emulator.state, records, seed),
                  seed=emulator.seed)


#: What ``talk emulate exactonline`` takes, with the emulator's public defaults.
EMULATOR_CREDENTIALS = (
    Option("client_id", str, default="talk-emulator", help="the app's client id"),
    Option("client_secret", str, secret=True, default="emulator-secret",
           help="the app's client secret the token endpoint demands"),
)


EXACT_ONLINE = SystemSpec("exactonline", "Exact Online", DATATYPES, MAPPINGS,
                          factory=make_connector, options=OPTIONS, emulator=_emulator,
                          plugin="talk-exactonline", start_emulator=_start_emulator,
                          emulator_credentials=EMULATOR_CREDENTIALS, env_prefix="EXACT")


@hookimpl
def register_systems(register: Register) -> None:
    register(EXACT_ONLINE)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from talk_exactonline.auth_cmd import register

    register(cli)
