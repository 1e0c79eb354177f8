"""One sync run: recover, collect, then per global datatype resolve, plan and execute.

The run is a sequence of small durable steps, so that it can be killed at
any point and the next run picks up: pages are staged with their cursor,
records are resolved to global ids in batches, and each batch of planned
writes is journalled (creates) or idempotent (updates, deletes) and then
committed with the links it produced.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from talk_core.config import Config
from talk_core.errors import (
    CircuitBroken,
    ConnectorError,
    Interrupted,
    StopRun,
    TalkError,
)
from talk_core.globaltypes import GLOBAL_TYPES, GlobalType, sync_order
from talk_core.mapping import ConversionError, Mapping
from talk_core.model import DataType, Link, PropertyType
from talk_core.store.base import DeadLetter, InboxRow, StateStore
from talk_core.sync import collect as collecting
from talk_core.sync.execute import Executor, Planned
from talk_core.sync.match import key_values
from talk_core.sync.placement import ParentPlacement
from talk_core.sync.plan import (
    DeletePolicy,
    Observation,
    ParentIn,
    Route,
    Target,
    plan_group,
)
from talk_core.sync.references import References, Unresolved
from talk_core.sync.resolve import make_resolver, policy_name
from talk_core.sync.resolve_ids import IdResolver
from talk_core.sync.result import RunResult
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance
from talk_core.sync.siblings import created_hashes

log = logging.getLogger("talk.sync")

Progress = Callable[..., None]


def _global_id(row: InboxRow) -> str | None:
    return row.global_id


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
        self._stop = False
        self.result = RunResult()
        self.refs = References(store, self.global_types)
        self._read_letters: set[tuple[str, str, str]] = set()
        self._write_letters: set[tuple[str, str, str]] = set()
        #: (system, datatype, id) of records that may be a crashed create's: not shared yet
        self.held: dict[tuple[str, str, str], str] = {}
        self._resolver = make_resolver(self.settings.conflict, self.settings.priority)
        self._mappings = {
            (name, m.datatype, m.global_type): (m, inst.spec.datatype(m.datatype))
            for name, inst in self.systems.items() for m in inst.spec.mappings
        }
        self._refs: dict[tuple[str, str, str], dict[str, str]] = {}
        self._keys: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._key_refs: dict[tuple[str, str, str], dict[str, str]] = {}
        self._dts: dict[str, DatatypeSettings] = {}
        self._ignored_by: dict[tuple[str, str], frozenset[str]] = {}
        self._policy = policy_name(self.settings.conflict)
        #: The last row staged before this run: rows up to it are left over from
        #: earlier runs (deferred, or staged by a run that was killed)
        self.staged_before = 0

    def close(self) -> None:
        """Close every connector and the state store."""
        for instance in self.systems.values():
            instance.connector.close()
        self.store.close()

    def __enter__(self) -> Sync:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- small services used by the passes -----------------------------------
    def now(self) -> datetime:
        return self._clock()

    def progress(self, event: str, **info: Any) -> None:
        if self._progress is not None:
            self._progress(event, **info)

    def request_stop(self) -> None:
        """Ask the run to stop after the record in flight (a signal handler may call this)."""
        self._stop = True

    @property
    def stop_requested(self) -> bool:
        return self._stop

    def check_stop(self) -> None:
        if self._stop:
            raise Interrupted("stopped on request; everything done so far is kept")

    def dead_letter(self, letter: DeadLetter, *, soon: bool = False) -> None:
        """Keep a record that failed, to be retried on a later run.

        ``soon`` letters (a reference that is not linked yet) are retried on
        the very next run; the others back off exponentially per attempt.
        """
        stored = self.store.put_dead_letter(letter)
        assert stored.id is not None
        delay = self.settings.backoff(stored.attempts) if not soon else timedelta(0)
        self.store.schedule_dead_letter(stored.id, self.now() + delay)
        if letter.direction == "write" and letter.global_id:
            self._write_letters.add((letter.system, letter.global_type, letter.global_id))
        self.result.count(letter.system, letter.datatype, "dead_letter")
        self.result.dead_letters.append({
            "system": letter.system, "datatype": letter.datatype,
            "id": letter.external_id or letter.global_id, "direction": letter.direction,
            "error": letter.error, "attempts": stored.attempts,
        })
        log.warning("dead letter: %s", letter.error)

    def clear_write_letter(self, system: str, global_type: str, global_id: str) -> None:
        if not self._write_letters:
            return
        key = (system, global_type, global_id)
        if key in self._write_letters:
            self._write_letters.discard(key)
            self.store.clear_dead_letters_for(system, global_type, global_id)

    def clear_read_letter(self, system: str, datatype: str, external_id: str) -> None:
        if not self._read_letters:
            return
        key = (system, datatype, external_id)
        if key in self._read_letters:
            self._read_letters.discard(key)
            self.store.remove_read_letter(system, datatype, external_id)

    def clear_page_letters(self, system: str, datatype: str) -> None:
        """Drop the letters of pages of ``datatype`` that could not be read before.

        Called after a read of the datatype with no unreadable page: what
        those pages held has been read now, and no record names such a
        letter to clear it on its own (see ``Reject.page``).
        """
        if not any(s == system and d == datatype for s, d, _id in self._read_letters):
            return
        with self.store.transaction():
            for letter in self.store.dead_letters():
                if letter.direction == "read" and letter.system == system and \
                        letter.datatype == datatype and isinstance(letter.payload, dict) and \
                        letter.payload.get("page"):
                    self.clear_read_letter(system, datatype, letter.external_id)

    def instance(self, name: str) -> SystemInstance:
        return self.systems[name]

    def mapping(self, system: str, datatype: str, global_type: str) -> tuple[Mapping, DataType]:
        found = self._mappings.get((system, datatype, global_type))
        if found is None:
            raise KeyError(f"{system} {datatype} has no mapping to {global_type}")
        return found

    # -- the run ----------------------------------------------------------------
    def run(
        self,
        *,
        dry_run: bool = False,
        datatypes: Iterable[str] | None = None,
        systems: Iterable[str] | None = None,
    ) -> RunResult:
        """Sync once. ``datatypes`` limits to global datatypes, ``systems`` to instances."""
        for cache in (self._dts, self._ignored_by, self._keys, self._key_refs):
            cache.clear()  # what the settings decide is worked out again each run
        wanted_types = [
            t for t in sync_order(list(datatypes) if datatypes else None)
            if t.name in self.global_types and self.datatype_settings(t.name).enabled
        ]
        wanted_systems = set(systems) if systems else set(self.systems)
        unknown = sorted(wanted_systems - set(self.systems))
        if unknown:
            raise TalkError(f"unknown system instance(s): {', '.join(unknown)}")
        self._stop = False
        self.result = RunResult(dry_run=dry_run)
        self.refs = References(self.store, self.global_types)
        self.store.acquire_lock(f"{socket.gethostname()}:{os.getpid()}")
        try:
            self.result.run_id = self.store.start_run()
            if dry_run:
                self.store.begin_dry_run()
            try:
                with _fewer_collections():
                    self._run(wanted_types, wanted_systems, dry_run)
            except StopRun as exc:
                self.result.status, self.result.message = exc.status, str(exc)
            except Interrupted as exc:
                self.result.status, self.result.message = "interrupted", str(exc)
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
            self.store.release_lock()
        return self.result

    def _run(self, types: list[GlobalType], systems: set[str], dry_run: bool) -> None:
        self.staged_before = self.store.inbox_last_seq()
        executor = Executor(self, dry_run=dry_run)
        self.held = {}
        executor.recover_journal()
        self._retry_dead_letters(types)
        type_names = {t.name for t in types}
        for name in sorted(systems):
            instance = self.systems[name]
            for datatype in instance.spec.datatypes:
                mappings = [
                    m for m in instance.spec.mappings_of(datatype.name)
                    if m.global_type in type_names
                ]
                if mappings:
                    self._collect(instance, datatype, mappings)
        for gtype in types:
            targets = self._targets(gtype.name)
            if not targets:
                continue
            self._breaker(gtype.name)
            IdResolver(self, gtype).run()
            self._merge_pass(gtype, targets, executor)

    def _collect(self, instance: SystemInstance, datatype: DataType,
                 mappings: list[Mapping]) -> None:
        """Read one datatype; a failure to read it costs that datatype only, this run."""
        try:
            collecting.collect(self, instance, datatype, mappings)
        except (StopRun, Interrupted, CircuitBroken):
            raise
        except ConnectorError as exc:
            message = f"{instance.name} {datatype.name}: reading failed: {exc}"
            log.error("%s", message)
            self.result.errors.append(message)
            self.result.count(instance.name, datatype.name, "read_error")

    # -- dead letters ---------------------------------------------------------------
    def _retry_dead_letters(self, types: list[GlobalType]) -> None:
        names = {t.name for t in types}
        due = self.store.dead_letters(due_before=self.now())
        rows: list[InboxRow] = []
        for letter in self.store.dead_letters():
            if letter.direction == "read":
                self._read_letters.add((letter.system, letter.datatype, letter.external_id))
            elif letter.global_id:
                self._write_letters.add((letter.system, letter.global_type, letter.global_id))
        for letter in due:
            if letter.global_type not in names or letter.system not in self.systems:
                continue
            if letter.direction == "write" and letter.global_id:
                rows.append(InboxRow(letter.global_type, letter.system, letter.datatype,
                                     letter.external_id, kind="reshare",
                                     global_id=letter.global_id))
            elif letter.direction == "read" and letter.payload and "id" in letter.payload:
                rows.extend(self._retry_read_letter(letter))
        if rows:
            with self.store.transaction():
                self.store.stage(rows)

    def _retry_read_letter(self, letter: DeadLetter) -> list[InboxRow]:
        assert letter.payload is not None
        entity = collecting.entity_from_payload(letter.payload)
        try:
            mapping, datatype = self.mapping(letter.system, letter.datatype, letter.global_type)
            values, digest = collecting.project(mapping, datatype, entity)
        except (ConversionError, KeyError) as exc:
            self.dead_letter(collecting.conversion_letter(
                self, letter.system, letter.datatype, mapping, entity, exc))
            return []
        self._read_letters.discard((letter.system, letter.datatype, letter.external_id))
        self.store.remove_read_letter(letter.system, letter.datatype, letter.external_id)
        return [collecting.read_row(mapping, letter.system, datatype, entity, values, digest)]

    # -- per global type ------------------------------------------------------------
    def _targets(self, global_type: str) -> list[Target]:
        dts = self.datatype_settings(global_type)
        share = dts.share
        out = []
        for name, instance in sorted(self.systems.items()):
            mappings = instance.spec.mappings_for(global_type)
            if not mappings:
                continue
            writable: dict[str, frozenset[str]] = {}
            routes = []
            never = dts.unwritable(name)
            for m in mappings:
                dt = instance.spec.datatype(m.datatype)
                writable[m.datatype] = frozenset(m.writable_globals(dt, creating=False)) - never
                if m.creates:
                    routes.append(Route(
                        m.datatype, frozenset(m.writable_globals(dt, creating=True)) - never,
                        m.route, self._inline_children(instance, dt),
                        self._line_parent(global_type, dt),
                    ))
            out.append(Target(name, writable, tuple(routes), share))
        return out

    def _line_parent(self, global_type: str, datatype: DataType) -> str | None:
        """For a datatype of lines, the datatype its parent must be in (see ``placement``)."""
        if self.global_types[global_type].parent is None or datatype.child_of is None:
            return None
        return datatype.child_of.parent

    def _placement(self, gtype: GlobalType) -> ParentPlacement | None:
        """Where lines' parents are, for a global type of lines; None for other types."""
        if gtype.parent is None:
            return None
        parent_type = gtype.property(gtype.parent).references[0]
        dts = self.datatype_settings(parent_type)
        return ParentPlacement(self.store, gtype.parent, parent_type,
                               self._targets(parent_type), dts.accepts if dts.filter else None)

    @staticmethod
    def _inline_children(instance: SystemInstance, datatype: DataType) -> bool:
        for prop in datatype.properties:
            if prop.type is PropertyType.CHILDREN and prop.child:
                child = instance.spec.datatype(prop.child)
                if child.child_of is not None and child.child_of.inline_on_create:
                    return True
        return False

    def carriers(self, global_type: str) -> set[str]:
        return {n for n, i in self.systems.items() if i.spec.mappings_for(global_type)}

    def _breaker(self, global_type: str) -> None:
        if self.settings.deletes is not DeletePolicy.PROPAGATE:
            return
        for system, deletes in self.store.inbox_deletes(global_type).items():
            linked = self.store.count_links(global_type, system)
            limit = max(self.settings.max_delete_fraction * linked, self.settings.min_delete_count)
            if deletes > limit:
                raise CircuitBroken(
                    f"{system} would delete {deletes} of {linked} linked {global_type} records, "
                    f"more than max_delete_fraction {self.settings.max_delete_fraction:g}; "
                    "nothing was deleted. Check the source, or raise the limit for one run."
                )

    def keys(self, gtype: GlobalType) -> tuple[tuple[str, ...], ...]:
        keys = self._keys.get(gtype.name)
        if keys is None:
            keys = self._keys[gtype.name] = (
                self.datatype_settings(gtype.name).match_keys or gtype.match_keys)
        return keys

    def refs_of(self, system: str, datatype: str, global_type: str) -> dict[str, str]:
        """Global property -> referenced datatype, for one mapping (computed once)."""
        key = (system, datatype, global_type)
        refs = self._refs.get(key)
        if refs is None:
            mapping, dt = self.mapping(system, datatype, global_type)
            refs = self._refs[key] = mapping.references(dt)
        return refs

    def datatype_settings(self, global_type: str) -> DatatypeSettings:
        """The datatype's settings, made once per run even where none are configured."""
        dts = self._dts.get(global_type)
        if dts is None:
            dts = self._dts[global_type] = self.settings.datatype(global_type)
        return dts

    def _ignored(self, global_type: str, system: str) -> frozenset[str]:
        key = (global_type, system)
        ignored = self._ignored_by.get(key)
        if ignored is None:
            ignored = self._ignored_by[key] = self.datatype_settings(global_type).ignored(system)
        return ignored

    def key_refs(self, system: str, datatype: str, global_type: str) -> dict[str, str]:
        """The references a mapping's match keys are made of (usually none).

        Only these must be translated to global ids before a record can be
        matched; a record whose keys hold no reference is matched from its
        own values, even while what it refers to is still unknown.
        """
        key = (system, datatype, global_type)
        refs = self._key_refs.get(key)
        if refs is None:
            parts = {p for parts in self.keys(self.global_types[global_type]) for p in parts}
            refs = self._key_refs[key] = {
                prop: target for prop, target in self.refs_of(system, datatype,
                                                                global_type).items()
                if prop in parts
            }
        return refs

    def prefetch_references(self, global_type: str, rows: list[InboxRow], *,
                            keys_only: bool = False) -> None:
        """One query per referencing property for a batch of staged records.

        ``keys_only``: just the references match keys are made of.
        """
        wanted: dict[tuple[str, str, str], list[str]] = {}
        refs_of = self.key_refs if keys_only else self.refs_of
        for row in rows:
            if row.kind != "read" or not row.payload or row.payload.get("deleted"):
                continue
            for prop, datatype in refs_of(row.system, row.datatype, global_type).items():
                value = row.payload["values"].get(prop)
                if value is not None and value != "":
                    wanted.setdefault((prop, row.system, datatype), []).append(str(value))
        for (prop, system, datatype), ids in wanted.items():
            self.refs.prefetch_global(global_type, prop, system, datatype, ids)

    def _merge_pass(self, gtype: GlobalType, targets: list[Target], executor: Executor) -> None:
        """Merge each global entity's staged records, plan the writes, execute, commit."""
        parents: list[InboxRow] = []
        placement = self._placement(gtype)
        with self.store.carrying():
            self._merge_batches(gtype, targets, executor, placement, parents)
        if parents:
            executor.create_parents(gtype, parents)

    def _merge_batches(self, gtype: GlobalType, targets: list[Target], executor: Executor,
                       placement: ParentPlacement | None, parents: list[InboxRow]) -> None:
        store = self.store
        after: str | None = None
        while True:
            rows = store.inbox_groups(gtype.name, after, self.settings.batch_size)
            if not rows:
                break
            gids = list(dict.fromkeys(r.global_id for r in rows if r.global_id))
            after = gids[-1]
            currents = store.get_globals(gtype.name, gids)
            links = store.links_of_many(gtype.name, gids)
            detached = store.detached_of(gtype.name, gids)
            self.refs.reset()
            if placement is not None:
                placement.reset()
            self.prefetch_references(gtype.name, rows)
            batch: list[Planned] = []
            detached_from: dict[str, set[str]] = {}
            for detached_gid, system in detached:
                detached_from.setdefault(detached_gid, set()).add(system)
            for gid, group in groupby(rows, key=_global_id):
                assert gid is not None
                members = list(group)
                if any(r.kind == "parent" for r in members):
                    parents.extend(r for r in members if r.kind == "parent")
                    members = [r for r in members if r.kind != "parent"]
                    if not members:
                        continue
                planned = self._plan(gtype, gid, members, currents.get(gid),
                                     links.get(gid, []), targets,
                                     frozenset(detached_from.get(gid, ())),
                                     parent_in=placement)
                if planned is not None:
                    batch.append(planned)
            executor.execute(gtype, batch)

    def _plan(self, gtype: GlobalType, gid: str, rows: list[InboxRow],
              current: dict[str, Any] | None, links: list[Any],
              targets: list[Target], detached: frozenset[str], *,
              parent_in: ParentIn | None = None) -> Planned | None:
        by_system = {link.system: link for link in links}
        dts = self.datatype_settings(gtype.name)
        latest: dict[str, InboxRow] = {}
        seqs: list[int] = []
        for row in rows:
            assert row.seq is not None
            seqs.append(row.seq)
            if row.kind == "read":
                latest[row.system] = row
        observations = []
        first_new = current is None
        deferred: list[int] = []
        created = created_hashes(rows)
        held: list[Observation] = []  # facets of records talk created (see ``siblings``)
        for system, row in latest.items():
            payload = row.payload or {}
            link = by_system.get(system)
            if link is not None and link.external_id != row.external_id:
                log.warning("%s %s %s shares its keys with %s; left unlinked", system,
                            row.datatype, row.external_id, link.external_id)
                continue
            if payload.get("deleted"):
                observations.append(Observation(system, row.datatype, row.external_id, {},
                                                None, deleted=True))
                continue
            try:
                values = self.refs.to_global(gtype.name, payload["values"],
                                             self.refs_of(system, row.datatype, gtype.name),
                                             system)
            except Unresolved as exc:
                assert row.seq is not None
                self.store.inbox_defer(row.seq, str(exc))
                deferred.append(row.seq)
                self.result.deferred += 1
                continue
            mapping, _dt = self.mapping(system, row.datatype, gtype.name)
            updated = payload.get("updated")
            if link is None and created.get((system, row.external_id), "") == payload.get("hash"):
                held.append(Observation(system, row.datatype, row.external_id, values,
                                        payload.get("hash"),
                                        datetime.fromisoformat(updated) if updated else None,
                                        defaults=mapping.defaults,
                                        ignored=self._ignored(gtype.name, system)))
                continue
            adopted = link is None and not first_new
            if link is None:
                first_new = False
            observations.append(Observation(
                system, row.datatype, row.external_id, values, payload.get("hash"),
                datetime.fromisoformat(updated) if updated else None,
                adopted=adopted, defaults=mapping.defaults,
                ignored=self._ignored(gtype.name, system),
            ))
        own = self._own_records(gid, gtype.name, held, current, observations, by_system)
        if current is None and not observations:
            self.store.inbox_delete([s for s in seqs if s not in deferred])
            return None
        plan = plan_group(
            global_type=gtype.name, global_id=gid, current=current, links=by_system,
            observations=observations, targets=targets, resolver=self._resolver,
            policy=self._policy, delete_policy=self.settings.deletes, detached=detached,
            accept=dts.accepts if dts.filter else None, parent_in=parent_in,
        )
        plan.links.extend(own)
        if current is not None:
            known = current
        else:
            known = next((o.values for o in observations if not o.adopted and not o.deleted), {})
        return Planned(plan, [s for s in seqs if s not in deferred],
                       key_values(known, self.keys(gtype)))

    @staticmethod
    def _own_records(gid: str, global_type: str, held: list[Observation],
                     current: dict[str, Any] | None, observations: list[Observation],
                     by_system: dict[str, Link]) -> list[Link]:
        """Link the facets of records talk created; answer the links to store.

        Such a facet holds what talk wrote, not news: where the entity is
        known or read elsewhere it is the target's link (the plan then
        updates it where the entity differs). A facet nothing else has is
        the entity itself, observed as talk's own, never "adopted".
        """
        if not held:
            return []
        if current is None and not any(not o.deleted for o in observations):
            observations.extend(held)
            return []
        own = [Link(global_type, gid, o.system, o.datatype, o.external_id, o.hash, o.values)
               for o in held]
        by_system.update((link.system, link) for link in own)
        return own
