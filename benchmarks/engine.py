"""Benchmark of the sync engine between two in-memory systems (not a test).

Run::

    python benchmarks/engine.py [--sizes 10000,100000,1000000] [--state DIR]

``left`` holds ``companies`` and ``people`` (``people.employer`` refers to a
company), ``right`` holds ``Accounts`` and ``Contacts`` with other field
names; they map to the global ``organisation`` and ``human``. For each N the
script puts N/2 companies and N/2 people into ``left`` (not timed), starts
from a fresh SQLite state file on disk and times these phases:

``initial``   the first sync: N records read, N records created in ``right``.
``echo``      the next sync: ``right`` lists the N records just created, which
              the collect pass must recognise as our own echo (hash equal).
``nochange``  a sync with nothing changed anywhere: incremental reads from the
              cursors, which the in-memory connector answers with no pages.
``edit1pct``  a sync after editing 1% of the records in ``left``.
``relist``    a sync with nothing changed, but with ``left``'s cursors reset,
              so all N records are read again and hash-compared: the real
              cost of a no-change resync of N entities.

``relist-fresh``  the same full re-list once more, in a fresh process (see below).

Memory. Every N runs in a fresh child process (``--one N``), so the peak
RSS (``ru_maxrss``, a high-water mark) belongs to that N alone. The child
also reports the RSS of the bare interpreter (``base``) and after filling
``left`` (``data``); ``peak - data`` is what the sync added on top of
holding the fixture, but that includes ``right``'s records, created during
the initial sync. Python keeps freed memory for reuse, so after the initial
sync later phases cannot show their own need either. Hence ``relist-fresh``:
a second child rebuilds ``left`` the same way and ``right`` from a dump the
first child wrote, opens the same state and re-lists everything; its
``peak - data`` is the engine's own share of a no-change resync of N
entities, and its ``data - base`` minus the first child's gives the size of
``right``'s data, so the initial sync's engine share is estimated as
``peak - data - right``. A thread also samples the current RSS every 50 ms
around each phase (``before``/``high``/``after``); ``peak`` is exact at any
rate, and sampling every 5 ms, as this benchmark first did, took the
interpreter from the sync about 200 times a second and cost it about 5% of
its CPU time.

Every run is bounded: ``--timeout`` per child and ``--budget`` for the
whole script (a size whose ETA, scaled from the sizes done, does not fit is
skipped, and a child still running when the budget is spent is stopped).

Garbage-collector note: after filling, the fixture data is moved out of the
collector's reach with ``gc.freeze()``, so that full collections do not
traverse a million connector rows that a real deployment would not hold in
its heap. Pass ``--no-freeze`` to measure without that.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from talk_core.mapping import Mapping, mapped
from talk_core.model import DataType, Property, PropertyType, ReadMode
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector
from talk_core.testing.memory import LogicalClock

DEFAULT_SIZES = "10000,100000"
PHASES = ("initial", "echo", "nochange", "edit1pct", "relist")
#: A child that runs longer than this is killed: the benchmark must end.
DEFAULT_TIMEOUT = 3600.0
RESULT_TAG = "RESULT "

# -- the two systems ------------------------------------------------------------

LEFT_COMPANIES = DataType("companies", "Companies", (
    Property("name", required=True), Property("email"), Property("city"),
    Property("org_no"),
), read_mode=ReadMode.INCREMENTAL)
LEFT_PEOPLE = DataType("people", "People", (
    Property("name", required=True), Property("email"),
    Property("employer", PropertyType.REFERENCE, reference="companies"),
), read_mode=ReadMode.INCREMENTAL)

RIGHT_ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("Name", required=True), Property("Email"), Property("City"),
    Property("OrgNo"),
), read_mode=ReadMode.INCREMENTAL)
RIGHT_CONTACTS = DataType("Contacts", "Contacts", (
    Property("FullName", required=True), Property("Mail"),
    Property("Account", PropertyType.REFERENCE, reference="Accounts"),
), read_mode=ReadMode.INCREMENTAL)


def _no_factory(**_: Any) -> InMemoryConnector:
    raise RuntimeError("the benchmark builds its connectors itself")


LEFT = SystemSpec(
    "left", "Left", (LEFT_COMPANIES, LEFT_PEOPLE),
    (
        Mapping("companies", "organisation",
                mapped([("name", "name"), ("email", "email"), ("city", "city"),
                        ("org_no", "org_number")])),
        Mapping("people", "human",
                mapped([("name", "name"), ("email", "email"), ("employer", "organisation")])),
    ),
    factory=_no_factory,
)
RIGHT = SystemSpec(
    "right", "Right", (RIGHT_ACCOUNTS, RIGHT_CONTACTS),
    (
        Mapping("Accounts", "organisation",
                mapped([("Name", "name"), ("Email", "email"), ("City", "city"),
                        ("OrgNo", "org_number")])),
        Mapping("Contacts", "human",
                mapped([("FullName", "name"), ("Mail", "email"), ("Account", "organisation")])),
    ),
    factory=_no_factory,
)

CITIES = ("Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Drammen", "Bodø", "Ålesund")

# -- measuring --------------------------------------------------------------------


def peak_rss_mb() -> float:
    """The process's high-water mark (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class RssSampler:
    """The highest current RSS seen while a block runs, sampled from a thread.

    Every wake-up takes the interpreter lock from the sync being measured,
    so it wakes seldom (see the module's docstring).
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.high = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self.high = max(self.high, current_rss_mb())

    def __enter__(self) -> RssSampler:
        self.high = current_rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.high = max(self.high, current_rss_mb())


def current_rss_mb() -> float:
    """Resident set now, from /proc where there is one, else the peak."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def _remove_state(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def state_size_mb(path: Path) -> float:
    """The state file with its write-ahead log, which holds what is not checkpointed yet."""
    total = 0
    for suffix in ("", "-wal"):
        part = Path(str(path) + suffix)
        if part.exists():
            total += part.stat().st_size
    return total / (1024 * 1024)


