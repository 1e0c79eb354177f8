"""Emulated worlds for the end-to-end tests of Exact Online's datatypes beyond seed 004.

``Pair``: Invoiced and one Exact division; ``Divisions``: two Exact
divisions. Both run the real engine over one state file, as ``talk sync``
does, with the instance's options (``invoices_as``, ``person_accounts``).
``emulated_pair`` starts the two emulators a ``Pair`` runs over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.plugin import EXACT_ONLINE
from talk_exactonline.testing import emulator_connector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.emulator.state import Account
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for


def records(emu: ExactEmulator, name: str, **where: Any) -> list[dict[str, Any]]:
    return [r for r in emu.state.records[name].values()
            if all(r.get(k) == v for k, v in where.items())]


def one(emu: ExactEmulator, name: str, **where: Any) -> dict[str, Any]:
    found = records(emu, name, **where)
    assert len(found) == 1, f"{name} {where}: {len(found)} found"
    return found[0]


def writes_to(emu: ExactEmulator, *services: str) -> list[tuple[str, str, int]]:
    """The write calls that reached ``services`` (paths such as "payroll/Employees")."""
    wanted = tuple(s.lower() for s in services)
    return [c for c in emu.writes() if any(s in c[1].lower() for s in wanted)]


@contextmanager
def emulated_pair(division: int) -> Iterator[tuple[InvoicedEmulator, ExactEmulator]]:
    """Invoiced and an Exact division, running until the block ends.

    Exact's minutely limit is set far above what a test sends, so that only
    a test that means to meet a limit meets one.
    """
    with InvoicedEmulator(api_key="key_billing") as billing, \
            ExactEmulator(division=division, minutely_limit=10_000) as erp:
        yield billing, erp


class World:
    """Engine runs over emulated systems with one state file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def systems(self, store: SQLiteStore) -> list[SystemInstance]:
        raise NotImplementedError

    def run(self) -> RunResult:
        store = SQLiteStore(self.path)
        sync = Sync(store, self.systems(store), SyncSettings())
        try:
            return sync.run()
        finally:
            sync.close()

    def settle(self, runs: int = 6) -> list[RunResult]:
        """Run until a run writes nothing, with no dead letters on the way."""
        results = []
        for _ in range(runs):
            result = self.run()
            results.append(result)
            assert result.status == "done", (result.status, result.message)
            assert not result.dead_letters, result.dead_letters
            if result.writes == 0:
                return results
        raise AssertionError(f"no quiet run after {runs}: "
                             f"{[dict(r.counts) for r in results[-2:]]}")


def _exact(emu: ExactEmulator, store: SQLiteStore, name: str,
           options: dict[str, Any]) -> SystemInstance:
    conn = emulator_connector(emu, store, name, sleep=lambda _s: None, **options)
    return SystemInstance(name, conn.spec or EXACT_ONLINE, conn)


class Pair(World):
    """Invoiced ("billing") and an Exact division ("erp")."""

    def __init__(self, billing: InvoicedEmulator, erp: ExactEmulator, path: Path,
                 **erp_options: Any) -> None:
        super().__init__(path)
        self.billing, self.erp, self.erp_options = billing, erp, erp_options

    @property
    def inv(self) -> Account:
        return self.billing.account

    def systems(self, store: SQLiteStore) -> list[SystemInstance]:
        return [SystemInstance("billing", INVOICED_SPEC, connector_for(self.billing)),
                _exact(self.erp, store, "erp", self.erp_options)]

    def customer(self, name: str) -> dict[str, Any]:
        found = [c for c in self.inv.customers.values() if c["name"] == name]
        assert len(found) == 1, f"Invoiced customers named {name!r}: {len(found)}"
        return found[0]

    def customers(self, name: str) -> list[dict[str, Any]]:
        return [c for c in self.inv.customers.values() if c["name"] == name]


class Divisions(World):
    """Two Exact divisions of one company, "a" and "b"."""

    def __init__(self, a: ExactEmulator, b: ExactEmulator, path: Path, **options: Any) -> None:
        super().__init__(path)
        self.a, self.b, self.options = a, b, options

    def systems(self, store: SQLiteStore) -> list[SystemInstance]:
        return [_exact(self.a, store, "a", self.options),
                _exact(self.b, store, "b", self.options)]
