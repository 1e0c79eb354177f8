"""Exact Online's budgets against an initial load: requests, time and days, on a simulated clock.

Run::

    python benchmarks/exact_budget.py [--sizes 10000] [--minutely 60] [--daily 5000]

Exact allows 60 calls a minute and 5,000 a day per app and division
(``/work``'s API reference; the emulator enforces both with Exact's headers
and 429s). An Invoiced account with N company customers (a name each) is
synced into an empty Exact division by the engine, in this process.

Nobody waits hours: the emulator, the connector's ``RateBudget``, its token
manager and the engine share one simulated clock, and the budget's
``sleep`` moves that clock on instead of sleeping. So the minute windows,
the 10-minute token lifetimes and refreshes, and the day's reset behave as
they would, and the simulated time is what the load would take. When a
run stops because the day's calls are spent (exit 5 on the command line),
the clock moves to the daily reset and the next run carries on, as a daily
cron job would.

Counted at the emulator (its call log): every call, by kind (writes, Sync
API reads, lookups, token calls), and any 429 (there should be none: the
budget waits before the limit instead of running into it). For sizes not
measured, ``--project`` extrapolates from the per-record cost of the
largest measured size.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemContext
from talk_exactonline.budget import RateBudget
from talk_exactonline.connector import ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.mappings import INVOICES_AS
from talk_exactonline.oauth import token_manager
from talk_exactonline.plugin import instance_spec
from talk_exactonline.testing import emulator_options
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
DAY = 86_400.0


class SimulatedClock:
    """Seconds since the epoch that only move when someone sleeps."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)

    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@attrs.define
class Load:
    """What one initial load of N records into Exact cost."""

    n: int
    minutely: int
    daily: int
    runs: int = 0
    days: int = 0
    calls: Counter[str] = attrs.field(factory=Counter)
    refused: int = 0
    active_seconds: float = 0.0
    accounts: int = 0

    @property
    def charged(self) -> int:
        """Calls that count against the budgets (token calls and current/Me do not)."""
        return sum(v for k, v in self.calls.items() if k not in ("token", "current/Me"))

    @property
    def floor_minutes(self) -> float:
        return self.charged / self.minutely


def kind(method: str, path: str) -> str:
    if "/oauth2/" in path:
        return "token"
    if "current/Me" in path:
        return "current/Me"
    if method in ("POST", "PUT", "DELETE"):
        return "write"
    if "/sync/Deleted" in path:
        return "read: deletions feed"
    if "/sync/" in path:
        return "read: Sync API"
    return "read: lookup"


def load(n: int, *, minutely: int, daily: int, max_days: int = 400) -> Load:
    """Sync N Invoiced customers into an empty Exact division, day after day until done."""
    clock = SimulatedClock()
    found = Load(n, minutely, daily)
    billing = InvoicedEmulator(api_key="bench-key").start()
    erp = ExactEmulator(minutely_limit=minutely, daily_limit=daily, clock=clock).start()
    try:
        for i in range(n):
            billing.account.create_customer({"name": f"Firm {i:06d}", "type": "company"})
        options = emulator_options(erp)
        with tempfile.TemporaryDirectory() as folder:
            state = Path(folder) / "state.db"
            while True:
                found.runs += 1
                started = clock()
                status = _run(state, billing, erp, options, clock)
                found.active_seconds += clock() - started
                if status == "done":
                    break
                if status != "budget" or found.runs > max_days:
                    raise RuntimeError(f"run {found.runs} ended {status}")
                clock.now = max(clock.now, erp.limits.day_reset) + 1
                erp.new_day()
        found.days = found.runs
        for method, path, status_code in erp.calls:
            found.calls[kind(method, path)] += 1
            found.refused += status_code == 429
        found.accounts = len(erp.state.records["Accounts"])
        return found
    finally:
        billing.stop()
        erp.stop()


def _run(state: Path, billing: InvoicedEmulator, erp: ExactEmulator, options: dict[str, Any],
         clock: SimulatedClock) -> str:
    store = SQLiteStore(state)
    tokens = token_manager(options, SystemContext("erp", store), clock=clock)
    connector = ExactConnector("erp", base_url=erp.url, tokens=tokens,
                               budget=RateBudget(clock=clock, sleep=clock.sleep),
                               sleep=clock.sleep)
    systems = [SystemInstance("billing", INVOICED_SPEC, connector_for(billing)),
               SystemInstance("erp", instance_spec(INVOICES_AS[0], SystemContext("erp", store)),
                              connector)]
    sync = Sync(store, systems, SyncSettings(), clock=clock.moment)
    try:
        result = sync.run(datatypes=["organisation"])
    finally:
        sync.close()
    if result.dead_letters:
        raise RuntimeError(f"dead letters: {result.dead_letters[:3]}")
    return result.status


def projected(base: Load, n: int) -> dict[str, float]:
    """Scale the per-record cost of a measured load to N records."""
    per_record = base.charged / base.n
    calls = per_record * n
    return {"calls": calls, "minutes": calls / base.minutely,
            "days": math.ceil(calls / base.daily)}


def print_loads(loads: list[Load], project: list[int]) -> None:
    print("| N | runs (days) | charged calls | writes | Sync API reads | deletions feed | "
          "lookups | token calls | 429s | simulated time | at 60/min alone | accounts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for x in loads:
        c = x.calls
        print(f"| {x.n:,} | {x.runs} | {x.charged:,} | {c['write']:,} | "
              f"{c['read: Sync API']:,} | {c['read: deletions feed']:,} | "
              f"{c['read: lookup']:,} | {c['token']:,} | {x.refused} | "
              f"{_duration(x.active_seconds)} active over {x.days} day(s) | "
              f"{_duration(x.floor_minutes * 60)} | {x.accounts:,} |")
    if project and loads:
        base = max(loads, key=lambda x: x.n)
        print()
        print(f"Projected from the measured {base.n:,} ({base.charged / base.n:.3f} charged "
              "calls a record):")
        print()
        print(f"| N | charged calls | at {base.minutely}/min | days of {base.daily:,} |")
        print("|---|---|---|---|")
        for n in project:
            p = projected(base, n)
            print(f"| {n:,} | {p['calls']:,.0f} | {_duration(p['minutes'] * 60)} | "
                  f"{p['days']:.0f} |")


def _duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sizes", default="10000", help="comma-separated N to load and measure")
    p.add_argument("--project", default="10000,100000",
                   help="comma-separated N to project from the largest measured size")
    p.add_argument("--minutely", type=int, default=60, help="calls a minute (Exact: 60)")
    p.add_argument("--daily", type=int, default=5000, help="calls a day (Exact: 5,000)")
    return p.parse_args(argv)


def run(argv: list[str] | None = None) -> list[Load]:
    args = parse_args(argv)
    return [load(int(n), minutely=args.minutely, daily=args.daily)
            for n in args.sizes.split(",")]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loads = run(argv)
    print(f"# Exact Online budget (python {platform.python_version()}, {platform.machine()}, "
          f"{args.minutely}/minute, {args.daily:,}/day)\n")
    print_loads(loads, [int(n) for n in args.project.split(",") if n])
    complete = all(x.accounts == x.n and x.refused == 0 for x in loads)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