def fill_left(left: InMemoryConnector, n: int) -> tuple[list[str], list[str]]:
    """N/2 companies, then N/2 people each employed by one of them."""
    companies = n // 2
    people = n - companies
    company_ids = []
    for i in range(companies):
        entity = left.put("companies", {
            "name": f"Company {i} AS", "email": f"post@company{i}.example",
            "city": CITIES[i % len(CITIES)], "org_no": f"{900000000 + i}",
        })
        company_ids.append(entity.id)
    person_ids = []
    for j in range(people):
        entity = left.put("people", {
            "name": f"Person {j}", "email": f"person{j}@mail.example",
            "employer": company_ids[j % companies] if companies else None,
        })
        person_ids.append(entity.id)
    return company_ids, person_ids


def edit_left(left: InMemoryConnector, company_ids: list[str], person_ids: list[str],
              fraction: float = 0.01) -> int:
    """Edit ``fraction`` of the records, spread evenly over both datatypes."""
    edited = 0
    for datatype, ids, change in (
        ("companies", company_ids, lambda i: {"city": f"Edited city {i}"}),
        ("people", person_ids, lambda i: {"name": f"Edited person {i}"}),
    ):
        count = max(1, int(len(ids) * fraction)) if ids else 0
        step = max(1, len(ids) // count) if count else 1
        for k in range(count):
            eid = ids[k * step]
            left.edit(datatype, eid, **change(k))
            edited += 1
    return edited


class Bench:
    """One N in this process: the systems, the state and the phase results."""

    def __init__(self, n: int, state: Path, *, page_size: int, batch_size: int,
                 freeze: bool, profile_dir: Path | None,
                 profile_phases: frozenset[str] = frozenset(PHASES),
                 dump: Path | None = None) -> None:
        self.n = n
        self.state = state
        self.freeze = freeze
        self.profile_dir = profile_dir
        self.profile_phases = profile_phases
        self.dump = dump
        self.settings = SyncSettings(batch_size=batch_size)
        clock = LogicalClock()
        self.left = InMemoryConnector([LEFT_COMPANIES, LEFT_PEOPLE], page_size=page_size,
                                      id_prefix="L", clock=clock)
        self.right = InMemoryConnector([RIGHT_ACCOUNTS, RIGHT_CONTACTS], page_size=page_size,
                                       id_prefix="R", clock=clock)
        self.rows: list[dict[str, Any]] = []
        self.store: SQLiteStore | None = None

    def _settle(self) -> None:
        gc.collect()
        if self.freeze:
            gc.freeze()

    def setup(self) -> tuple[list[str], list[str]]:
        self._settle()
        self.rss_base = current_rss_mb()
        ids = fill_left(self.left, self.n)
        self._settle()
        self.rss_data = current_rss_mb()
        _remove_state(self.state)
        self.store = SQLiteStore(self.state)
        return ids

    def sync_once(self, phase: str, basis: int, *, report: bool = True) -> RunResult:
        """Time one ``Sync.run()``; a reported phase goes to stdout as soon as it ends."""
        assert self.store is not None
        self._settle()
        systems = [SystemInstance("left", LEFT, self.left),
                   SystemInstance("right", RIGHT, self.right)]
        sync = Sync(self.store, systems, self.settings)
        profiled = self.profile_dir is not None and phase in self.profile_phases
        profiler = cProfile.Profile() if profiled else None
        before = current_rss_mb()
        with RssSampler() as sampler:
            start, cpu_start = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            result = sync.run()
            if profiler is not None:
                profiler.disable()
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
        del sync
        gc.collect()
        if profiler is not None and self.profile_dir is not None:
            profiler.dump_stats(str(self.profile_dir / f"engine-{self.n}-{phase}.prof"))
        row = {
            "n": self.n, "phase": phase, "seconds": seconds, "cpu_seconds": cpu, "basis": basis,
            "per_s": basis / seconds if seconds > 0 else 0.0,
            "writes": result.writes, "reads": result.total("read"),
            "status": result.status, "dead_letters": len(result.dead_letters),
            "conflicts": len(result.conflicts), "deferred": result.deferred,
            "profiled": profiled, "peak_mb": peak_rss_mb(), "before_mb": before,
            "high_mb": sampler.high, "after_mb": current_rss_mb(),
            "base_mb": self.rss_base, "data_mb": self.rss_data,
            "state_mb": state_size_mb(self.state),
        }
        if report:
            self.rows.append(row)
            print(RESULT_TAG + json.dumps(row), flush=True)
        print(f"  n={self.n:>8} {phase:<9} {seconds:8.2f}s {row['per_s']:>10.0f}/s "
              f"writes={row['writes']:<8} reads={row['reads']:<8} status={row['status']} "
              f"rss before/high/after={before:.0f}/{sampler.high:.0f}/{row['after_mb']:.0f}MB "
              f"peak={row['peak_mb']:.0f}MB", file=sys.stderr, flush=True)
        if result.status != "done" or result.dead_letters:
            print(f"  warning: {phase}: status {result.status}, "
                  f"{len(result.dead_letters)} dead letters: "
                  f"{result.dead_letters[:3]}", file=sys.stderr, flush=True)
        return result

    def reset_left_cursors(self) -> None:
        assert self.store is not None
        with self.store.transaction():
            for dt in LEFT.datatypes:
                self.store.set_cursor("left", dt.name, None)

    def run(self, phases: tuple[str, ...]) -> list[dict[str, Any]]:
        company_ids, person_ids = self.setup()
        n = self.n
        edited_any = False
        for phase in phases:
            if phase == "initial":
                self.sync_once("initial", n)
            elif phase == "echo":
                self.sync_once("echo", n)
            elif phase == "nochange":
                self.sync_once("nochange", n)
            elif phase == "edit1pct":
                edited = edit_left(self.left, company_ids, person_ids)
                edited_any = True
                self.sync_once("edit1pct", edited)
                # Let the echo of those edits pass, untimed, before the next phase.
                self.sync_once("edit-echo", edited, report=False)
            elif phase == "relist":
                self.reset_left_cursors()
                self.sync_once("relist", n)
        assert self.store is not None
        self.store.close()
        if self.dump is not None:  # JSON lines, so that loading it back needs little memory
            with open(self.dump, "w") as f:
                f.write(json.dumps({"n": n, "edited": edited_any}) + "\n")
                for dt in RIGHT.datatypes:
                    for eid, props in self.right.records(dt.name).items():
                        f.write(json.dumps([dt.name, eid, props]) + "\n")
        return self.rows

    def resume(self) -> list[dict[str, Any]]:
        """A full re-list in a fresh process, over the state and systems ``run`` left.

        ``left`` is rebuilt the same way (same ids, same edits), ``right`` from
        the dump; so the RSS before syncing holds exactly both systems' data and
        the peak minus it is the engine's share, unmixed with anything earlier.
        """
        assert self.dump is not None
        self._settle()
        self.rss_base = current_rss_mb()
        with open(self.dump) as f:
            header = json.loads(f.readline())
            company_ids, person_ids = fill_left(self.left, self.n)
            if header["edited"]:
                edit_left(self.left, company_ids, person_ids)
            for line in f:
                datatype, eid, props = json.loads(line)
                self.right.put(datatype, props, id=eid)
        self._settle()
        self.rss_data = current_rss_mb()
        self.store = SQLiteStore(self.state)
        self.reset_left_cursors()
        with self.store.transaction():
            for dt in RIGHT.datatypes:  # nothing new on the right: skip its reloaded log
                self.store.set_cursor("right", dt.name, str(self.right.seq))
        self.sync_once("relist-fresh", self.n)
        self.store.close()
        return self.rows


# -- parent: one child per N, then the table ----------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import sqlite3

    return {
        "cpu": cpu, "nproc": str(os.cpu_count()), "python": platform.python_version(),
        "platform": platform.platform(), "sqlite": sqlite3.sqlite_version,
    }


def run_child(n: int, args: argparse.Namespace, state_dir: Path, timeout: float,
              *, resume: bool = False) -> list[dict[str, Any]]:
    cmd = [sys.executable, os.path.abspath(__file__), "--one", str(n), *(
           ["--resume"] if resume else []),
           "--state", str(state_dir), "--page-size", str(args.page_size),
           "--batch-size", str(args.batch_size), "--phases", args.phases]
    if not args.freeze:
        cmd.append("--no-freeze")
    if args.profile:
        cmd += ["--profile", args.profile, "--profile-phases", args.profile_phases]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout,
                              check=False)
        output, code = proc.stdout, proc.returncode
    except subprocess.TimeoutExpired as exc:
        print(f"n={n}: child exceeded {timeout:.0f}s and was stopped; keeping the phases "
              "it finished", file=sys.stderr)
        raw = exc.output or ""
        output, code = raw.decode() if isinstance(raw, bytes) else raw, 0
    rows = [json.loads(line[len(RESULT_TAG):]) for line in output.splitlines()
            if line.startswith(RESULT_TAG)]
    if code != 0:
        print(f"n={n}: child exited with {code}", file=sys.stderr)
    return rows


