"""Shared by the fault and bad-input suites: three emulators, a talk.toml over them, quick HTTP.

``Trio`` is Invoiced, Exact Online and a custom CRM, each on its emulator,
with a ``talk.toml`` that syncs all three and ``talk(...)`` to run the CLI
in-process. ``quick_http`` shortens the client's timeout and records the
waits between retries instead of sleeping them, so that a run over faulty
emulators takes seconds; the retry policy itself (attempts, Retry-After)
is untouched and is what the tests count.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner, Result
from hypothesis import strategies as st

from talk_core.cli.main import cli
from talk_core.config import load_config
from talk_core.emulation_faults import RandomFaults
from talk_core.http import HttpClient
from talk_core.model import DataType, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_custom import CustomEmulator
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.oauth import TokenStore
from talk_exactonline.schema import BY_NAME as EXACT_TYPES
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.schema import BY_NAME as INVOICED_TYPES

#: The client gives up on an answer after this long; the emulators' late answers come later.
CLIENT_TIMEOUT = 0.4
LATE_ANSWER = 0.7

CONFIG = """
[state]
path = "state.db"

[systems.billing]
connector = "invoiced"
base_url = "{billing}"
api_key = "${{BILLING_KEY}}"

[systems.erp]
connector = "exactonline"
base_url = "{erp}"
client_id = "{client_id}"
client_secret = "${{ERP_SECRET}}"
refresh_token = "${{ERP_REFRESH}}"

[systems.crm]
connector = "customcrm"
base_url = "{crm}"
api_key = "${{CRM_KEY}}"
page_size = 5

[sync]
{sync}
"""


@attrs.define
class HttpLog:
    """What talk's HTTP clients did: logical requests, attempts, and the waits they asked for."""

    clients: list[HttpClient] = attrs.field(factory=list)
    calls: int = 0
    waits: list[float] = attrs.field(factory=list)

    @property
    def attempts(self) -> int:
        return sum(c.requests for c in self.clients)


