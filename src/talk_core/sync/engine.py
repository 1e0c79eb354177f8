"""One sync run, orchestrated: recover, collect, then per global type identify, merge, execute.

Types go in dependency order; where the run's own writes changed a facet
of a type already passed, that type is passed again (``_settle_rounds``).

The run is a sequence of small durable steps, so that it can be killed at
any point and the next run picks up: pages are staged with their cursor,
records are given global ids in batches, and each batch of planned writes
is journalled (creates) or idempotent (updates, deletes) and then committed
with the links it produced. This module only wires the stages together:
each gets the run's context, catalog and ledger as arguments, and none
calls back into this one.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime

from talk_core import http, interrupt, notices
from talk_core.config import Config
from talk_core.errors import (
    CircuitBroken,
    ConnectorError,
    Interrupted,
    StopRun,
    SystemUnavailable,
    TalkError,
    UnknownName,
)
from talk_core.globaltypes import GLOBAL_TYPES, GlobalType, sync_order
from talk_core.mapping import Mapping
from talk_core.model import DataType
from talk_core.store.base import StateStore
from talk_core.sync.catalog import Catalog
from talk_core.sync.collect import Collector
from talk_core.sync.commit import UnitOfWork
from talk_core.sync.context import InFlight, Progress, RunContext
from talk_core.sync.execute import Executor
from talk_core.sync.letters import Letters
from talk_core.sync.merge import Merge, check_breaker
from talk_core.sync.parents import Parents
from talk_core.sync.recovery import Recovery
from talk_core.sync.references import References
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.sync.translate import Translator

log = logging.getLogger("talk.sync")

#: Rounds a run may add to settle what its own writes changed in other facets of the
#: records written (see ``_Run._settle_rounds``); a round only takes the rows staged since.
MAX_EXTRA_ROUNDS = 3

@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Let the cyclic garbage collector run less often during a run.

    A run allocates a few dicts per record, almost none of them in cycles,
    so reference counting frees them; the collector's default thresholds
    still walked every live object (connector pages, caches, the host
    application's heap) many times per thousand records, a tenth of an
    initial sync at 100k. The thresholds are put back when the run ends.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), max(old[1], 20), max(old[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*old)


class Sync:
    """A sync over configured system instances and one state store.

    ``run()`` is the whole algorithm; the CLI and library users call the same.
    """

    def __init__(
        self,
        store: StateStore | Config,
        systems: Sequence[SystemInstance] | None = None,
        settings: SyncSettings | None = None,
        *,
        global_types: dict[str, GlobalType] | None = None,
        clock: Callable[[], datetime] | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Either ``Sync(config)``, or the parts: ``Sync(store, systems, settings)``."""
        if isinstance(store, Config):
            from talk_core import assemble

            config = store
            store = assemble.open_store(config)
            try:
                systems = assemble.instances(config, store)
            except BaseException:
                store.close()
                raise
            settings = settings or assemble.settings_from(config)
        if systems is None:
            raise TypeError("Sync needs a Config, or a store and its system instances")
        self.store = store
        self.systems = {s.name: s for s in systems}
        if len(self.systems) != len(systems):
            raise TalkError("two system instances share one name")
        self.settings = settings or SyncSettings()
        self.global_types = global_types or GLOBAL_TYPES
        self._clock = clock or (lambda: datetime.now(UTC))
        self._progress = progress
        self.result = RunResult()
        self._context: RunContext | None = None
        self._stop = False
        self._in_stages = False

    def close(self) -> None:
        """Close every connector and the state store."""
        for instance in self.systems.values():
            instance.connector.close()
        self.store.close()

    def __enter__(self) -> Sync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request_stop(self) -> None:
        """Ask the run to stop at the next record (a signal handler may call this).

        A wait in progress (a retry's backoff, a rate limit's window) ends at
        once: the process-wide ``talk_core.interrupt`` is set too.
        """
        self._stop = True
        interrupt.request_stop()
        if self._context is not None:
            self._context.stopping = True

    @property
    def in_stages(self) -> bool:
        """Whether the run is in its stages, where a ``KeyboardInterrupt`` may cut it short.

        Outside them (taking the lock, recording the run's end) it is not
        safe to: the CLI's second Ctrl-C raises only while this holds.
        """
        return self._in_stages

    def mapping(self, system: str, datatype: str, global_type: str) -> tuple[Mapping, DataType]:
        """The mapping of ``system``'s ``datatype`` to ``global_type``, with the datatype."""
        return Catalog(self.systems, self.settings, self.global_types).mapping(
            system, datatype, global_type)

    def run(
        self,
        *,
        dry_run: bool = False,
        datatypes: Iterable[str] | None = None,
        systems: Iterable[str] | None = None,
    ) -> RunResult:
        """Sync once. ``datatypes`` limits to global datatypes, ``systems`` to instances.

        What the systems do wrong ends up in the result (dead letters, read
        errors, ``status``), never as an exception. Raises only:

        - ``ConfigError`` (``UnknownName``): a datatype or system instance
          that does not exist; nothing was read or written;
        - ``LockedError``: another sync holds the state's lock; nothing was
          done, try again later;
        - ``StateError``: the state file cannot be used (damaged, busy, from
          a newer talk); the message says which file and why;
        - ``KeyboardInterrupt``: a second Ctrl-C while stopping; everything
          committed so far is kept.
        """
        # what the settings decide is worked out again each run
        catalog = Catalog(self.systems, self.settings, self.global_types)
        wanted_types = [
            t for t in sync_order(list(datatypes) if datatypes else None)
            if t.name in self.global_types and catalog.datatype_settings(t.name).enabled
        ]
        wanted_systems = set(systems) if systems else set(self.systems)
        unknown = sorted(wanted_systems - set(self.systems))
        if unknown:
            raise UnknownName(f"unknown system instance(s): {', '.join(unknown)}; "
                              f"configured: {', '.join(sorted(self.systems))}")
        self._stop = False
        interrupt.clear()
        http.set_patience(self.settings.unavailable_after)
        http.set_limits(self.settings.limits)
        self.result = RunResult(dry_run=dry_run)
        ctx = self._context = RunContext(self.store, self._clock, result=self.result,
                                         dry_run=dry_run, progress=self._progress)
        self.store.acquire_lock(f"{socket.gethostname()}:{os.getpid()}")
        try:
            self.result.run_id = self.store.start_run()
            if dry_run:
                self.store.begin_dry_run()
            try:
                self._in_stages = True
                try:
                    with _fewer_collections(), notices.listening(self._progress):
                        _Run(ctx, catalog).run(wanted_types, wanted_systems)
                finally:
                    self._in_stages = False
                if ctx.unavailable:
                    self.result.status = "unavailable"
                    self.result.message = "; ".join(ctx.unavailable.values())
            except StopRun as exc:
                self.result.status, self.result.message = exc.status, str(exc)
            except Interrupted as exc:
                self.result.status, self.result.message = "interrupted", str(exc)
            except KeyboardInterrupt:
                # a second Ctrl-C: stopped where it was; every step is durable on its own
                self.result.status = "interrupted"
                self.result.message = ("stopped at once on request; everything committed so "
                                       "far is kept, the next run finishes the rest")
            except CircuitBroken as exc:
                self.result.status, self.result.message = "breaker", str(exc)
            finally:
                if dry_run:
                    self.store.end_dry_run()
            summary = self.result.as_dict()
            summary.pop("planned")
            status = f"{self.result.status} (dry run)" if dry_run else self.result.status
            self.store.finish_run(self.result.run_id, status, summary)
        finally:
            self._context = None
            interrupt.clear()
            self.store.release_lock()
        return self.result


