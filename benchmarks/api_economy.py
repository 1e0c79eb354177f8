"""API economy on the emulators: requests talk sends, counted, against a naive full-scan loop.

Run::

    python benchmarks/api_economy.py [--sizes 1000,200] [--edits 10] [--page-size 100]

Two pairs of systems, each on its emulators on 127.0.0.1, synced in this
process through the library (``Sync``) with a state file on disk:

``invoiced-exact``   Invoiced holds N company customers, Exact Online is
                     empty: N accounts (and their invoice addresses) are
                     created in Exact.
``invoiced-custom``  Invoiced holds N company customers and the custom CRM
                     N customers of its own: each side gets the other's N.

Every request is counted in the client (``requests.Session.send`` is
wrapped while a phase runs) and attributed to a system, a datatype and
read or write; token calls and Exact's ``current/Me`` are listed apart.
Phases: ``initial`` (first sync), ``echo`` (the next sync, which reads back
what the first one wrote), ``nochange`` (a sync with nothing changed) and
``edits`` (a sync after editing the name of k customers on the Invoiced
side).

Invoiced's emulator is given a clock an hour further on for every run and
for the edits (its change filter counts whole seconds, and runs a second
apart would re-list each other's records, which real runs do not).

Bounds checked per datatype (the spec's, with one request for an empty
listing): initial writes at most the records created there and reads at
most max(1, ceil(listed / page size)); a no-change resync no writes and at
most one read; the edits run exactly k writes in all. A row that breaks a
bound says so; the numbers are what was sent.

The naive loop is what a simple tool does every run: list every record of
both sides (all pages, no cursor), map each linked record to the other
side's fields with the same mappings and write every record whose mapped
fields are not equal, field by field, to the other side's. Its reads are
sent and counted like talk's; its writes are counted, one request per
differing record (the least a tool can send), not sent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import platform
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs
import requests

from talk_core.model import Entity
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_custom import CustomEmulator, instance
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.schema import ENDPOINTS
from talk_exactonline.testing import emulator_connector
from talk_invoiced.emulator import InvoicedEmulator
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for

PAIRS = ("invoiced-exact", "invoiced-custom")
EXACT_TYPES = {str(e.deleted_type): name for name, e in ENDPOINTS.items()}
EXACT_PATHS = {e.path.lower(): name for name, e in ENDPOINTS.items()}
EXACT_SYNC = {e.sync.lower(): name for name, e in ENDPOINTS.items() if e.sync}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- counting ---------------------------------------------------------------------------


@attrs.define(frozen=True)
class Request:
    system: str
    datatype: str
    kind: str  # read, write or session


Classifier = Callable[[str, str, dict[str, list[str]]], tuple[str, str]]


def invoiced_kind(method: str, path: str, _query: dict[str, list[str]]) -> tuple[str, str]:
    parts = [p for p in path.split("/") if p]
    datatype = parts[0] if parts else "/"
    if len(parts) >= 3 and parts[0] == "customers" and parts[2] == "contacts":
        datatype = "contacts"
    if datatype == "events":
        datatype = "events (change feed)"
    return datatype, "write" if method in WRITES else "read"


def exact_kind(method: str, path: str, query: dict[str, list[str]]) -> tuple[str, str]:
    if "/oauth2/" in path or path.lower().endswith("current/me"):
        return "(token, current/Me)", "session"
    service = path.split("/api/v1/", 1)[-1].split("/", 1)[-1].split("(")[0].lower()
    if service == "sync/deleted":
        text = " ".join(query.get("$filter", []))
        kind = text.rsplit("EntityType eq ", 1)[-1].strip()
        return EXACT_TYPES.get(kind, "Deleted"), "read"
    name = EXACT_SYNC.get(service) or EXACT_PATHS.get(service) or service
    return name, "write" if method in WRITES else "read"


def custom_kind(locations: dict[str, str]) -> Classifier:
    """The custom API's paths are its resources' locations, named after talk's datatypes."""

    def classify(method: str, path: str, _query: dict[str, list[str]]) -> tuple[str, str]:
        parts = [p for p in path.split("/") if p]
        first = parts[0] if parts else "/"
        return locations.get(first, first), "write" if method in WRITES else "read"

    return classify


