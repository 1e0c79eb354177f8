"""Journal entries a crashed run left: what each interrupted write did, settled first.

A create is journalled before it is sent, so after a crash its entry says
a record may exist that no link knows of. Before a run plans anything,
each entry is settled through the same unit of work as any write
(``commit``): the system is asked which record the create made, its links
are written, or the entity is shared again if it made none. A delete a
crash interrupted or a system refused waits for the run's read
(``finish_deletes``): sent again, unless a record read since the last sync
newly refers to the record, which then lives on as for any delete a newer
reference outweighs.

The creates of one system's datatype are asked in one go where the
connector has ``recover_many`` (one listing instead of a lookup each),
else one by one (``recover_each``). A connector that finds records again
by what the create sent (no idempotency key, no marker field) can find one
that only looks like it, or several. What the store knows settles part of
that: a record linked to another entity is not this entity's. What is
still not one record is not guessed at: the create is ``Held`` for a
person, its journal entry kept, and the entity is not created again in
that system until a later run finds one record (the person deleted the
others) or none (it is created anew).

A record found again is linked as talk *wrote* it, not as it is found
(``as_written``): someone may have edited it between the crash and this
run, and its link is the state the next read is compared with. Linked as
found, with the found record's hash, the edit would be taken for the echo
of talk's own write and lost; linked as written, the next read sees it as
a change of that system, like any edit made after a sync. Whether a field
talk did not send holds an edit or the system's default, the record's
times tell (``Entity.changed_since_made``). The same holds for the records
read that a new entity was made of: their links, with what they held when
talk wrote from them, are staged for the entity's merge (``lost_commit``),
so a field emptied in one of them since is an edit, not a first reading's
empty value, which is no news.

A dry run settles the journal the same way, asking the systems (reads
only) inside its rolled-back transaction, so it plans what the run after
it will; an interrupted delete is not sent again, only its link dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from talk_core.connector import BatchRecovery, Connector, PendingCreate, Recovered, recover_each
from talk_core.errors import AmbiguousRecovery, SystemUnavailable
from talk_core.model import DataType, Entity, Link, PropertyType
from talk_core.store.base import Conflict, InboxRow, JournalEntry, StateStore
from talk_core.sync.catalog import Catalog
from talk_core.sync.commit import STOPS, Outcome, UnitOfWork
from talk_core.sync.context import InFlight, RunContext
from talk_core.sync.merge import newly_referenced
from talk_core.sync.plan import DELETED, NEWER_REFERENCE, Plan
from talk_core.sync.records import lost_rows, project, read_row
from talk_core.sync.translate import Translator
from talk_core.system import SystemSpec

log = logging.getLogger("talk.sync")


class Held(Exception):
    """A crashed create whose record is not told apart from others; the message says what to do.

    ``candidates`` are the ids of the records it could be: until it is
    settled none of them is shared as a record of its own either, or the
    one it made would reach the other systems as a new entity.
    """

    def __init__(self, message: str, candidates: tuple[str, ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


def recovered(store: StateStore, connector: Connector, entry: JournalEntry) -> Entity | None:
    """The record ``entry``'s create made, None if it made none; raises ``Held``."""
    try:
        answer: Recovered = connector.recover(entry.datatype, entry.key,
                                              entry.payload.get("properties", {}))
    except AmbiguousRecovery as exc:
        answer = exc
    return settle_answer(store, connector, entry, answer)


def settle_answer(store: StateStore, connector: Connector, entry: JournalEntry,
                  answer: Recovered) -> Entity | None:
    """What the connector's answer for ``entry`` means, given the links; raises ``Held``."""
    if isinstance(answer, AmbiguousRecovery):
        fitting = [i for i in answer.fitting if not _taken(store, entry, i)]
        others = [i for i in answer.others if not _taken(store, entry, i)]
        if len(fitting) == 1:
            return connector.get(entry.datatype, fitting[0])
        if fitting or others:
            left = fitting + others
            raise Held(_instructions(entry, answer, left), tuple(left)) from None
        return None  # every record like it is another entity's: the create made none
    if answer is not None and _taken(store, entry, answer.id):
        log.warning("journal: %s %s %s is linked to another entity; %s %s was not created",
                    entry.system, entry.datatype, answer.id, entry.global_type,
                    entry.global_id)
        return None
    return answer