@pytest.fixture
def quick_http(monkeypatch: pytest.MonkeyPatch) -> HttpLog:
    """Every ``HttpClient`` made during the test waits ``CLIENT_TIMEOUT`` and never sleeps.

    The OAuth client keeps its timeout: Exact rotates refresh tokens, so a
    token answer lost to a short timeout would cost the chain, which is a
    different story from the one these suites tell.
    """
    log = HttpLog()
    init, request = HttpClient.__init__, HttpClient.request

    def quick_init(self: HttpClient, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if "OAuth" not in self.name:
            self.timeout = CLIENT_TIMEOUT
        self.sleep = log.waits.append
        log.clients.append(self)

    def counted_request(self: HttpClient, *args: Any, **kwargs: Any) -> Any:
        log.calls += 1
        return request(self, *args, **kwargs)

    monkeypatch.setattr(HttpClient, "__init__", quick_init)
    monkeypatch.setattr(HttpClient, "request", counted_request)
    return log


class Trio:
    """Invoiced (``billing``), Exact Online (``erp``) and a custom CRM (``crm``), run by talk."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.billing = InvoicedEmulator(api_key="key_billing")
        self.erp = ExactEmulator(division=4004, minutely_limit=100_000)
        self.crm = CustomEmulator("customcrm", api_key="key_crm")
        for faults in self.faults():
            faults.delay = LATE_ANSWER
        self.billing.start()
        self.erp.start()
        self.crm.start()
        monkeypatch.chdir(folder)
        monkeypatch.delenv("TALK_CONFIG", raising=False)
        monkeypatch.setenv("BILLING_KEY", "key_billing")
        monkeypatch.setenv("ERP_SECRET", self.erp.state.client_secret)
        monkeypatch.setenv("ERP_REFRESH", self.erp.refresh_token())
        monkeypatch.setenv("CRM_KEY", "key_crm")
        self.configure()

    def configure(self, **sync: Any) -> None:
        lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in sync.items())
        (self.folder / "talk.toml").write_text(CONFIG.format(
            billing=self.billing.url, erp=self.erp.url, crm=self.crm.url,
            client_id=self.erp.state.client_id, sync=lines))

    def faults(self) -> tuple[RandomFaults, RandomFaults, RandomFaults]:
        return self.billing.random_faults, self.erp.random_faults, self.crm.random_faults

    def inject(self, rate: float, seed: int) -> None:
        """Faults at ``rate`` on all three emulators, each with its own seeded roller."""
        for n, faults in enumerate(self.faults()):
            faults.rate = rate
            faults.seed = seed + n
            faults.__attrs_post_init__()

    def settle(self) -> None:
        """Wait for late answers to land, so the test's own edits come after them."""
        for faults in self.faults():
            faults.settle()

    def served(self) -> int:
        return sum(f.served for f in self.faults())

    def injected(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for faults in self.faults():
            total.update(faults.injected)
        return total

    def stop(self) -> None:
        self.billing.stop()
        self.erp.stop()
        self.crm.stop()

    def next_day(self) -> None:
        """Exact's next day for both sides: the emulator's budget resets, and so does the one
        talk kept from its last run (whose reset time is moved to the past, as the clock
        talk reads cannot be moved from here)."""
        self.erp.new_day()
        store = SQLiteStore(self.folder / "state.db")
        try:
            tokens = TokenStore("erp", store)
            note = tokens.load_note("budget")
            if note is not None:
                tokens.save_note("budget", {**note, "daily_reset": time.time() - 1})
        finally:
            store.close()


@pytest.fixture
def trio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Trio]:
    world = Trio(tmp_path, monkeypatch)
    try:
        yield world
    finally:
        world.stop()


def talk(*args: str) -> Result:
    """The CLI in this process: the same command a cron job runs, minus the fork."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def talk_json(*args: str) -> tuple[int, Any]:
    result = talk(*args, "--json")
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"talk {' '.join(args)}: no JSON: {result.output}") from None


# -- end states, compared without ids or timestamps ---------------------------------------

#: Values a system assigns itself (ids, numbers, codes made from another system's id).
ASSIGNED: dict[str, frozenset[str]] = {
    # an invoice's due date follows its date when its payment terms are NET n
    "billing": frozenset({"customers.number", "invoices.number", "invoices.date",
                          "invoices.due_date"}),
    "erp": frozenset({"Accounts.Code", "Quotations.QuotationNumber",
                      "SalesOrders.OrderNumber", "Quotations.QuotationDate",
                      "SalesOrders.OrderDate"}),
    "crm": frozenset({"order.number", "quote.number"}),
}


#: Text that is odd but valid data: huge, right to left, emoji, a NUL byte, markup.
ODD_TEXT = st.sampled_from([
    "x" * 1_000_000, "مرحبا بالعالم", "🦊🏔️👩‍👩‍👧", "nul\x00byte", "<html><body>500</body></html>",
])
MISSING = object()  # a bad record's field left out of the record altogether


def sync_in_process(*datatypes: str) -> RunResult:
    """One run of the folder's talk.toml in this process, over ``datatypes`` only.

    The bad-input tests look at the run's result (its dead letters) rather
    than at the CLI's summary of it.
    """
    with Sync(load_config("talk.toml")) as sync:
        return sync.run(datatypes=list(datatypes))


def linked(folder: Path, system: str, datatype: str, global_type: str, ident: str) -> bool:
    """Whether the state file in ``folder`` links ``system``'s record ``ident``."""
    store = SQLiteStore(folder / "state.db")
    try:
        return bool(store.link_ids(system, datatype, global_type, [ident]))
    finally:
        store.close()


def _plain(value: Any) -> Any:
    """Hashable, order-free form of a value."""
    if isinstance(value, dict):  # a talk_key in metadata is the create's idempotency key
        return tuple(sorted((k, _plain(v)) for k, v in value.items() if k != "talk_key"))
    if isinstance(value, list):
        return tuple(sorted((_plain(v) for v in value), key=repr))
    return value


def snapshot(system: str, records: dict[str, list[dict[str, Any]]],
             types: dict[str, DataType], id_field: dict[str, str]) -> dict[str, list[Any]]:
    """Each datatype's records as sorted tuples of their own values.

    Ids, timestamps and system-assigned values are left out; a reference
    becomes the referenced record's own values, so two systems whose ids
    differ but whose records and relations are the same compare equal.
    """
    skipped = ASSIGNED.get(system, frozenset())
    by_id: dict[tuple[str, str], dict[str, Any]] = {
        (name, str(r[id_field[name]])): r for name, rows in records.items() for r in rows}

    def own(name: str, record: dict[str, Any], depth: int) -> tuple[Any, ...]:
        out = []
        for prop in types[name].properties:
            if prop.read_only or prop.type is PropertyType.DATETIME or \
                    f"{name}.{prop.name}" in skipped or prop.name not in record:
                continue
            value = record[prop.name]
            if prop.type is PropertyType.REFERENCE and value not in (None, ""):
                target = by_id.get((prop.reference or "", str(value)))
                value = own(prop.reference or "", target, depth + 1) if (
                    target is not None and depth < 2) else ("missing", prop.reference)
            elif prop.type is PropertyType.CHILDREN:
                continue
            out.append((prop.name, _plain(value)))
        return tuple(out)

    return {name: sorted((own(name, r, 0) for r in rows), key=repr)
            for name, rows in sorted(records.items())}


def end_state(trio: Trio) -> dict[str, dict[str, list[Any]]]:
    """What every system holds, in comparable form."""
    inv = trio.billing.account
    billing = {
        "customers": list(inv.customers.values()),
        "contacts": list(inv.contacts.values()),
        "items": [i for i in inv.items.values() if not i.get("archived")],
        "invoices": list(inv.invoices.values()),
        "lineitems": [{**line, "invoice": inv_id} for inv_id, invoice in inv.invoices.items()
                      for line in invoice["items"]],
    }
    erp = {name: list(rows.values()) for name, rows in trio.erp.state.records.items()
           if name in EXACT_TYPES}  # not the books (GL accounts, ...): talk does not sync them
    layout = trio.crm.layout
    crm = {name: trio.crm.records(name) for name in layout.resources}
    return {
        "billing": snapshot("billing", billing, INVOICED_TYPES,
                            dict.fromkeys(billing, "id")),
        "erp": snapshot("erp", erp, EXACT_TYPES,
                        {n: EXACT_TYPES[n].properties[0].name for n in erp}),
        "crm": snapshot("crm", crm, {n: r.datatype for n, r in layout.resources.items()},
                        dict.fromkeys(crm, "id")),
    }


def differences(left: dict[str, list[Any]], right: dict[str, list[Any]]) -> dict[str, Any]:
    """Per datatype, the records only one side holds: what an assertion should show."""
    out: dict[str, Any] = {}
    for name in sorted(set(left) | set(right)):
        a, b = Counter(left.get(name, [])), Counter(right.get(name, []))
        if a != b:
            out[name] = {"only left": list((a - b).elements()),
                         "only right": list((b - a).elements())}
    return out
