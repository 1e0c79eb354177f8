"""The one unit of work: journal, send, then settle everything a write produced in one commit.

Every write talk makes goes through here: the plain writes of a batch of
plans (``execute``), a parent created with its lines (``parents``), and a
create a crash left in the journal (``recovery``, where asking the system
what the create made stands in for sending it). The steps are always:

1. ``open``: creates (and deletes) are journalled, with the conflicts the
   plans met, in one commit before anything is sent, so a crash after the
   system's answer is recovered by asking the system, not by creating
   again; a conflict is never hidden by the echo of its own write.
2. ``send``: the call; its answer becomes links, its failure a dead letter.
   A create whose outcome is unknown (a transient failure) keeps its journal
   entry for recovery; one that is known not made (refused, or ``NotSent``:
   it never left the machine) has its entry settled.
3. ``settle``: links, the created record's sibling facets, merged values,
   letters, the journal entries settled, rows staged and the inbox rows
   consumed, all in one transaction.

A dry run takes the same steps inside the store's transaction that is
rolled back at its end, but ``send`` calls no system: it answers a create
with the record the system would hold (the payload, under a placeholder id
such as ``(new 1)``), so that links, sibling facets and staged rows are
settled as in a real run and the later passes of the dry run plan what the
real run will do with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from talk_core.connector import Connector
from talk_core.errors import (
    AbandonedInFlight,
    Interrupted,
    NotSent,
    StopRun,
    SystemUnavailable,
    TransientError,
)
from talk_core.globaltypes import GlobalType
from talk_core.model import Entity, Link, PropertyType
from talk_core.store.base import Conflict, DeadLetter, InboxRow, JournalEntry
from talk_core.sync.catalog import Catalog
from talk_core.sync.context import RunContext
from talk_core.sync.letters import Letters, write_letter
from talk_core.sync.match import key_values, match_keys
from talk_core.sync.plan import Create, Delete, Plan, Update
from talk_core.sync.references import References
from talk_core.sync.siblings import Siblings
from talk_core.sync.translate import Translator

#: Exceptions that stop the run; a write they interrupt counts as not sent.
#: why a reshare of writes this run did not send waits in the inbox (``talk status``)
UNSENT = "writes not sent this run (a system was unavailable, or the run stopped)"

STOPS = (StopRun, Interrupted)


@attrs.define(slots=True)
class Write:
    """A planned action in the system's terms, ready to send."""

    action: Create | Update | Delete
    datatype: str
    ident: str
    payload: dict[str, Any]
    entry: JournalEntry | None
    sent: bool = False


@attrs.define(slots=True)
class Outcome:
    """What one entity's writes produced, committed together (``settle``).

    ``plan``: the merged plan whose values are stored with it (plain
    writes); None for a parent created with its lines or a recovered create.
    """

    global_type: str
    global_id: str
    plan: Plan | None = None
    seqs: list[int] = attrs.field(factory=list)
    keys_before: tuple[Any, ...] = ()
    links: list[Link] = attrs.field(factory=list)
    dropped: list[Link] = attrs.field(factory=list)
    #: links of records a delete did not remove (refused, failed, unsent): kept, so the
    #: record is not left unlinked while its journalled delete waits to be sent again
    kept: list[Link] = attrs.field(factory=list)
    journal_done: list[str] = attrs.field(factory=list)
    staged: list[InboxRow] = attrs.field(factory=list)
    #: systems written: a letter this run knows of there is settled
    written: set[str] = attrs.field(factory=set)
    #: systems whose letters for the entity are settled whatever this run knows
    settled: set[str] = attrs.field(factory=set)
    letters: list[tuple[DeadLetter, bool]] = attrs.field(factory=list)
    incomplete: bool = False
    #: records created: (system, datatype, the system's answer), for their other facets
    created: list[tuple[str, str, Entity]] = attrs.field(factory=list)
    #: a create found again after a crash: the record as it is now (see ``Siblings.settle``)
    found: Entity | None = None
    #: records updated, the same way: their other facets read again from the answer
    updated: list[tuple[str, str, Entity]] = attrs.field(factory=list)

    def fail(self, system: str, datatype: str, external_id: str, error: str, *,
             soon: bool = False) -> None:
        """A write of the entity failed: a letter, written with the outcome."""
        self.letters.append((write_letter(self.global_type, self.global_id, system, datatype,
                                          external_id, error), soon))


def record_plan(ctx: RunContext, gt: str, gid: str, action: Create | Update | Delete,
                created: str | None = None) -> None:
    """Count a write made (or, in a dry run, list the write a run would make).

    ``created``: the id a dry run gave the record a create would make, so
    that the later writes it plans for that record name it.
    """
    if isinstance(action, Create):
        system, datatype, what, ident = action.system, action.datatype, "create", created
    else:
        system, datatype = action.system, action.link.datatype
        what = "update" if isinstance(action, Update) else "delete"
        ident = action.link.external_id
    ctx.result.count(system, datatype, what)
    if ctx.dry_run:
        entry: dict[str, Any] = {"action": what, "system": system, "datatype": datatype,
                                 "global_type": gt, "global_id": gid}
        if ident is not None:
            entry["id"] = ident
        if not isinstance(action, Delete):
            entry["values"] = action.values
        ctx.result.planned.append(entry)