class _Run:
    """One run's stages, wired to its context, catalog, letters and references."""

    def __init__(self, ctx: RunContext, catalog: Catalog) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.refs = References(ctx.store, catalog.global_types)
        self.letters = Letters(ctx, catalog.settings.backoff)
        self.translator = Translator(catalog, self.refs)
        self.work = UnitOfWork(ctx, catalog, self.letters, self.refs, self.translator)

    def run(self, types: list[GlobalType], systems: set[str]) -> None:
        ctx, catalog = self.ctx, self.catalog
        staged_before = self.store.inbox_last_seq()
        recovery = Recovery(ctx, catalog, self.translator, self.work)
        in_flight = recovery.run()
        collector = Collector(ctx, catalog, self.letters, self.refs, in_flight, staged_before)
        collector.retry_letters(self.letters.load(), types)
        type_names = {t.name for t in types}
        for name in sorted(systems):
            instance = catalog.systems[name]
            for datatype in instance.spec.datatypes:
                if not ctx.available(name):
                    break  # skipped: it did not serve, and said so once
                mappings = [
                    m for m in instance.spec.mappings_of(datatype.name)
                    if m.global_type in type_names
                ]
                if mappings:
                    self._collect(collector, instance, datatype, mappings)
        recovery.finish_deletes(in_flight)  # a delete is decided on what the run read
        executor = Executor(ctx, catalog, self.refs, self.translator, self.work, in_flight)
        passes = [gtype for gtype in types if catalog.targets(gtype.name)]
        for gtype in passes:
            self._pass(gtype, collector, executor, in_flight)
        self._settle_rounds(passes, collector, executor, in_flight)

    def _pass(self, gtype: GlobalType, collector: Collector, executor: Executor,
              in_flight: InFlight, *, first: bool = True) -> None:
        """One global type's pass: breaker, identify, merge, plan, execute."""
        check_breaker(self.ctx, self.catalog, gtype.name)
        collector.identify(gtype.name).run(retry_deferred=first)
        self._merge_and_execute(gtype, executor, in_flight)

    def _settle_rounds(self, passes: list[GlobalType], collector: Collector,
                       executor: Executor, in_flight: InFlight) -> None:
        """Pass again over the types whose records the run's own writes changed.

        A record written through one facet is read again from the answer
        (``siblings``); where another facet of it changed, that facet is
        staged for its type. A type later in the order merges it in its own
        pass; one already passed gets another round, which only takes the
        rows staged since. Two facets that keep writing one field back and
        forth are stopped by the bound: what is left waits for the next run.
        """
        for extra in range(1, MAX_EXTRA_ROUNDS + 1):
            again = False
            for gtype in passes:
                if self._staged(gtype.name):
                    self._pass(gtype, collector, executor, in_flight, first=False)
                    again = True
            if not again:
                return
            self.ctx.result.rounds = 1 + extra
        left = [gtype.name for gtype in passes if self._staged(gtype.name)]
        if left:
            log.warning("records talk wrote still change one another's facets after %d rounds; "
                        "left staged for the next run: %s", 1 + MAX_EXTRA_ROUNDS,
                        ", ".join(left))

    def _staged(self, global_type: str) -> bool:
        """Whether rows wait to be merged for ``global_type`` (deferred ones wait for a run)."""
        store = self.store
        return bool(store.inbox_unresolved(global_type, 1)
                    or store.inbox_groups(global_type, None, 1))

    def _collect(self, collector: Collector, instance: SystemInstance, datatype: DataType,
                 mappings: list[Mapping]) -> None:
        """Read one datatype; a failure to read it costs that datatype only, this run."""
        try:
            collector.collect(instance, datatype, mappings)
        except (StopRun, Interrupted, CircuitBroken):
            raise
        except SystemUnavailable as exc:
            self.ctx.mark_unavailable(instance.name, exc)
        except ConnectorError as exc:
            message = f"{instance.name} {datatype.name}: reading failed: {exc}"
            log.error("%s", message)
            self.ctx.result.errors.append(message)
            self.ctx.result.count(instance.name, datatype.name, "read_error")

    def _merge_and_execute(self, gtype: GlobalType, executor: Executor,
                           in_flight: InFlight) -> None:
        """Merge each global entity's staged records, plan the writes, execute, commit."""
        merge = Merge(self.ctx, self.catalog, self.refs, gtype)
        with self.store.carrying():
            for batch in merge.batches():
                executor.execute(gtype, batch)
        if merge.parents:
            Parents(self.ctx, self.catalog, self.translator, self.work,
                    in_flight).create(gtype, merge.parents)
