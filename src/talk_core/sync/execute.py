"""Execute: carry out planned writes and commit what they produced.

Creates are journalled before the call, so a crash between the system's
answer and our commit is recovered by asking the system (``recover``,
see ``recover_journal``) rather than creating again. Updates and deletes are idempotent and simply
run again after a crash. A failed write costs one dead letter; the rest
of the batch goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from talk_core.errors import Interrupted, StopRun, TransientError
from talk_core.globaltypes import GlobalType
from talk_core.ids import new_global_id
from talk_core.mapping import ConversionError
from talk_core.model import DataType, Entity, Link
from talk_core.store.base import DeadLetter, InboxRow, JournalEntry
from talk_core.sync import lines as line_rules
from talk_core.sync import parents, recover_journal
from talk_core.sync.collect import project
from talk_core.sync.match import key_values, match_keys
from talk_core.sync.plan import Create, Delete, Plan, Update
from talk_core.sync.references import Unresolved
from talk_core.sync.siblings import Siblings

if TYPE_CHECKING:
    from talk_core.sync.engine import Sync

log = logging.getLogger("talk.sync")

_STOPS = (StopRun, Interrupted)


@attrs.define
class Planned:
    """A plan with the inbox rows it consumes and the match keys its entity had."""

    plan: Plan
    seqs: list[int]
    keys_before: tuple[Any, ...] = ()


@attrs.define
class Outcome:
    """What executing one plan produced, committed together with the plan."""

    plan: Plan
    seqs: list[int]
    keys_before: tuple[Any, ...] = ()
    links: list[Link] = attrs.field(factory=list)
    dropped: list[Link] = attrs.field(factory=list)
    journal_done: list[str] = attrs.field(factory=list)
    staged: list[InboxRow] = attrs.field(factory=list)
    written: set[str] = attrs.field(factory=set)
    incomplete: bool = False
    #: records created: (system, datatype, the system's answer), for their other facets
    created: list[tuple[str, str, Entity]] = attrs.field(factory=list)


@attrs.define
class Write:
    """A planned action in the system's terms, ready to send."""

    action: Create | Update | Delete
    datatype: str
    ident: str
    payload: dict[str, Any]
    entry: JournalEntry | None
    sent: bool = False