class RequestLog:
    """Every request sent while ``counting()`` is open, attributed by host and path."""

    def __init__(self) -> None:
        self.hosts: dict[str, tuple[str, Classifier]] = {}
        self.sent: list[Request] = []

    def add(self, url: str, system: str, classify: Classifier) -> None:
        self.hosts[urlsplit(url).netloc] = (system, classify)

    @contextlib.contextmanager
    def counting(self) -> Iterator[list[Request]]:
        original = requests.Session.send
        sent: list[Request] = []
        log = self

        def send(session: requests.Session, request: requests.PreparedRequest,
                 **kwargs: Any) -> requests.Response:
            parts = urlsplit(str(request.url))
            system, classify = log.hosts.get(parts.netloc, (parts.netloc, custom_kind({})))
            datatype, kind = classify(str(request.method), unquote(parts.path),
                                      parse_qs(parts.query))
            sent.append(Request(system, datatype, kind))
            return original(session, request, **kwargs)

        requests.Session.send = send  # type: ignore[method-assign]
        try:
            yield sent
        finally:
            requests.Session.send = original  # type: ignore[method-assign]


# -- the two pairs ----------------------------------------------------------------------


class Pair:
    """Two systems on their emulators, a state file, and runs of the engine over them."""

    def __init__(self, name: str, n: int, page_size: int, state: Path) -> None:
        self.name, self.n, self.page_size, self.state = name, n, page_size, state
        self.log = RequestLog()
        self.billing = InvoicedEmulator(api_key="bench-key").start()
        # Invoiced's change filter counts whole seconds: runs an hour apart, as in real use,
        # rather than a few in one second, which would re-list each other's records
        self.hours = 0
        self.billing.account.clock = lambda: time.time() + 3600 * self.hours
        self.log.add(self.billing.url, "billing", invoiced_kind)
        for i in range(n):
            made = self.billing.account.create_customer({"name": f"Firm {i}", "type": "company",
                                                         "city": "Oslo", "country": "NO"})
            # made over the last N seconds, not all in this one: see the clock above
            record = self.billing.account.customers[made["id"]]
            record["created_at"] = record["updated_at"] = int(time.time()) - n + i
        self.exact: ExactEmulator | None = None
        self.crm: CustomEmulator | None = None
        if name == "invoiced-exact":
            self.exact = ExactEmulator(minutely_limit=10**9, daily_limit=10**9).start()
            self.log.add(self.exact.url, "erp", exact_kind)
            self.page_sizes = {"billing": page_size, "erp": 1000}
        else:
            self.crm = CustomEmulator("customcrm").start()
            locations = {r.location.split("/")[0]: r.name
                         for r in self.crm.layout.resources.values()}
            self.log.add(self.crm.url, "crm", custom_kind(locations))
            for i in range(n):
                self.crm.put("customer", {"name": f"Shop {i}", "city": "Bergen",
                                          "country": "NO"})
            self.page_sizes = {"billing": page_size, "crm": page_size}

    def instances(self, store: SQLiteStore) -> list[SystemInstance]:
        billing = SystemInstance("billing", INVOICED_SPEC,
                                 connector_for(self.billing, page_size=self.page_size,
                                               store=store, name="billing"))
        if self.exact is not None:
            erp = emulator_connector(self.exact, store, "erp", sleep=lambda _s: None)
            return [billing, SystemInstance("erp", erp.spec, erp)]
        assert self.crm is not None
        return [billing, instance("crm", "customcrm", base_url=self.crm.url,
                                  page_size=self.page_size)]

    def specs(self) -> dict[str, SystemSpec]:
        with self.opened() as sync:
            return {name: s.spec for name, s in sync.systems.items()}

    @contextlib.contextmanager
    def opened(self) -> Iterator[Sync]:
        store = SQLiteStore(self.state)
        sync = Sync(store, self.instances(store), SyncSettings())
        try:
            yield sync
        finally:
            sync.close()

    def run(self) -> tuple[list[Request], dict[tuple[str, str], Counter[str]]]:
        self.hours += 1
        with self.opened() as sync, self.log.counting() as sent:
            result = sync.run()
        if result.status != "done" or result.dead_letters:
            raise RuntimeError(f"{self.name}: run {result.status}: {result.message} "
                               f"{result.dead_letters[:3]}")
        return sent, {key: Counter(c) for key, c in result.counts.items()}

    def edit(self, k: int) -> None:
        self.hours += 1
        for ident in list(self.billing.account.customers)[:k]:
            self.billing.account.update_customer(ident, {"name": f"Renamed {ident}"})

    def stop(self) -> None:
        for emulator in (self.billing, self.exact, self.crm):
            if emulator is not None:
                emulator.stop()