def as_written(spec: SystemSpec, datatype: str, found: Entity, sent: dict[str, Any]
               ) -> Entity:
    """``found`` as talk's create left it: what talk sent, in place of what it holds now.

    Every field talk sent holds what it sent. A field talk did not send may
    hold what the system gives every new record (Invoiced names an invoice
    "Invoice") or what someone typed in since. The record tells which where
    its system gives the times it was made and last changed
    (``Entity.changed_since_made``): a record nobody changed holds defaults
    there, kept as found, for sharing them would share defaults after every
    crash; a record changed since holds edits, so such a field is taken as
    talk left it, empty, and what it holds now is news. (The change may have
    been to another field, which sends a default along: it agrees with the
    record, where a lost edit would never reach the other systems.) A record
    that tells neither time is taken as unchanged. Lines sent inline are
    matched to the found ones in order, each taken the same way, as changed
    as their parent is.
    """
    dt = spec.datatype(datatype)
    properties = _written_properties(spec, dt, found.properties, sent,
                                     found.changed_since_made)
    return Entity(found.id, properties, found.updated, found.deleted, found.created)


def _written_properties(spec: SystemSpec, dt: DataType, found: dict[str, Any],
                        sent: dict[str, Any], changed: bool) -> dict[str, Any]:
    properties = dict(found)
    parent_field = dt.child_of.parent_property if dt.child_of is not None else None
    for prop in dt.properties:
        name = prop.name
        if prop.read_only or name == dt.id_field or name == parent_field:
            continue
        if prop.type is PropertyType.CHILDREN and prop.child:
            lines, sent_lines = found.get(name), sent.get(name)
            if isinstance(lines, list) and isinstance(sent_lines, list):
                child = spec.datatype(prop.child)
                properties[name] = [
                    _written_properties(spec, child, line, sent_lines[n], changed)
                    if n < len(sent_lines) and isinstance(line, dict)
                    and isinstance(sent_lines[n], dict) else line
                    for n, line in enumerate(lines)]
            continue
        if name in sent:
            properties[name] = sent[name]
        elif changed:
            properties[name] = None  # empty as talk left it: what it holds now is an edit
    return properties


def lost_commit(store: StateStore, entry: JournalEntry) -> list[InboxRow]:
    """The new entity a crash lost the commit of, staged for its merge (``lost_rows``).

    The create of a new entity is journalled with the entity's values and
    the links of the records read that it was made of (``execute.made_of``):
    each holds what its record held when talk wrote from it. The merge
    takes them as the entity's stored values and those records' links
    (``Merge``), so the next reading of such a record is compared with what
    it held, as after any sync: a field emptied there since is an edit,
    carried to where talk wrote it, where as a first reading its empty
    values would be no news. Only what the record held is compared with,
    never what the target system gave its new record, so no default of the
    target is taken for an edit. Nothing is staged for an entity that has
    values already: a later merge took that commit's place.
    """
    payload = entry.payload
    gt, gid = entry.global_type, entry.global_id
    if "read" not in payload or store.get_globals(gt, [gid]):
        return []
    entity = payload.get("entity", payload.get("values", {}))
    return lost_rows(gt, gid, entity, [
        Link(gt, gid, system, datatype, external_id, None, held[0] if held else entity)
        for system, datatype, external_id, *held in payload["read"]])


def _taken(store: StateStore, entry: JournalEntry, external_id: str) -> bool:
    link = store.get_link(entry.system, entry.datatype, external_id, entry.global_type)
    return link is not None and link.global_id != entry.global_id


def _instructions(entry: JournalEntry, exc: AmbiguousRecovery, left: list[str]) -> str:
    system, what = entry.system, entry.global_type
    return (f"{system} {entry.datatype}: a create of {what} {entry.global_id} was interrupted, "
            f"and {len(left)} unlinked record{'s' if len(left) > 1 else ''} could be what it "
            f"made ({exc}); talk does not guess and does not create it again. Delete in "
            f"{system} those that are not this {what}: the next run links the one left if it "
            f"holds what talk sent, or creates the {what} anew if none is left")