class Executor:
    def __init__(self, sync: Sync, *, dry_run: bool) -> None:
        self.sync = sync
        self.store = sync.store
        self.dry_run = dry_run
        self._batch_time: datetime | None = None
        self.siblings = Siblings(self)
        #: (global type, global id, system) of creates whose outcome the journal still holds
        self.unsettled: set[tuple[str, str, str]] = set()

    # -- helpers -------------------------------------------------------------
    def fail(self, gt: str, gid: str, system: str, datatype: str, external_id: str,
             error: str, *, soon: bool = False) -> None:
        self.sync.dead_letter(DeadLetter(
            system=system, datatype=datatype, external_id=external_id, global_type=gt,
            direction="write", error=error, global_id=gid,
        ), soon=soon)

    def link_from(self, gt: str, gid: str, system: str, datatype: str, entity: Entity,
                  written: dict[str, Any], base: dict[str, Any] | None = None) -> Link:
        """The link after a write: what the system answered, plus what we know we wrote.

        Values we wrote count as held even if the system answers them
        differently (truncated, reformatted), so a write is never repeated
        forever; the hash is of the answer, so its echo is recognised.
        """
        mapping, dt = self.sync.mapping(system, datatype, gt)
        values: dict[str, Any] = dict(base or {})
        digest = None
        try:
            read, digest = project(mapping, dt, entity)
            refs = self.sync.refs_of(system, datatype, gt)
            try:
                read = self.sync.refs.to_global(gt, read, refs, system)
            except Unresolved:
                read = {k: v for k, v in read.items() if k not in refs}
            values.update(read)
        except ConversionError as exc:
            log.warning("%s %s %s answered a value talk cannot read: %s",
                        system, datatype, entity.id, exc)
        values.update(written)
        return Link(gt, gid, system, datatype, entity.id, digest, values)

    def system_values(self, gt: str, system: str, dt_name: str, values: dict[str, Any],
                      *, creating: bool) -> tuple[dict[str, Any], DataType]:
        mapping, dt = self.sync.mapping(system, dt_name, gt)
        translated = self.sync.refs.to_system(gt, values, self.sync.refs_of(system, dt_name, gt),
                                              system)
        return mapping.to_system(translated, dt, creating=creating), dt

    def journal(self, entry: JournalEntry) -> str:
        """Record a write's intent durably before the call whose outcome a crash could hide."""
        with self.store.transaction():
            self.store.journal_add(entry)
        return entry.key

    # -- journal recovery and parents with their lines (own modules) ----------------
    def recover_journal(self) -> None:
        """Settle creates whose outcome a crash left unknown, before anything else."""
        recover_journal.recover_journal(self)

    def create_parents(self, gtype: GlobalType, rows: list[InboxRow]) -> None:
        """Create postponed parents (Exact orders) together with their merged lines."""
        parents.create_parents(self, gtype, rows)

    # -- batches of plans --------------------------------------------------------
    def execute(self, gtype: GlobalType, batch: list[Planned]) -> None:
        """Prepare every write of a batch, journal them and the conflicts, send, commit.

        Conflicts are recorded before any write is sent: a crash after a
        write would otherwise let its echo hide the conflict on the rerun.
        """
        if not batch:
            return
        self._prefetch(gtype.name, [p.plan for p in batch])
        self._batch_time = self.sync.now()  # the batch's journal entries are written together
        prepared: list[tuple[Outcome, list[Write]]] = []
        for planned in batch:
            plan = planned.plan
            outcome = Outcome(plan, planned.seqs, planned.keys_before)
            writes = []
            for action in plan.actions:
                write = self._prepare(gtype, plan, action, outcome)
                if write is not None:
                    writes.append(write)
            prepared.append((outcome, writes))
        with self.store.transaction():
            for outcome, _writes in prepared:
                if outcome.plan.conflicts:
                    self._record_conflicts(gtype.name, outcome.plan)
            self.store.journal_add_many(
                w.entry for _o, writes in prepared for w in writes if w.entry is not None)
        stop: BaseException | None = None
        for outcome, writes in prepared:
            if stop is None:
                try:
                    self.sync.check_stop()
                    for write in writes:
                        self._send(gtype, outcome, write)
                except _STOPS as exc:
                    stop = exc
            unsent = [w for w in writes if not w.sent]
            if unsent:
                outcome.incomplete = True
                outcome.journal_done.extend(w.entry.key for w in unsent if w.entry is not None)
        with self.store.transaction(carry=True):  # committed with the next journal
            self._commit(gtype, [outcome for outcome, _writes in prepared])
        self._batch_time = None
        if stop is not None:
            raise stop

    def _prefetch(self, gt: str, plans: list[Plan]) -> None:
        """Translate every reference a batch will write with one query per property."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for plan in plans:
            for action in plan.actions:
                if isinstance(action, Delete):
                    continue
                datatype = action.datatype if isinstance(action, Create) else action.link.datatype
                for prop in self.sync.refs_of(action.system, datatype, gt):
                    gid = action.values.get(prop)
                    if gid:
                        wanted.setdefault((action.system, prop), []).append(gid)
        for (system, prop), gids in wanted.items():
            self.sync.refs.prefetch_system(gt, prop, system, gids)

    def _record_conflicts(self, gt: str, plan: Plan) -> None:
        for conflict in plan.conflicts:
            conflict.run_id = self.sync.result.run_id
            self.store.add_conflict(conflict)
            self.sync.result.conflicts.append({
                "global_type": gt, "global_id": plan.global_id, "property": conflict.property,
                "values": conflict.values, "winner": conflict.winner, "policy": conflict.policy,
            })

    def record_plan(self, gt: str, gid: str, action: Create | Update | Delete) -> None:
        if isinstance(action, Create):
            system, datatype, what, ident = action.system, action.datatype, "create", None
        else:
            system, datatype = action.system, action.link.datatype
            what = "update" if isinstance(action, Update) else "delete"
            ident = action.link.external_id
        self.sync.result.count(system, datatype, what)
        if self.dry_run:
            entry: dict[str, Any] = {"action": what, "system": system, "datatype": datatype,
                                     "global_type": gt, "global_id": gid}
            if ident is not None:
                entry["id"] = ident
            if not isinstance(action, Delete):
                entry["values"] = action.values
            self.sync.result.planned.append(entry)

    def _prepare(self, gtype: GlobalType, plan: Plan, action: Create | Update | Delete,
                 outcome: Outcome) -> Write | None:
        """Turn a planned action into the system's payload, or a dead letter if it cannot be."""
        gt, gid = gtype.name, plan.global_id
        if isinstance(action, Create) and self.held(gt, gid, action.system):
            return None
        if isinstance(action, Create) and action.inline_children:
            outcome.staged.append(parents.parent_row(self.sync, gid, action))
            return None
        if self.dry_run:
            self.record_plan(gt, gid, action)
            return None
        datatype = action.datatype if isinstance(action, Create) else action.link.datatype
        ident = "" if isinstance(action, Create) else action.link.external_id
        now = self._batch_time or self.sync.now()
        try:
            if isinstance(action, Delete):
                entry = JournalEntry(new_global_id(), gt, gid, action.system, datatype,
                                     {"op": "delete", "external_id": ident}, now)
                return Write(action, datatype, ident, {}, entry)
            creating = isinstance(action, Create)
            try:
                payload, dt = self.system_values(gt, action.system, datatype, action.values,
                                                 creating=creating)
            except Unresolved:
                dt = self.sync.systems[action.system].spec.datatype(datatype)
                if creating and dt.child_of is not None and dt.child_of.inline_on_create \
                        and not self._parent_linked(gtype, action):
                    return None  # it is sent inline when its parent is created
                raise
            if not creating:
                return Write(action, datatype, ident, payload, None) if payload else None
            if dt.child_of is not None and (missing := line_rules.missing_fields(dt, payload)):
                mapping, _dt = self.sync.mapping(action.system, datatype, gt)
                self.fail(gt, gid, action.system, datatype, ident, line_rules.missing_message(
                    action.system, datatype, mapping, missing[0], action.values,
                    (link.system for link in self.store.links_of(gt, gid))))
                return None
            entry = JournalEntry(new_global_id(), gt, gid, action.system, datatype,
                                 {"properties": payload, "values": action.values}, now)
            return Write(action, datatype, ident, payload, entry)
        except Unresolved as exc:
            self.fail(gt, gid, action.system, datatype, ident,
                      f"{action.system} {datatype}: waiting: {exc}", soon=True)
        except ConversionError as exc:
            self.fail(gt, gid, action.system, datatype, ident,
                      f"{action.system} {datatype} {ident or '(new)'}: {exc}")
        return None

    def held(self, gt: str, gid: str, system: str) -> bool:
        """Whether an earlier create of the entity there may have been made: not again, yet.

        The journal entry stays, and each run asks the system again; a later
        run creates it if that create turns out never to have happened.
        """
        if not self.unsettled or (gt, gid, system) not in self.unsettled:
            return False
        log.info("%s %s: not created in %s while an earlier create is unsettled", gt, gid, system)
        return True

    def _parent_linked(self, gtype: GlobalType, action: Create) -> bool:
        """Whether a new line's parent already has its record in the action's system."""
        if gtype.parent is None or not action.values.get(gtype.parent):
            return False
        parent_gt = gtype.property(gtype.parent).references[0]
        return self.store.link_for(parent_gt, action.values[gtype.parent],
                                   action.system) is not None

    def _send(self, gtype: GlobalType, outcome: Outcome, write: Write) -> None:
        gt, gid, action = gtype.name, outcome.plan.global_id, write.action
        connector = self.sync.systems[action.system].connector
        write.sent = True
        try:
            if isinstance(action, Delete):
                connector.delete(write.datatype, write.ident)
                outcome.dropped.append(action.link)
            elif isinstance(action, Update):
                entity = connector.update(write.datatype, write.ident, write.payload)
                outcome.links.append(self.link_from(gt, gid, action.system, write.datatype,
                                                    entity, action.values, action.link.values))
            else:
                assert write.entry is not None
                entity = connector.create(write.datatype, write.payload, key=write.entry.key)
                outcome.links.append(self.link_from(gt, gid, action.system, write.datatype,
                                                    entity, action.values))
                outcome.created.append((action.system, write.datatype, entity))
        except _STOPS:
            write.sent = False
            raise
        except Exception as exc:
            if write.entry is not None and not (
                isinstance(action, Create) and isinstance(exc, TransientError)
            ):
                outcome.journal_done.append(write.entry.key)
            what = type(action).__name__.lower()
            self.fail(gt, gid, action.system, write.datatype, write.ident,
                      f"{action.system} {write.datatype} {write.ident or '(new)'}: {what} "
                      f"failed: {type(exc).__name__}: {exc}")
            return
        if write.entry is not None:
            outcome.journal_done.append(write.entry.key)
        outcome.written.add(action.system)
        self.record_plan(gt, gid, action)

    def _commit(self, gtype: GlobalType, outcomes: list[Outcome]) -> None:
        """Everything a batch produced, written with one statement per kind where possible."""
        store, gt, keys = self.store, gtype.name, self.sync.keys(gtype)
        changed: list[tuple[str, dict[str, Any]]] = []
        links: list[Link] = []
        drops: list[Link] = []
        staged: list[InboxRow] = []
        done: list[str] = []
        seqs: list[int] = []
        for outcome in outcomes:
            plan, gid = outcome.plan, outcome.plan.global_id
            drops.extend(plan.drop_links)
            if plan.deleted:
                store.delete_global(gt, gid)
            else:
                assert plan.values is not None
                if plan.changed:
                    changed.append((gid, plan.values))
                    if key_values(plan.values, keys) != outcome.keys_before:
                        store.set_match_keys(gt, gid, match_keys(plan.values, keys))
                for system in plan.detach:
                    store.detach(gt, gid, system)
                links.extend(plan.links)
                drops.extend(outcome.dropped)
            links.extend(outcome.links)
            done.extend(outcome.journal_done)
            for system in outcome.written:
                self.sync.clear_write_letter(system, gt, gid)
            staged.extend(outcome.staged)
            if outcome.incomplete and not plan.deleted:
                staged.append(InboxRow(gt, "", "", "", kind="reshare", global_id=gid))
            seqs.extend(outcome.seqs)
        for link in drops:
            store.delete_link(link)
            self.sync.refs.forget(link.system, link.global_id)
        store.put_globals(gt, changed)
        if gtype.parent:
            store.set_parents(gt, [(gid, values.get(gtype.parent)) for gid, values in changed])
        store.put_links(links)
        for outcome in outcomes:
            for system, datatype, entity in outcome.created:
                self.siblings.settle(gt, outcome.plan.global_id, system, datatype, entity)
        store.journal_remove_many(done)
        if staged:
            store.stage(staged)
        store.inbox_delete(seqs)
