"""Where to kill ``talk sync``: requests told apart by kind, counted, and chosen from a seed.

A kill point names one request of a clean run by what it is, not by when
it comes: "the 14th create talk sends to erp in phase 1, once Exact has
stored the record and before it answers". The emulators show every request
to a hook (``talk_core.emulation.Tap``); ``Recorder`` gives each one its
kinds and their running counts, the same way in the clean reference run and
in a crash run, so a point drawn from the reference is met again exactly.
``Killer`` is the hook that sends SIGKILL to the child process at the point
and hangs up on it.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import attrs

from talk_core.emulation import Hangup, Stage, TappedRequest

#: Share of the kill points per (kind, stage); what is left over goes to "any".
MIX: tuple[tuple[str, Stage, float], ...] = (
    ("create", "applied", 0.30),   # the record exists, talk never hears of it
    ("create", "received", 0.10),  # journalled, never applied
    ("update", "applied", 0.17),
    ("delete", "applied", 0.10),
    ("page", "applied", 0.16),     # a listing's second or later page: earlier pages staged
)
KINDS = ("create", "update", "delete", "page", "any")


@attrs.frozen
class Seen:
    """One request of a run, with its running count for every kind it belongs to."""

    phase: int
    system: str
    method: str
    path: str
    ordinals: tuple[tuple[str, int], ...]

    def ordinal(self, kind: str) -> int | None:
        return dict(self.ordinals).get(kind)


@attrs.frozen
class KillPoint:
    """Kill at the ``ordinal``-th request of ``kind`` in ``system`` (any system for "any")."""

    phase: int
    kind: str
    system: str
    ordinal: int
    stage: Stage
    example: str = attrs.field(eq=False, default="")

    def __str__(self) -> str:
        where = "any system" if self.kind == "any" else self.system
        return (f"phase {self.phase}: {self.kind} #{self.ordinal} to {where}, "
                f"{self.stage} ({self.example})")

    def matches(self, seen: Seen, stage: Stage) -> bool:
        if stage != self.stage or seen.phase != self.phase:
            return False
        if self.kind != "any" and seen.system != self.system:
            return False
        return seen.ordinal(self._counter) == self.ordinal

    @property
    def _counter(self) -> str:
        return self.kind if self.kind == "any" else f"{self.kind}@{self.system}"


def kinds_of(system: str, method: str, target: str, listed: set[str]) -> list[str]:
    """The kinds of one request; ``listed`` holds the listings already begun this run."""
    split = urlsplit(target)
    path, query = split.path, parse_qs(split.query)
    if "/oauth2/" in path:
        # Exact's token endpoint: a refresh token lost to a crash can only be replaced
        # by a person authorising again (see talk_exactonline.oauth), so no kill there
        return []
    kinds = ["any"]
    if method == "POST" and not path.endswith("/void"):
        kinds.append("create")
    elif method in ("PUT", "PATCH"):
        kinds.append("update")
    elif method == "DELETE":
        kinds.append("delete")
    elif method == "GET":
        listing = _listing(system, path, query)
        if listing is not None:
            if listing in listed:
                kinds.append("page")
            listed.add(listing)
    return kinds


def _listing(system: str, path: str, query: dict[str, list[str]]) -> str | None:
    """A name for the listing a GET reads, or None for lookups of one record."""
    if system == "billing":
        parts = [p for p in path.split("/") if p]
        if "metadata[talk_key]" in "".join(query) or len(parts) not in (1, 3):
            return None
        return path
    if system == "erp":
        if "/sync/" not in path.lower():
            return None
        entity = [f for f in query.get("$filter", [""])[0].split(" and ") if "EntityType" in f]
        return path + "".join(entity)
    parts = [p for p in path.split("/") if p]
    if len(parts) != 1 or "idempotency_key" in query:
        return None
    return path


class Recorder:
    """Counts requests by kind across the runs of one phase, as they arrive."""

    def __init__(self) -> None:
        self.phase = 0
        self.seen: list[Seen] = []
        self._counts: dict[str, int] = defaultdict(int)
        self._listed: set[str] = set()
        self._numbers: dict[tuple[str, int], Seen] = {}

    def start_phase(self, phase: int) -> None:
        self.phase = phase
        self._counts.clear()
        self._numbers.clear()
        self.seen = []
        self.start_run()

    def start_run(self) -> None:
        """A new ``talk sync`` process: its listings start from their first page again."""
        self._listed = set()

    def received(self, system: str, request: TappedRequest) -> Seen | None:
        kinds = kinds_of(system, request.method, request.path, self._listed)
        if not kinds:
            return None
        ordinals = []
        for kind in kinds:
            counter = kind if kind == "any" else f"{kind}@{system}"
            self._counts[counter] += 1
            ordinals.append((counter, self._counts[counter]))
        seen = Seen(self.phase, system, request.method, request.path, tuple(ordinals))
        self.seen.append(seen)
        self._numbers[(system, request.number)] = seen
        return seen

    def applied(self, system: str, request: TappedRequest) -> Seen | None:
        return self._numbers.pop((system, request.number), None)


class Killer:
    """The emulators' hook: records every request and kills the child at its point."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.point: KillPoint | None = None
        self.fired: Seen | None = None
        self._pid: int | None = None
        self._pid_known = threading.Event()
        self._lock = threading.Lock()

    def hook(self, system: str) -> Callable[[TappedRequest], None]:
        return lambda request: self._see(system, request)

    def arm(self, point: KillPoint | None) -> None:
        self.point, self.fired = point, None

    def watch(self, pid: int | None) -> None:
        """The child process now running (None: none), the one to kill."""
        self._pid = pid
        self.recorder.start_run()
        if pid is None:
            self._pid_known.clear()
        else:
            self._pid_known.set()

    def _see(self, system: str, request: TappedRequest) -> None:
        with self._lock:
            if request.stage == "received":
                seen = self.recorder.received(system, request)
            else:
                seen = self.recorder.applied(system, request)
            point = self.point
            if (seen is None or point is None or self.fired is not None
                    or not point.matches(seen, request.stage)):
                return
            self.fired = seen
            self._kill()
        raise Hangup

    def _kill(self) -> None:
        """SIGKILL the child and wait until it is gone, so it never reads an answer."""
        self._pid_known.wait(10)
        pid = self._pid
        if pid is None:
            return
        os.kill(pid, signal.SIGKILL)
        # WNOWAIT: wait for the death but leave reaping to the Popen that started it
        with contextlib.suppress(ChildProcessError):  # reaped already: dead for sure
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def draw(reference: list[Seen], count: int, seed: int) -> list[KillPoint]:
    """``count`` distinct kill points over a clean run's requests, the same for one seed.

    Each kind gets its share of ``MIX`` (if the reference has such requests),
    spread over the systems in turn; the rest are "the Nth request of any
    kind", which reaches every moment of a run, reads and lookups included.
    """
    rng = random.Random(seed)
    taken: set[tuple[int, int, Stage]] = set()
    quotas = [(kind, stage, int(count * share)) for kind, stage, share in MIX]
    points = [_point(reference[index], kind, stage) for kind, stage, quota in quotas
              for index in _pick(reference, kind, stage, quota, taken, rng)]
    # "any" fills up, also for a kind the reference has too few of
    points += [_point(reference[index], "any", "applied") for index in
               _pick(reference, "any", "applied", count - len(points), taken, rng)]
    return points


def _point(seen: Seen, kind: str, stage: Stage) -> KillPoint:
    ordinal = seen.ordinal(kind if kind == "any" else f"{kind}@{seen.system}")
    assert ordinal is not None
    return KillPoint(seen.phase, kind, seen.system, ordinal, stage,
                     f"{seen.method} {seen.system} {urlsplit(seen.path).path}")


def _pick(reference: list[Seen], kind: str, stage: Stage, quota: int,
          taken: set[tuple[int, int, Stage]], rng: random.Random) -> list[int]:
    by_system: dict[str, list[int]] = defaultdict(list)
    for index, seen in enumerate(reference):
        counter = kind if kind == "any" else f"{kind}@{seen.system}"
        if seen.ordinal(counter) is not None and (seen.phase, index, stage) not in taken:
            by_system["*" if kind == "any" else seen.system].append(index)
    systems = sorted(by_system)
    rng.shuffle(systems)
    for candidates in by_system.values():
        rng.shuffle(candidates)
    chosen: list[int] = []
    while len(chosen) < quota and any(by_system.values()):
        for system in systems:
            if by_system[system] and len(chosen) < quota:
                index = by_system[system].pop()
                chosen.append(index)
                taken.add((reference[index].phase, index, stage))
    return chosen