# -- the naive loop ----------------------------------------------------------------------


def linked_pairs(state: Path) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """(global type, global id) -> system -> (datatype, external id), from talk's links."""
    conn = sqlite3.connect(state)
    try:
        rows = conn.execute("SELECT global_type, global_id, system, datatype, external_id "
                            "FROM links").fetchall()
    finally:
        conn.close()
    out: dict[tuple[str, str], dict[str, tuple[str, str]]] = defaultdict(dict)
    for gtype, gid, system, datatype, external in rows:
        out[(gtype, gid)][system] = (datatype, external)
    return out


def _plain(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def naive_pass(pair: Pair) -> tuple[list[Request], int]:
    """Read every record of both sides, write every linked record whose mapped fields differ.

    Every datatype talk syncs is listed, as a tool syncing the same data must;
    records are paired through talk's links (a naive tool keeps such a map
    too). Answers the requests sent (reads) and the number of writes it
    would send.
    """
    links = linked_pairs(pair.state)
    with pair.opened() as sync, pair.log.counting() as sent:
        records: dict[tuple[str, str], dict[str, Entity]] = {}
        # everything talk syncs, as talk reads it, but always from the start
        wanted = {(name, dt.name) for name, s in sync.systems.items()
                  for dt in s.spec.datatypes if s.spec.mappings_of(dt.name)}
        for system, datatype in sorted(wanted):
            connector = sync.systems[system].connector
            records[(system, datatype)] = {e.id: e for page in connector.read(datatype, None)
                                           for e in page.entities if not e.deleted}
        writes = 0
        for (gtype, _gid), by_system in links.items():
            for source, (sdt, sid) in by_system.items():
                for target, (tdt, tid) in by_system.items():
                    if target == source:
                        continue
                    s_entity = records.get((source, sdt), {}).get(sid)
                    t_entity = records.get((target, tdt), {}).get(tid)
                    if s_entity is None or t_entity is None:
                        continue
                    if _differs(sync, gtype, (source, sdt, s_entity), (target, tdt, t_entity)):
                        writes += 1
    return sent, writes


def _differs(sync: Sync, gtype: str, source: tuple[str, str, Entity],
             target: tuple[str, str, Entity]) -> bool:
    (s_sys, s_dt, s_entity), (t_sys, t_dt, t_entity) = source, target
    s_map, s_type = sync.mapping(s_sys, s_dt, gtype)
    t_map, t_type = sync.mapping(t_sys, t_dt, gtype)
    references = set(s_map.references(s_type)) | set(t_map.references(t_type))
    values = {k: v for k, v in s_map.to_global(s_entity, s_type).items()
              if k not in references}
    wanted = t_map.to_system(values, t_type, creating=False)
    return any(_plain(v) != _plain(t_entity.properties.get(k)) for k, v in wanted.items())


# -- bounds and the table ------------------------------------------------------------------


@attrs.define
class Row:
    pair: str
    phase: str
    system: str
    datatype: str
    records: int
    page_size: int
    reads: int
    writes: int
    bound: str
    writes_ok: bool
    reads_ok: bool

    @property
    def ok(self) -> bool:
        return self.writes_ok and self.reads_ok

    @property
    def verdict(self) -> str:
        if self.ok:
            return "ok"
        return "NOT OK (" + ", ".join(w for w, bad in (("writes", not self.writes_ok),
                                                        ("reads", not self.reads_ok)) if bad) + ")"


def rows_of(pair: Pair, phase: str, sent: list[Request],
            counts: dict[tuple[str, str], Counter[str]], k: int) -> list[Row]:
    by = Counter((r.system, r.datatype, r.kind) for r in sent)
    keys = sorted({(r.system, r.datatype) for r in sent if r.kind != "session"} |
                  {key for key, c in counts.items() if sum(c.values())})
    out = []
    for system, datatype in keys:
        reads, writes = by[(system, datatype, "read")], by[(system, datatype, "write")]
        c = counts.get((system, datatype), Counter())
        size = pair.page_sizes.get(system, 100)
        written = c["create"] + c["update"] + c["delete"]
        read_bound = max(1, math.ceil(c["read"] / size))
        if phase == "initial":
            bound = f"w<={written} r<={read_bound}"
            w_ok, r_ok = writes <= written, reads <= read_bound
        elif phase == "nochange":
            bound, w_ok, r_ok = "w=0 r<=1", writes == 0, reads <= 1
        elif phase == "echo":
            bound, w_ok, r_ok = f"w=0 r<={read_bound}", writes == 0, reads <= read_bound
        else:
            bound, w_ok, r_ok = "(total below)", True, True
        out.append(Row(pair.name, phase, system, datatype, c["read"] or written, size, reads,
                       writes, bound, w_ok, r_ok))
    if phase == "edits":
        total = sum(r.writes for r in out)
        out.append(Row(pair.name, phase, "all", "(total)", k, 0,
                       sum(r.reads for r in out), total, f"w={k}", total == k, True))
    session = by[("erp", "(token, current/Me)", "session")]
    if session:
        out.append(Row(pair.name, phase, "erp", "(token, current/Me)", 0, 0, session, 0,
                       "not records", True, True))
    return out


def measure(name: str, n: int, k: int, page_size: int) -> tuple[list[Row], dict[str, Any]]:
    """All phases of one pair at one N; answers the rows and the naive comparison."""
    with tempfile.TemporaryDirectory() as folder:
        pair = Pair(name, n, page_size, Path(folder) / "state.db")
        try:
            rows: list[Row] = []
            totals: dict[str, int] = {}
            for phase in ("initial", "echo", "nochange"):
                sent, counts = pair.run()
                rows += rows_of(pair, phase, sent, counts, k)
                totals[phase] = len(sent)
            naive_sent, naive_writes = naive_pass(pair)
            naive_nochange = len(naive_sent) + naive_writes
            pair.edit(k)
            naive_edit_sent, naive_edit_writes = naive_pass(pair)
            sent, counts = pair.run()
            rows += rows_of(pair, "edits", sent, counts, k)
            totals["edits"] = len(sent)
            comparison = {
                "pair": name, "n": n, "k": k,
                "talk_nochange": totals["nochange"], "talk_edits": totals["edits"],
                "naive_nochange_reads": len(naive_sent), "naive_nochange_writes": naive_writes,
                "naive_edits_reads": len(naive_edit_sent),
                "naive_edits_writes": naive_edit_writes,
                "ratio_nochange": naive_nochange / max(1, totals["nochange"]),
                "ratio_edits": (len(naive_edit_sent) + naive_edit_writes)
                / max(1, totals["edits"]),
            }
            return rows, comparison
        finally:
            pair.stop()


def print_rows(rows: list[Row]) -> None:
    headers = ("pair", "phase", "system", "datatype", "N", "page", "reads", "writes", "bound",
               "ok?")
    cells = [(r.pair, r.phase, r.system, r.datatype, str(r.records), str(r.page_size or "-"),
              str(r.reads), str(r.writes), r.bound, r.verdict) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print("| " + " | ".join(x.ljust(w) for x, w in zip(c, widths, strict=True)) + " |")


def print_comparison(items: list[dict[str, Any]]) -> None:
    print("| pair | N | k | talk no-change | naive no-change (reads + writes) | ratio | "
          "talk after k edits | naive after k edits (reads + writes) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in items:
        print(f"| {c['pair']} | {c['n']:,} | {c['k']} | {c['talk_nochange']} | "
              f"{c['naive_nochange_reads']} + {c['naive_nochange_writes']} | "
              f"{c['ratio_nochange']:.1f} | {c['talk_edits']} | "
              f"{c['naive_edits_reads']} + {c['naive_edits_writes']} | {c['ratio_edits']:.1f} |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sizes", default="1000,200", help="comma-separated N (records per side)")
    p.add_argument("--edits", type=int, default=10, help="k: records edited before a resync")
    p.add_argument("--page-size", type=int, default=100,
                   help="page size of Invoiced and the custom CRM (Exact's Sync API: 1000)")
    p.add_argument("--pairs", default=",".join(PAIRS), help="which pairs to measure")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    return p.parse_args(argv)


def run(argv: list[str] | None = None) -> tuple[list[Row], list[dict[str, Any]]]:
    args = parse_args(argv)
    rows: list[Row] = []
    comparisons = []
    for name in args.pairs.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            found, comparison = measure(name, n, min(args.edits, n), args.page_size)
            rows += found
            comparisons.append(comparison)
    return rows, comparisons


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows, comparisons = run(argv)
    if args.json:
        print(json.dumps({"rows": [{**attrs.asdict(r), "ok": r.ok} for r in rows],
                          "naive": comparisons}, indent=2))
    else:
        print(f"# API economy (python {platform.python_version()}, {platform.machine()})\n")
        print_rows(rows)
        print()
        print_comparison(comparisons)
    return 0 if all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