def estimate(n: int, done: list[dict[str, Any]]) -> tuple[float, float] | None:
    """Seconds for size n and the scaling exponent used (time ~ N ** exponent).

    With two sizes measured the exponent is fitted from the two largest (so
    a quadratic pass shows in the ETA), clamped to [1, 2]; with one it is 1.
    """
    totals: dict[int, float] = {}
    for r in done:
        totals[r["n"]] = totals.get(r["n"], 0.0) + r["seconds"]
    sizes = sorted(totals)
    if not sizes:
        return None
    last = sizes[-1]
    exponent = 1.0
    if len(sizes) >= 2 and totals[sizes[-2]] > 0 and totals[last] > 0:
        exponent = math.log(totals[last] / totals[sizes[-2]]) / math.log(last / sizes[-2])
        exponent = min(max(exponent, 1.0), 2.0)
    return totals[last] * (n / last) ** exponent * 1.3, exponent  # + setup, untimed syncs


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| N | phase | seconds | CPU seconds | entities/s (basis) | writes | reads | status "
            "| base MB | data MB | peak MB | peak-data MB | before MB | high MB "
            "| high-before MB | after MB | state MB |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        phase = r["phase"] + (" (cProfile)" if r.get("profiled") else "")
        lines.append(
            f"| {r['n']:,} | {phase} | {r['seconds']:.2f} | {r.get('cpu_seconds', 0.0):.2f} | "
            f"{r['per_s']:,.0f} ({r['basis']:,}) | {r['writes']:,} | {r['reads']:,} | "
            f"{r['status']} | {r['base_mb']:.0f} | {r['data_mb']:.0f} | {r['peak_mb']:.0f} | "
            f"{r['peak_mb'] - r['data_mb']:.0f} | {r['before_mb']:.0f} | {r['high_mb']:.0f} | "
            f"{r['high_mb'] - r['before_mb']:.1f} | {r['after_mb']:.0f} | {r['state_mb']:.1f} |"
        )
    return "\n".join(lines)