class Recovery:
    """Settles the journal before anything else in a run; answers what stays unsettled."""

    def __init__(self, ctx: RunContext, catalog: Catalog, translator: Translator,
                 work: UnitOfWork) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.translator = translator
        self.work = work

    def run(self) -> InFlight:
        in_flight = InFlight()
        creates: dict[tuple[str, str], list[JournalEntry]] = {}
        for entry in self.store.journal_pending():
            instance = self.catalog.systems.get(entry.system)
            if instance is None:
                log.warning("journal: system %s is not configured; entry %s kept",
                            entry.system, entry.key)
                continue
            if entry.payload.get("op") == "delete":
                # decided after the run's read (``finish_deletes``); till then what the
                # record holds is no news
                in_flight.deletes.append(entry)
                in_flight.deleting.add((entry.system, entry.datatype,
                                        entry.payload["external_id"]))
                continue
            creates.setdefault((entry.system, entry.datatype), []).append(entry)
        for (system, datatype), entries in creates.items():
            self._recover_creates(self.catalog.systems[system].connector, datatype, entries,
                                  in_flight)
        return in_flight

    def _recover_creates(self, connector: Connector, datatype: str,
                         entries: list[JournalEntry], in_flight: InFlight) -> None:
        pending = [PendingCreate(e.key, e.payload.get("properties", {}),
                                 e.created_at or self.ctx.now()) for e in entries]
        many = connector.recover_many if isinstance(connector, BatchRecovery) else None
        answers: dict[str, Recovered] = {}
        system = entries[0].system
        if many is not None:
            self.ctx.check_stop()
            try:
                if not self.ctx.available(system):
                    raise self._unavailable
                answers = many(datatype, pending)
            except STOPS:
                raise
            except Exception as exc:
                for entry in entries:
                    self._not_yet(entry, exc, in_flight)
                return
        for entry, create in zip(entries, pending, strict=True):
            self.ctx.check_stop()
            try:
                if not self.ctx.available(system):
                    raise self._unavailable
                if many is None:
                    answers = recover_each(connector, datatype, [create])
                if entry.key not in answers:
                    raise LookupError(f"the connector did not answer for {entry.key}")
                found = settle_answer(self.store, connector, entry, answers[entry.key])
            except STOPS:
                raise
            except Held as held:
                self._held(entry, held, in_flight)
                continue
            except Exception as exc:
                self._not_yet(entry, exc, in_flight)
                continue
            self._settle(entry, found)

    #: what stands for the error of a system found unavailable earlier in the run
    _unavailable = SystemUnavailable("unavailable this run")

    def _not_yet(self, entry: JournalEntry, exc: Exception, in_flight: InFlight) -> None:
        """Not known whether it was made, so it is not made again this run."""
        in_flight.creates.add((entry.global_type, entry.global_id, entry.system))
        if isinstance(exc, SystemUnavailable):
            if exc is not self._unavailable:
                self.ctx.mark_unavailable(entry.system, exc)
            return  # said once for the system, not once per entry
        log.warning("journal: cannot look %s %s up yet: %s", entry.system, entry.key, exc)

    def _held(self, entry: JournalEntry, held: Held, in_flight: InFlight) -> None:
        in_flight.creates.add((entry.global_type, entry.global_id, entry.system))
        for candidate in held.candidates:
            in_flight.held[(entry.system, entry.datatype, candidate)] = (
                f"may be what an interrupted create of {entry.global_type} "
                f"{entry.global_id} made; see its dead letter")
        outcome = Outcome(entry.global_type, entry.global_id)
        outcome.fail(entry.system, entry.datatype, "", str(held))
        self.work.settle([outcome])

    def _settle(self, entry: JournalEntry, found: Entity | None) -> None:
        gt, gid, system = entry.global_type, entry.global_id, entry.system
        outcome = Outcome(gt, gid, journal_done=[entry.key])
        held = self.store.link_for(gt, gid, system)
        if held is not None and found is not None and self._replaced(held, found):
            outcome.dropped.append(held)
            held = None
        if held is not None:
            outcome.settled.add(system)
        elif found is not None:
            # linked as talk wrote it: an edit made since is news for the next read
            written = as_written(self.catalog.systems[system].spec, entry.datatype, found,
                                 entry.payload.get("properties", {}))
            outcome.links.extend(self.translator.links_for_created(entry, written))
            outcome.created.append((system, entry.datatype, written))
            outcome.found = found  # its other facets are those it has now
            # the create did happen: the letter its lost answer left is settled
            outcome.settled.add(system)
            outcome.staged.extend(lost_commit(self.store, entry))
        else:
            outcome.staged.append(InboxRow(gt, system, entry.datatype, "", kind="reshare",
                                           global_id=gid))
        self.work.settle([outcome])

    def _replaced(self, held: Link, found: Entity) -> bool:
        """Whether the create made ``found`` in place of ``held``, a record deleted since.

        A delete a newer reference outweighs creates the entity again where
        it was deleted; the crash cut off the commit that would have dropped
        the deleted record's link, whose tombstone still waits in the inbox.
        """
        if held.external_id == found.id:
            return False
        staged = self.store.inbox_reads_until(self.store.inbox_last_seq(), held.system,
                                              held.datatype, [held.external_id])
        return any(r.global_type == held.global_type and r.payload is not None
                   and r.payload.deleted for r in staged)

    def finish_deletes(self, in_flight: InFlight) -> None:
        """Decide the journalled deletes, now that the run has read what changed.

        A delete a crash interrupted or a system refused is sent again,
        unless a record read since the last sync newly refers to the record
        (``merge.newly_referenced``): a contact made in the erp for an
        account whose delete it refused. That newer reference wins, as it
        does over a delete read this run: the record is kept and its entity
        lives on (``_keep``). A delete that is still not done keeps its
        entry and link for the next run.
        """
        for entry in in_flight.deletes:
            self.ctx.check_stop()
            system = entry.system
            if not self.ctx.available(system):
                continue
            external_id = entry.payload["external_id"]
            link = self.store.get_link(system, entry.datatype, external_id, entry.global_type)
            connector = self.catalog.systems[system].connector
            if link is not None:
                referred = newly_referenced(self.store, self.catalog, self.work.refs, [link])
                if system in referred and self._keep(connector, entry, link,
                                                     referred[system]):
                    continue
            self._recover_delete(connector, entry)
        in_flight.deletes.clear()

    def _keep(self, connector: Connector, entry: JournalEntry, link: Link, why: str) -> bool:
        """Keep a record whose delete waits, for a record made since refers to it.

        Its entity is stored again with the values its link holds, the
        record as it is now is staged (an edit made meanwhile was not read
        as news), the entity is shared again (created where it was deleted),
        and a conflict on ``(deleted)`` with the policy ``newer reference``
        tells why the delete was undone. True unless the delete is to be
        sent after all (the record is gone already); a record that cannot be
        read now keeps its entry, and the next run decides again.
        """
        try:
            found = connector.get(entry.datatype, link.external_id)
        except STOPS:
            raise
        except SystemUnavailable as exc:
            self.ctx.mark_unavailable(entry.system, exc)
            return True  # decided next run; the entry stays
        except Exception as exc:
            log.warning("journal: cannot read %s %s %s to keep it yet: %s", entry.system,
                        entry.datatype, link.external_id, exc)
            return True
        if found is None:
            return False
        gt, gid = entry.global_type, entry.global_id
        gtype = self.catalog.global_types[gt]
        plan = Plan(gt, gid, dict(link.values), changed=True)
        deleted_in = entry.payload.get("deleted_in") or ["(elsewhere)"]
        conflict = Conflict(gt, gid, DELETED,
                            {**{s: "deleted" for s in deleted_in}, entry.system: why},
                            entry.system, NEWER_REFERENCE)
        outcome = Outcome(gt, gid, plan, journal_done=[entry.key])
        outcome.settled.add(entry.system)  # the letter the refused delete left is settled
        outcome.staged.append(InboxRow(gt, entry.system, entry.datatype, link.external_id,
                                       kind="reshare", global_id=gid))
        mapping, dt = self.catalog.mapping(entry.system, entry.datatype, gt)
        if mapping.accepts(found):
            values, digest = project(mapping, dt, found)
            if digest != link.hash:
                row = read_row(mapping, entry.system, dt, found, values, digest)
                row.global_id = gid
                outcome.staged.append(row)
        log.info("journal: %s %s %s is kept, not deleted: %s", entry.system, entry.datatype,
                 link.external_id, why)
        with self.store.transaction():
            self.work.open((), [(plan, conflict)])
            self.work.settle([outcome], gtype=gtype)
        return True

    def _recover_delete(self, connector: Connector, entry: JournalEntry) -> None:
        """Finish a delete a crash interrupted or a system refused: send it again.

        Deletes are idempotent. One that fails again keeps its entry and its
        link; a dry run sends none and drops the link in its rolled-back state.
        """
        external_id = entry.payload["external_id"]
        try:
            if not self.ctx.dry_run:
                connector.delete(entry.datatype, external_id)
        except STOPS:
            raise
        except SystemUnavailable as exc:
            self.ctx.mark_unavailable(entry.system, exc)
            return
        except Exception as exc:
            log.warning("journal: cannot finish deleting %s %s %s yet: %s",
                        entry.system, entry.datatype, external_id, exc)
            return
        outcome = Outcome(entry.global_type, entry.global_id, journal_done=[entry.key])
        outcome.settled.add(entry.system)  # the letter a failed try of it left is settled
        link = self.store.get_link(entry.system, entry.datatype, external_id, entry.global_type)
        # a record never linked (an entity's first reading, gone with it) is dropped as
        # one, so what waits for it goes too (``Siblings.gone``)
        outcome.dropped.append(link or Link(entry.global_type, entry.global_id, entry.system,
                                            entry.datatype, external_id))
        self.work.settle([outcome])