class Rehearsal:
    """What a system would answer to the writes of a dry run, which sends none.

    A create is answered with the record as talk sends it, under an id no
    system gives, ``(new 1)``, ``(new 2)`` … (one per record made, lines
    inline included), so that what refers to it reads as the new record.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.made = 0
        #: the records this dry run made, by their placeholder ids
        self.records: dict[str, Entity] = {}

    def _new_id(self) -> str:
        self.made += 1
        return f"(new {self.made})"

    def create(self, system: str, datatype: str, payload: dict[str, Any],
               updated: datetime) -> Entity:
        """The record ``payload`` would make; lines sent inline get ids of their own."""
        ident = self._new_id()
        properties = dict(payload)
        spec = self.catalog.systems[system].spec
        for prop in spec.datatype(datatype).properties:
            if prop.type is PropertyType.REFERENCE and prop.read_only \
                    and prop.reference == datatype:
                properties[prop.name] = ident  # the record itself (an address's owner)
            lines = properties.get(prop.name)
            if prop.type is PropertyType.CHILDREN and prop.child and isinstance(lines, list):
                id_field = spec.datatype(prop.child).id_field
                properties[prop.name] = [{**line, id_field: self._new_id()} for line in lines]
        made = self.records[ident] = Entity(ident, properties, updated)
        return made

    def answer(self, connector: Connector, datatype: str, ident: str,
               payload: dict[str, Any]) -> Entity | None:
        """The record an update would answer: as it is now (a read), with what talk writes.

        Only asked where the record has other facets, which the real run
        settles from the answer; a record the dry run itself made is
        answered from what it would have been made with.
        """
        current = self.records.get(ident) or connector.get(datatype, ident)
        if current is None:
            return None
        return Entity(current.id, {**current.properties, **payload}, current.updated)

    @staticmethod
    def update(action: Update) -> Link:
        """The link after an update: what the record held, with what talk writes."""
        return attrs.evolve(action.link, values={**action.link.values, **action.values})


class UnitOfWork:
    def __init__(self, ctx: RunContext, catalog: Catalog, letters: Letters, refs: References,
                 translator: Translator) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.letters = letters
        self.refs = refs
        self.translator = translator
        self.siblings = Siblings(ctx.store, catalog, translator)
        #: a dry run's stand-in for the systems; None in a real run
        self.rehearsal = Rehearsal(catalog) if ctx.dry_run else None

    def open(self, entries: Iterable[JournalEntry],
             conflicts: Iterable[tuple[Plan, Conflict]] = ()) -> None:
        """Journal the writes about to be sent, and the conflicts met, durably."""
        store, result = self.store, self.ctx.result
        with store.transaction():
            for plan, conflict in conflicts:
                conflict.run_id = result.run_id
                store.add_conflict(conflict)
                result.conflicts.append({
                    "global_type": plan.global_type, "global_id": plan.global_id,
                    "property": conflict.property, "values": conflict.values,
                    "winner": conflict.winner, "policy": conflict.policy,
                })
            store.journal_add_many(entries)

    def send(self, connector: Connector, outcome: Outcome, write: Write) -> bool:
        """Make one write; its answer or its failure goes into ``outcome``. True if it was made.

        Stops (``StopRun``, ``Interrupted``) propagate with the write marked unsent,
        but for a create abandoned in flight (``AbandonedInFlight``), which may
        have been made: its journal entry stays for the next run's recovery.
        A system that is unavailable this run (``RunContext.mark_unavailable``)
        is not called: the write stays unsent, to be shared again next run. A
        write that finds it so is unsent too, unless it may have been made (a
        create or delete that reached the system): its journal entry then
        stays for the next run's recovery. Neither costs a dead letter.
        """
        gt, gid, action = outcome.global_type, outcome.global_id, write.action
        rehearsal = self.rehearsal
        if not self.ctx.available(action.system):
            write.sent = False
            _keep(outcome, action)
            return False
        write.sent = True
        created: str | None = None
        try:
            if isinstance(action, Delete):
                if rehearsal is None:
                    connector.delete(write.datatype, write.ident)
                outcome.dropped.append(action.link)
            elif isinstance(action, Update):
                if rehearsal is not None:
                    outcome.links.append(rehearsal.update(action))
                    if self.catalog.facets(action.system, write.datatype, gt):
                        # its other facets change too: plan what the real run's answer
                        # makes them do, from the record as it is now plus the write
                        answer = rehearsal.answer(connector, write.datatype, write.ident,
                                                  write.payload)
                        if answer is not None:
                            outcome.updated.append((action.system, write.datatype, answer))
                else:
                    entity = connector.update(write.datatype, write.ident, write.payload)
                    outcome.links.append(self.translator.link_from(
                        gt, gid, action.system, write.datatype, entity, action.values,
                        action.link.values))
                    outcome.updated.append((action.system, write.datatype, entity))
            else:
                assert write.entry is not None
                if rehearsal is not None:
                    entity = rehearsal.create(action.system, write.datatype, write.payload,
                                              self.ctx.now())
                else:
                    entity = connector.create(write.datatype, write.payload,
                                              key=write.entry.key)
                outcome.links.extend(self.translator.links_for_created(write.entry, entity))
                outcome.created.append((action.system, write.datatype, entity))
                created = entity.id
        except STOPS as exc:
            # a create abandoned in flight may have been made, as after a connection lost
            # mid-write: its journal entry stays for the next run's recovery
            write.sent = isinstance(action, Create) and isinstance(exc, AbandonedInFlight) \
                and exc.may_have_been_made
            _keep(outcome, action)
            raise
        except SystemUnavailable as exc:
            self.ctx.mark_unavailable(action.system, exc)
            # a create that may have been made keeps its journal entry: recovery asks
            write.sent = isinstance(action, Create) and not isinstance(exc, NotSent)
            _keep(outcome, action)
            return False
        except Exception as exc:
            # the journal keeps what may still be done: a create that may have been
            # made (found by the next run's recovery), and a delete that did not go
            # through, refused or not (sent again by the next run's recovery, its
            # link kept till then, so the record is never left unlinked)
            kept = isinstance(action, Delete) or (
                isinstance(exc, TransientError) and isinstance(action, Create)
                and not isinstance(exc, NotSent))
            _keep(outcome, action)
            if write.entry is not None and not kept:
                outcome.journal_done.append(write.entry.key)
            what = type(action).__name__.lower()
            outcome.fail(action.system, write.datatype, write.ident,
                         f"{action.system} {write.datatype} {write.ident or '(new)'}: {what} "
                         f"failed: {type(exc).__name__}: {exc}")
            return False
        if write.entry is not None:
            outcome.journal_done.append(write.entry.key)
        outcome.written.add(action.system)
        record_plan(self.ctx, gt, gid, action, created)
        return True

    def settle(self, outcomes: list[Outcome], *, gtype: GlobalType | None = None,
               carry: bool = False) -> None:
        """Commit what ``outcomes`` produced in one transaction.

        ``gtype`` is the global type of outcomes with a plan. ``carry``:
        inside the store's ``carrying``, committed with the next transaction.
        """
        with self.store.transaction(carry=carry):
            self._write(outcomes, gtype)

    def _write(self, outcomes: list[Outcome], gtype: GlobalType | None) -> None:
        """Everything a batch produced, written with one statement per kind where possible."""
        store, letters = self.store, self.letters
        changed: list[tuple[str, dict[str, Any]]] = []
        links: list[Link] = []
        drops: list[Link] = []
        staged: list[InboxRow] = []
        done: list[str] = []
        seqs: list[int] = []
        keys = self.catalog.keys(gtype) if gtype is not None else ()
        for outcome in outcomes:
            plan, gt, gid = outcome.plan, outcome.global_type, outcome.global_id
            deleted = False
            if plan is not None:
                drops.extend(plan.drop_links)
                deleted = plan.deleted
                if deleted:
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
                    for system in plan.in_sync:
                        letters.clear_write(system, gt, gid)
            if not deleted:
                drops.extend(outcome.dropped)
            links.extend(outcome.links)
            done.extend(outcome.journal_done)
            for system in outcome.written:
                letters.clear_write(system, gt, gid)
            for system in outcome.settled:
                letters.settle_write(system, gt, gid)
            staged.extend(outcome.staged)
            if outcome.incomplete and not deleted:
                # deferred: what was not sent (the run stopped, or a system was
                # unavailable) waits for the next run, not for another round of this one
                staged.append(InboxRow(gt, "", "", "", kind="reshare", global_id=gid,
                                       deferred=UNSENT))
            seqs.extend(outcome.seqs)
        kept = {_link_key(link) for outcome in outcomes for link in outcome.kept}
        for link in drops:
            if kept and _link_key(link) in kept:
                continue
            store.delete_link(link)
            self.refs.forget(link.system, link.global_id)
        if gtype is not None:
            store.put_globals(gtype.name, changed)
            if gtype.parent:
                store.set_parents(gtype.name,
                                  [(gid, values.get(gtype.parent)) for gid, values in changed])
        if links:
            store.put_links(links)
        for outcome in outcomes:
            for system, datatype, entity in outcome.created:
                self.siblings.settle(outcome.global_type, outcome.global_id, system, datatype,
                                     entity, now=outcome.found)
            for system, datatype, entity in outcome.updated:
                self.siblings.refresh(outcome.global_type, outcome.global_id, system,
                                      datatype, entity)
            for link in outcome.dropped:
                self.siblings.gone(link)
            for letter, soon in outcome.letters:
                letters.add(letter, soon=soon)
        if done:
            store.journal_remove_many(done)
        if staged:
            store.stage(staged)
        if seqs:
            store.inbox_delete(seqs)


def _keep(outcome: Outcome, action: Create | Update | Delete) -> None:
    """A delete that did not remove its record keeps the record's link."""
    if isinstance(action, Delete):
        outcome.kept.append(action.link)


def _link_key(link: Link) -> tuple[str, str, str, str]:
    return (link.global_type, link.system, link.datatype, link.external_id)
