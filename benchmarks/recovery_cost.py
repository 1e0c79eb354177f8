"""What settling a crashed run's journalled creates costs: one lookup each, or one listing.

Run::

    python benchmarks/recovery_cost.py [--sizes 250 1000] [--made 0.75]

For each size J, J creates of one datatype are journalled against an
emulator (Invoiced customers, Exact Online accounts), and a share of them
(``--made``) is really sent, as a crash in the middle of a batch leaves
them. Then they are settled twice: by ``recover`` for each create (what the
engine does for a connector without ``recover_many``) and by
``recover_many``. Requests are counted at the emulator (its request tap);
seconds are wall time on loopback, so they show the per-request overhead
only: against the real APIs each request costs far more (Exact allows 60
a minute), and the request count is what matters.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from talk_core.connector import PendingCreate, Recovered, recover_each
from talk_core.ids import new_global_id
from talk_core.store.sqlite import SQLiteStore


@attrs.frozen
class Row:
    system: str
    datatype: str
    size: int
    made: int
    page: int
    each_requests: int
    each_seconds: float
    many_requests: int
    many_seconds: float
    agree: bool

    @property
    def bound(self) -> int:
        return math.ceil(self.size / self.page) + 1


@contextmanager
def _invoiced() -> Iterator[tuple[Any, Any, str, int, Callable[[int], dict[str, Any]]]]:
    from talk_invoiced.emulator import InvoicedEmulator
    from talk_invoiced.testing import connector_for

    emulator = InvoicedEmulator().start()
    connector = connector_for(emulator)
    try:
        yield emulator, connector, "customers", connector.page_size, lambda n: {
            "name": f"Customer {n}"}
    finally:
        connector.close()
        emulator.stop()


@contextmanager
def _exact() -> Iterator[tuple[Any, Any, str, int, Callable[[int], dict[str, Any]]]]:
    from talk_exactonline.connector import LIST_PAGE
    from talk_exactonline.emulator import ExactEmulator
    from talk_exactonline.testing import emulator_connector

    emulator = ExactEmulator(minutely_limit=10**7, daily_limit=10**8).start()
    store = SQLiteStore.memory()
    connector = emulator_connector(emulator, store, sleep=lambda _s: None)
    try:
        assert connector.division
        yield emulator, connector, "Accounts", LIST_PAGE, lambda n: {
            "Name": f"Account {n}", "Email": f"a{n}@example.com"}
    finally:
        connector.close()
        store.close()
        emulator.stop()


SYSTEMS = {"invoiced": _invoiced, "exactonline": _exact}


def _ids(found: dict[str, Recovered]) -> dict[str, Any]:
    return {k: getattr(v, "id", None if v is None else type(v).__name__)
            for k, v in found.items()}


def measure(system: str, size: int, share: float) -> Row:
    with SYSTEMS[system]() as (emulator, connector, datatype, page, props):
        sent = datetime.now(UTC) - timedelta(seconds=1)
        pending: list[PendingCreate] = []
        made = 0
        for n in range(size):
            pending.append(PendingCreate(new_global_id(), props(n), sent))
            if n < size * share:
                connector.create(datatype, props(n), key=pending[-1].key)
                made += 1
        before, start = emulator.tap.count, time.perf_counter()
        each = recover_each(connector, datatype, pending)
        each_requests, each_seconds = emulator.tap.count - before, time.perf_counter() - start
        before, start = emulator.tap.count, time.perf_counter()
        many = connector.recover_many(datatype, pending)
        many_requests, many_seconds = emulator.tap.count - before, time.perf_counter() - start
        return Row(system, datatype, size, made, page, each_requests, each_seconds,
                   many_requests, many_seconds, _ids(each) == _ids(many))


def run(argv: Sequence[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 1000])
    parser.add_argument("--made", type=float, default=0.75)
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    args = parser.parse_args(argv)
    return [measure(system, size, args.made) for system in args.systems
            for size in args.sizes]


def main(argv: Sequence[str] | None = None) -> int:
    rows = run(argv)
    print("| system | datatype | J | made | per create: requests | s | recover_many: "
          "requests | s | bound ceil(J/page)+1 | same answers |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r.system} | {r.datatype} | {r.size} | {r.made} | {r.each_requests} | "
              f"{r.each_seconds:.2f} | {r.many_requests} | {r.many_seconds:.2f} | {r.bound} | "
              f"{'yes' if r.agree else 'NO'} |")
    return 0 if all(r.agree and r.many_requests <= r.bound for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