def memory_summary(rows: list[dict[str, Any]]) -> str:
    """Per N: both systems' data and the engine's share, from the two child processes."""
    head = ("| N | left data MB | right data MB | initial: engine MB (peak - left - right) "
            "| relist-fresh: engine MB (peak - both) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for n in sorted({r["n"] for r in rows}):
        by_phase = {r["phase"]: r for r in rows if r["n"] == n}
        first, fresh = by_phase.get("initial"), by_phase.get("relist-fresh")
        left = first["data_mb"] - first["base_mb"] if first else None
        both = fresh["data_mb"] - fresh["base_mb"] if fresh else None
        right = both - left if both is not None and left is not None else None
        initial = (first["peak_mb"] - first["data_mb"] - right
                   if first is not None and right is not None else None)
        relist = fresh["peak_mb"] - fresh["data_mb"] if fresh else None

        def mb(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.0f}"

        lines.append(f"| {n:,} | {mb(left)} | {mb(right)} | {mb(initial)} | {mb(relist)} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help=f"comma separated entity counts (default {DEFAULT_SIZES})")
    p.add_argument("--state", default=None,
                   help="directory for the SQLite state files (default: a temp dir)")
    p.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--resume", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--phases", default=",".join(PHASES),
                   help=f"phases to run, in order (default {','.join(PHASES)})")
    p.add_argument("--page-size", type=int, default=100, help="connector page size")
    p.add_argument("--batch-size", type=int, default=SyncSettings().batch_size,
                   help="engine batch size")
    p.add_argument("--no-freeze", dest="freeze", action="store_false",
                   help="do not gc.freeze() the fixture data")
    p.add_argument("--profile", default=None,
                   help="directory for one cProfile file per N and phase")
    p.add_argument("--profile-phases", default=",".join(PHASES),
                   help="phases to profile when --profile is given (default: all)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds one N may take before it is stopped (default "
                        f"{DEFAULT_TIMEOUT:.0f})")
    p.add_argument("--budget", type=float, default=120.0,
                   help="minutes for the whole benchmark; a size whose ETA does not fit "
                        "is skipped, a child still running when it is spent is stopped "
                        "(default 120)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    phases = tuple(p for p in args.phases.split(",") if p)
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        raise SystemExit(f"unknown phase(s): {', '.join(unknown)}")
    if args.one is not None:
        if args.state is None:
            raise SystemExit("--one needs --state")
        profile_dir = Path(args.profile) if args.profile else None
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
        state_dir = Path(args.state)
        bench = Bench(args.one, state_dir / f"engine-{args.one}.sqlite",
                      page_size=args.page_size, batch_size=args.batch_size,
                      freeze=args.freeze, profile_dir=profile_dir,
                      profile_phases=frozenset(args.profile_phases.split(",")),
                      dump=state_dir / f"right-{args.one}.json")
        if args.resume:
            bench.resume()
        else:
            bench.run(phases)
        return 0

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    own_dir = args.state is None
    state_dir = Path(tempfile.mkdtemp(prefix="talk-bench-")) if own_dir else Path(args.state)
    state_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        for n in sizes:
            eta = estimate(n, rows)
            note = (f", ETA ~{eta[0] / 60:.1f} min (time ~ N^{eta[1]:.2f})"
                    if eta is not None else "")
            left = args.budget * 60 - (time.monotonic() - started)
            if eta is not None and eta[0] > left:
                print(f"n={n:,}: skipped, ETA ~{eta[0] / 60:.1f} min exceeds the "
                      f"{left / 60:.1f} min left of --budget", file=sys.stderr, flush=True)
                continue
            print(f"n={n:,}: running in a child process{note}", file=sys.stderr, flush=True)
            got = run_child(n, args, state_dir, min(args.timeout, max(left, 1.0)))
            rows.extend(got)
            left = args.budget * 60 - (time.monotonic() - started)
            if any(r["phase"] == "relist" for r in got) and left > 0:
                print(f"n={n:,}: full re-list again in a fresh process", file=sys.stderr,
                      flush=True)
                rows.extend(run_child(n, args, state_dir, min(args.timeout, left),
                                      resume=True))
    finally:
        if own_dir:
            shutil.rmtree(state_dir, ignore_errors=True)
    info = machine()
    print()
    print(table(rows))
    print()
    print(memory_summary(rows))
    print()
    print(f"Machine: {info['cpu']}, {info['nproc']} CPUs; Python {info['python']}; "
          f"SQLite {info['sqlite']}; {info['platform']}")
    print(f"Page size {args.page_size}, batch size {args.batch_size}, "
          f"gc.freeze {'on' if args.freeze else 'off'}. entities/s = basis / seconds "
          "(initial, echo, nochange, relist: N; edit1pct: records edited).")
    print("base: bare interpreter; data: after filling left (relist-fresh: after loading "
          "left and right); peak: ru_maxrss after the phase "
          "(process high-water mark); before/high/after: current RSS around the phase, high "
          "sampled every 50 ms. high-before is the engine's working memory for one run "
          "(in 'initial' it also holds right's new records).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
