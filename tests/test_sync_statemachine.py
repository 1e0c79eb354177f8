"""The engine against random histories of three differently shaped systems.

Rules create, edit and delete records in any system, make the next write of
a system fail, or crash the sync right after a system did a write (before
talk could record it). After each sync (repeated until it settles, with the
clock moved on so dead letters are due), every system must hold the same
records with the same values, none twice; one more sync must write nothing;
and every property edited differently in two systems since the last sync
must have a recorded conflict.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from systems import (
    GLOBAL_FIELDS,
    SHAPES,
    SharedClock,
    make_connectors,
    make_sync,
    records_as_global,
)

from talk_core.errors import RecordError, TransientError
from talk_core.sync.engine import Sync
from talk_core.testing.memory import SimulatedCrash

SYSTEMS = ("crm", "erp", "shop")
TYPES = ("organisation", "human")
cities = st.sampled_from(["Oslo", "Bergen", "Tromsø", "Åsgårdstrand", "", None])
emails = st.sampled_from(["a@x.no", "b@y.com", "post@z.org", None])
sizes = st.one_of(st.none(), st.integers(min_value=0, max_value=10_000))


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="talk-sm-"))
        self.clock = SharedClock()
        self.connectors = make_connectors(self.clock, page_size=2)
        self.sync = self._new_sync()
        self.counter = 0
        self.edits: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.deleted_since_sync: set[tuple[str, str]] = set()
        self.failures_armed = False

    def _new_sync(self) -> Sync:
        return make_sync(self.dir / "state.db", self.connectors, self.clock)

    # -- what people do in the systems ----------------------------------------
    @rule(system=st.sampled_from(SYSTEMS), gtype=st.sampled_from(TYPES), email=emails,
          city=cities, size=sizes)
    def create(self, system: str, gtype: str, email: str | None, city: str | None,
               size: int | None) -> None:
        self.counter += 1
        datatype, fields, marker = SHAPES[gtype][system]
        values: list[Any] = [f"{gtype[:3]}-{self.counter}", email, city, size]
        if fields[-1] == "Employees" and size is not None:
            values[-1] = str(size)
        props = dict(zip(fields, values, strict=False))
        props.update(marker)
        self.connectors[system].put(datatype, props)

    def _pick(self, data: st.DataObject, system: str, gtype: str) -> str | None:
        datatype, _fields, marker = SHAPES[gtype][system]
        ids = sorted(
            i for i, p in self.connectors[system].records(datatype).items()
            if all(p.get(k) == v for k, v in marker.items())
        )
        return data.draw(st.sampled_from(ids)) if ids else None

    @rule(data=st.data(), system=st.sampled_from(SYSTEMS), gtype=st.sampled_from(TYPES),
          field=st.sampled_from([1, 2]), email=emails, city=cities)
    def edit(self, data: st.DataObject, system: str, gtype: str, field: int,
             email: str | None, city: str | None) -> None:
        ident = self._pick(data, system, gtype)
        if ident is None:
            return
        datatype, fields, _marker = SHAPES[gtype][system]
        value = email if field == 1 else city
        self.connectors[system].edit(datatype, ident, **{fields[field]: value})
        gid = self._global_id(system, datatype, gtype, ident)
        if gid is not None:
            prop = GLOBAL_FIELDS[gtype][field]
            self.edits.setdefault((gtype, gid, prop), {})[system] = value

    @rule(data=st.data(), system=st.sampled_from(SYSTEMS), gtype=st.sampled_from(TYPES))
    def delete(self, data: st.DataObject, system: str, gtype: str) -> None:
        datatype, _fields, _marker = SHAPES[gtype][system]
        if system == "shop" and self.connectors[system].count(datatype) <= 1:
            return  # an emptied full listing is treated as a fault, by design
        ident = self._pick(data, system, gtype)
        if ident is None:
            return
        gid = self._global_id(system, datatype, gtype, ident)
        self.connectors[system].remove(datatype, ident)
        if gid is not None:
            self.deleted_since_sync.add((gtype, gid))

    @rule(system=st.sampled_from(SYSTEMS), op=st.sampled_from(["create", "update"]),
          permanent=st.booleans())
    def fail_next_write(self, system: str, op: str, permanent: bool) -> None:
        error = RecordError("refused by the test") if permanent else TransientError("timeout")
        self.connectors[system].fail_next(op, error)
        self.failures_armed = True

    @rule(system=st.sampled_from(SYSTEMS), op=st.sampled_from(["create", "update"]))
    def crash_during_next_sync(self, system: str, op: str) -> None:
        self.connectors[system].crash_after_next(op)
        self.failures_armed = True

    # -- the sync --------------------------------------------------------------------
    def _global_id(self, system: str, datatype: str, gtype: str, ident: str) -> str | None:
        link = self.sync.store.get_link(system, datatype, ident, gtype)
        return link.global_id if link else None

    def _run_once(self) -> int:
        try:
            result = self.sync.run()
        except SimulatedCrash:
            # the process died: a new one opens the same state file
            self.sync.store.close()
            self.sync = self._new_sync()
            return -1
        assert result.status == "done", result.message
        return result.writes + len(result.dead_letters)

    @rule()
    def sync_until_settled(self) -> None:
        expected = self._expected_conflicts()
        before = {c.id for c in self.sync.store.conflicts(limit=100_000)}
        for _ in range(8):
            busy = self._run_once()
            self.clock.advance(timedelta(days=1))
            if busy == 0:
                break
        else:
            raise AssertionError("the sync did not settle within 8 runs")
        self._drain_unused_failures()
        recorded = {
            (c.global_id, c.property) for c in self.sync.store.conflicts(limit=100_000)
            if c.id not in before
        }
        for gtype, gid, prop in expected:
            assert (gid, prop) in recorded, f"conflict on {gtype} {gid} {prop} not recorded"
        self.edits.clear()
        self.deleted_since_sync.clear()
        self.failures_armed = False
        self._check_converged()
        assert self._run_once() == 0, "a sync with no change wrote something"

    def _expected_conflicts(self) -> set[tuple[str, str, str]]:
        """Properties that two systems changed, each from its last synced value, differently."""
        expected = set()
        for (gtype, gid, prop), by_system in self.edits.items():
            if (gtype, gid) in self.deleted_since_sync:
                continue
            changed = {}
            for system, value in by_system.items():
                link = self.sync.store.link_for(gtype, gid, system)
                value = None if value == "" else value
                if link is not None and link.values.get(prop) != value:
                    changed[system] = value
            if len({repr(v) for v in changed.values()}) > 1:
                expected.add((gtype, gid, prop))
        return expected

    def _drain_unused_failures(self) -> None:
        """Failures armed for a write that never came must not leak into the checks."""
        for conn in self.connectors.values():
            conn.disarm()

    def _check_converged(self) -> None:
        store = self.sync.store
        assert store.journal_pending() == []
        for gtype in TYPES:
            per_system = records_as_global(self.connectors, gtype)
            first = per_system["crm"]
            for system, rows in per_system.items():
                assert rows == first, f"{gtype}: {system} differs from crm:\n{rows}\n{first}"
                names = [r[0] for r in rows]
                assert len(names) == len(set(names)), f"{gtype}: duplicates in {system}"
            for system in SYSTEMS:
                datatype = SHAPES[gtype][system][0]
                links = list(store.iter_links(system=system, datatype=datatype,
                                              global_type=gtype))
                assert len(links) == len(first), f"{gtype}: {system} links do not match records"

    @invariant()
    def lock_is_free(self) -> None:
        # every run, finished or crashed, gives the lock back
        self.sync.store.acquire_lock("check")
        self.sync.store.release_lock()

    @precondition(lambda self: True)
    @rule()
    def noop(self) -> None:
        pass

    def teardown(self) -> None:
        self.sync.store.close()


SyncMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSync = SyncMachine.TestCase
