"""Execute: a batch of plans becomes the systems' payloads, sent and settled as one unit of work.

Each planned action is translated into the system's terms (references as
the system's ids); what cannot be translated is a dead letter (or waits,
for a line whose parent is not created yet). The batch's creates and
deletes are journalled with its conflicts, sent, and everything they
produced is committed together (``commit.UnitOfWork``). A failed write
costs one dead letter; the rest of the batch goes on. A dry run prepares,
journals and settles the same way; only its sending is rehearsed
(``commit.Rehearsal``), inside a transaction that is rolled back.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from talk_core.globaltypes import GlobalType
from talk_core.ids import new_global_id
from talk_core.mapping import ConversionError
from talk_core.store.base import Conflict, JournalEntry, StateStore
from talk_core.sync import lines as line_rules
from talk_core.sync.catalog import Catalog
from talk_core.sync.commit import STOPS, Outcome, UnitOfWork, Write
from talk_core.sync.context import InFlight, RunContext
from talk_core.sync.merge import Planned
from talk_core.sync.parents import parent_row
from talk_core.sync.plan import Create, Delete, Plan, Update
from talk_core.sync.references import Misplaced, References, Unresolved
from talk_core.sync.translate import Translator

log = logging.getLogger("talk.sync")


class Executor:
    def __init__(self, ctx: RunContext, catalog: Catalog, refs: References,
                 translator: Translator, work: UnitOfWork, in_flight: InFlight) -> None:
        self.ctx = ctx
        self.store: StateStore = ctx.store
        self.catalog = catalog
        self.refs = refs
        self.translator = translator
        self.work = work
        self.in_flight = in_flight
        self._batch_time: datetime | None = None

    def execute(self, gtype: GlobalType, batch: list[Planned]) -> None:
        """Prepare every write of a batch, journal them and the conflicts, send, commit.

        Conflicts are recorded before any write is sent: a crash after a
        write would otherwise let its echo hide the conflict on the rerun.
        """
        if not batch:
            return
        self._prefetch(gtype.name, [p.plan for p in batch])
        self._batch_time = self.ctx.now()  # the batch's journal entries are written together
        prepared: list[tuple[Outcome, list[Write]]] = []
        for planned in batch:
            plan = planned.plan
            outcome = Outcome(gtype.name, plan.global_id, plan, planned.seqs,
                              planned.keys_before)
            writes = []
            for action in plan.actions:
                write = self._prepare(gtype, plan, action, outcome)
                if write is not None:
                    writes.append(write)
            prepared.append((outcome, writes))
        self.ctx.progress("merge", global_type=gtype.name, entities=len(batch))
        for _outcome, writes in prepared:
            for write in writes:
                self.ctx.progress("plan", system=write.action.system, datatype=write.datatype)
        conflicts: list[tuple[Plan, Conflict]] = [
            (outcome.plan, conflict) for outcome, _w in prepared if outcome.plan is not None
            for conflict in outcome.plan.conflicts]
        self.work.open((w.entry for _o, writes in prepared for w in writes
                        if w.entry is not None), conflicts)
        stop: BaseException | None = None
        systems = self.catalog.systems
        for outcome, writes in prepared:
            if stop is None:
                try:
                    self.ctx.check_stop()
                    for write in writes:
                        self.work.send(systems[write.action.system].connector, outcome, write)
                        self.ctx.progress("write", system=write.action.system,
                                          datatype=write.datatype)
                except STOPS as exc:
                    stop = exc
            unsent = [w for w in writes if not w.sent]
            if unsent:
                outcome.incomplete = True
                # an unsent delete's entry stays: the next run's recovery sends it again
                outcome.journal_done.extend(w.entry.key for w in unsent if w.entry is not None
                                            and not isinstance(w.action, Delete))
        # committed with the next journal
        self.work.settle([outcome for outcome, _writes in prepared], gtype=gtype, carry=True)
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
                for prop in self.catalog.refs_of(action.system, datatype, gt):
                    gid = action.values.get(prop)
                    if gid:
                        wanted.setdefault((action.system, prop), []).append(gid)
        for (system, prop), gids in wanted.items():
            self.refs.prefetch_system(gt, prop, system, gids)

    def _prepare(self, gtype: GlobalType, plan: Plan, action: Create | Update | Delete,
                 outcome: Outcome) -> Write | None:
        """Turn a planned action into the system's payload, or a dead letter if it cannot be."""
        gt, gid = gtype.name, plan.global_id
        if isinstance(action, Create) and self.in_flight.unsettled(gt, gid, action.system):
            log.info("%s %s: not created in %s while an earlier create is unsettled",
                     gt, gid, action.system)
            return None
        if isinstance(action, Create) and action.inline_children:
            outcome.staged.append(parent_row(self.catalog, gid, action))
            return None
        if not isinstance(action, Delete) and not self.ctx.available(action.system):
            outcome.incomplete = True  # shared again next run; nothing journalled for it
            return None
        datatype = action.datatype if isinstance(action, Create) else action.link.datatype
        ident = "" if isinstance(action, Create) else action.link.external_id
        now = self._batch_time or self.ctx.now()
        try:
            if isinstance(action, Delete):
                entry = JournalEntry(new_global_id(), gt, gid, action.system, datatype,
                                     {"op": "delete", "external_id": ident,
                                      "deleted_in": list(action.deleted_in)}, now)
                return Write(action, datatype, ident, {}, entry)
            creating = isinstance(action, Create)
            try:
                payload, dt = self.translator.to_system(gt, action.system, datatype,
                                                        action.values, creating=creating)
            except Unresolved:
                dt = self.catalog.systems[action.system].spec.datatype(datatype)
                if isinstance(action, Create) and dt.child_of is not None \
                        and dt.child_of.inline_on_create and not self._parent_linked(gtype, action):
                    return None  # it is sent inline when its parent is created
                raise
            if not creating:
                return Write(action, datatype, ident, payload, None) if payload else None
            if dt.child_of is not None and (missing := line_rules.missing_fields(dt, payload)):
                mapping, _dt = self.catalog.mapping(action.system, datatype, gt)
                outcome.fail(action.system, datatype, ident, line_rules.missing_message(
                    action.system, datatype, mapping, missing[0], action.values,
                    (link.system for link in self.store.links_of(gt, gid))))
                return None
            entry = JournalEntry(new_global_id(), gt, gid, action.system, datatype,
                                 {"properties": payload, "values": action.values,
                                  **made_of(plan, action.values)}, now)
            return Write(action, datatype, ident, payload, entry)
        except Misplaced as exc:
            if isinstance(action, Create):  # it has no place there: nothing to make
                log.info("%s %s: not created in %s %s: %s", gt, gid, action.system,
                         datatype, exc)
                return None
            outcome.fail(action.system, datatype, ident, f"{action.system} {datatype}: {exc}")
        except Unresolved as exc:
            outcome.fail(action.system, datatype, ident,
                         f"{action.system} {datatype}: waiting: {exc}", soon=True)
        except ConversionError as exc:
            outcome.fail(action.system, datatype, ident,
                         f"{action.system} {datatype} {ident or '(new)'}: {exc}")
        return None

    def _parent_linked(self, gtype: GlobalType, action: Create) -> bool:
        """Whether a new line's parent already has its record in the action's system."""
        if gtype.parent is None or not action.values.get(gtype.parent):
            return False
        parent_gt = gtype.property(gtype.parent).references[0]
        return self.store.link_for(parent_gt, action.values[gtype.parent],
                                   action.system) is not None


