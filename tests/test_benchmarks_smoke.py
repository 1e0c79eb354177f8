"""The API benchmarks run at a tiny size, and what they count holds (counts, never time)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # attrs classes look their module up
    spec.loader.exec_module(module)
    return module


def test_api_economy_counts_at_n_20() -> None:
    economy = benchmark("api_economy")
    rows, naive = economy.run(["--sizes", "20", "--edits", "3"])
    by = {(r.pair, r.phase, r.system, r.datatype): r for r in rows}
    # writes: N on the initial sync, none when nothing changed, exactly k after k edits
    assert [r for r in rows if not r.writes_ok] == []
    assert by[("invoiced-exact", "initial", "erp", "Accounts")].writes == 20
    assert by[("invoiced-custom", "initial", "crm", "customer")].writes == 20
    assert by[("invoiced-custom", "initial", "billing", "customers")].writes == 20
    for pair in ("invoiced-exact", "invoiced-custom"):
        assert by[(pair, "edits", "all", "(total)")].writes == 3
        assert sum(r.writes for r in rows if r.pair == pair and r.phase == "nochange") == 0
    # reads of a no-change resync: at most one per datatype and system
    nochange = [r for r in rows if r.phase == "nochange" and r.datatype != "(token, current/Me)"]
    assert [r for r in nochange if not r.reads_ok] == []
    for pair in ("invoiced-exact", "invoiced-custom"):
        # customers, invoices and line items come from the change feed, items talk replaces
        # are looked for only while a replacement is unfinished
        for datatype in ("customers", "invoices", "lineitems"):
            assert (pair, "nochange", "billing", datatype) not in by, datatype
            assert (pair, "edits", "billing", datatype) not in by or by[
                (pair, "edits", "billing", datatype)].reads == 0, datatype
        assert by[(pair, "nochange", "billing", "items")].reads == 1
        # the first sync lists customers and invoices once, for their contacts and lines too
        assert by[(pair, "initial", "billing", "customers")].reads == 1
        assert by[(pair, "initial", "billing", "invoices")].reads == 1
        assert by[(pair, "initial", "billing", "contacts")].reads == 20  # one per customer
    for pair in ("invoiced-exact", "invoiced-custom"):
        # Exact's deletions: one read for all datatypes; Invoiced's change feed: one read for
        # all datatypes, and no contacts listed when the feed names no change
        assert by[(pair, "nochange", "billing", "events (change feed)")].reads == 1
        assert (pair, "nochange", "billing", "contacts") not in by
    assert by[("invoiced-exact", "nochange", "erp", "Deleted")].reads == 1
    assert [r.datatype for r in nochange if r.system == "erp" and r.reads != 1] == []
    # the naive loop reads at least as much and writes every record that is not byte-equal
    exact, custom = naive
    assert exact["naive_nochange_reads"] >= exact["talk_nochange"]
    assert exact["naive_nochange_writes"] == 40  # padded codes, country blanks: all differ
    assert custom["naive_nochange_writes"] == 0
    assert custom["naive_edits_writes"] == 6  # both directions of the 3 edited pairs
    assert exact["ratio_nochange"] > 1


def test_exact_budget_counts_at_n_20() -> None:
    budget = benchmark("exact_budget")
    load = budget.load(20, minutely=5, daily=15)
    assert load.accounts == 20
    assert load.refused == 0  # the budget waits before the limit, Exact never says 429
    assert load.calls["write"] == 20
    assert load.calls["read: Sync API"] >= 1 and load.calls["read: deletions feed"] >= 1
    assert load.days == math.ceil(load.charged / 15)
    assert load.active_seconds >= 60  # at 5 a minute, the day's first 15 calls span minutes
    projection = budget.projected(load, 100_000)
    assert projection["days"] == math.ceil(load.charged / 20 * 100_000 / 15)


def test_recovery_cost_counts_at_j_30() -> None:
    cost = benchmark("recovery_cost")
    rows = cost.run(["--sizes", "30"])
    assert {r.system for r in rows} == {"invoiced", "exactonline"}
    for r in rows:
        assert r.agree, r
        assert r.each_requests >= r.size
        assert r.many_requests <= math.ceil(r.size / r.page) + 1