def made_of(plan: Plan, sent: dict[str, Any]) -> dict[str, Any]:
    """What the commit of a new entity's create stores besides the create's link.

    Journalled with the create, so that recovery can stage it where a crash
    lost that commit (``recovery.lost_commit``): the entity's values
    (``entity``) and, per record read that it was made of, what its link
    would have held (``read``: system, datatype, id and the values). Without
    them the next reading of such a record is a first reading again, whose
    empty values are no news, and a field cleared there since the crash
    would never be cleared where talk had written it. An entity known
    before has its values and links stored already.

    Every create of an initial sync carries this, so it is kept small: most
    entities are made of one record and sent whole, so ``entity`` is left
    out where it is the values sent (``sent``) and a record's values where
    they are the entity's. A link reads an empty value and an absent one
    alike, so empty ones are left out too (a null anywhere in a batch's
    journal also costs its JSON the slow encoder, ``serialize.dumps``).
    """
    entity = plan.values
    if not plan.is_new or entity is None:
        return {}
    read: list[list[Any]] = []
    for link in plan.links:
        record: list[Any] = [link.system, link.datatype, link.external_id]
        values = link.values
        if values != entity:
            values = {k: v for k, v in values.items() if v is not None}
            if values != entity:
                record.append(values)
        read.append(record)
    return {"read": read} if entity == sent else {"read": read, "entity": entity}
