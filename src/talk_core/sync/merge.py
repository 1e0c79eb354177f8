"""Merge: each global entity's staged records and stored values become a plan.

The inbox is read a batch of global entities at a time, in global id
order, with one query each for their stored values, links and detached
systems, and one per referencing property to translate references. Each
entity's newest record per system becomes an ``Observation`` in global
terms, and ``plan.plan_group`` decides what to write. The batches are
yielded one at a time: the caller executes one before the next is read,
so a batch sees the links the one before it made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import attrs

from talk_core.errors import CircuitBroken
from talk_core.globaltypes import GlobalType
from talk_core.model import Link
from talk_core.store.base import InboxRow, StateStore
from talk_core.sync.catalog import Catalog
from talk_core.sync.conflicts import is_empty
from talk_core.sync.context import RunContext
from talk_core.sync.match import key_values
from talk_core.sync.placement import ParentPlacement
from talk_core.sync.plan import Delete, DeletePolicy, Observation, Plan, plan_group
from talk_core.sync.records import ORPHANED, created_hashes, lost_links, still_owned
from talk_core.sync.references import References, Unresolved
from talk_core.sync.waiting import PARENT

log = logging.getLogger("talk.sync")


@attrs.define(slots=True)
class Planned:
    """A plan with the inbox rows it consumes and the match keys its entity had."""

    plan: Plan
    seqs: list[int]
    keys_before: tuple[Any, ...] = ()


def _global_id(row: InboxRow) -> str | None:
    return row.global_id


def check_breaker(ctx: RunContext, catalog: Catalog, global_type: str) -> None:
    """Stop the run before a merge that would delete too much of ``global_type``."""
    settings = catalog.settings
    if settings.deletes is not DeletePolicy.PROPAGATE:
        return
    for system, deletes in ctx.store.inbox_deletes(global_type).items():
        linked = ctx.store.count_links(global_type, system)
        limit = max(settings.max_delete_fraction * linked, settings.min_delete_count)
        if deletes > limit:
            raise CircuitBroken(
                f"{system} would delete {deletes} of {linked} linked {global_type} records, "
                f"more than max_delete_fraction {settings.max_delete_fraction:g}; "
                "nothing was deleted. Check the source, or raise the limit for one run."
            )


class Merge:
    """Plans for one global type, a batch at a time (``batches``)."""

    def __init__(self, ctx: RunContext, catalog: Catalog, refs: References,
                 gtype: GlobalType) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.refs = refs
        self.gtype = gtype
        self.targets = catalog.targets(gtype.name)
        self.keys = catalog.keys(gtype)
        self.accept = catalog.accepts(gtype.name)
        self.placement = self._placement()
        #: postponed parents met on the way (``parents``), created once the type is merged
        self.parents: list[InboxRow] = []

    def _placement(self) -> ParentPlacement | None:
        """Where lines' parents are, for a global type of lines; None for other types."""
        gtype = self.gtype
        if gtype.parent is None:
            return None
        parent_type = gtype.property(gtype.parent).references[0]
        return ParentPlacement(self.store, gtype.parent, parent_type,
                               self.catalog.targets(parent_type),
                               self.catalog.accepts(parent_type))

    def batches(self) -> Iterator[list[Planned]]:
        store, gt, placement = self.store, self.gtype.name, self.placement
        batch_size = self.catalog.settings.batch_size
        after: str | None = None
        while True:
            rows = store.inbox_groups(gt, after, batch_size)
            if not rows:
                return
            gids = list(dict.fromkeys(r.global_id for r in rows if r.global_id))
            after = gids[-1]
            currents = store.get_globals(gt, gids)
            links = store.links_of_many(gt, gids)
            detached = store.detached_of(gt, gids)
            self.refs.reset()
            if placement is not None:
                placement.reset()
            self.refs.prefetch_rows(gt, rows, self.catalog.refs_of)
            batch: list[Planned] = []
            detached_from: dict[str, set[str]] = {}
            for detached_gid, system in detached:
                detached_from.setdefault(detached_gid, set()).add(system)
            for gid, group in groupby(rows, key=_global_id):
                assert gid is not None
                members = list(group)
                kinds = {r.kind for r in members}  # one look for the rare kinds below
                if PARENT in kinds:
                    self.parents.extend(r for r in members if r.kind == PARENT)
                    members = [r for r in members if r.kind != PARENT]
                    if not members:
                        continue
                if ORPHANED in kinds:
                    orphaned = self._orphaned(gid, members)
                    if orphaned is not None:
                        batch.append(orphaned)
                    continue
                planned = self._plan(gid, members, currents.get(gid), links.get(gid, []),
                                     frozenset(detached_from.get(gid, ())))
                if planned is not None:
                    batch.append(planned)
            yield batch

    def _plan(self, gid: str, rows: list[InboxRow], current: dict[str, Any] | None,
              links: list[Link], detached: frozenset[str]) -> Planned | None:
        gt, catalog = self.gtype.name, self.catalog
        by_system = {link.system: link for link in links}
        latest: dict[str, InboxRow] = {}
        seqs: list[int] = []
        for row in rows:
            assert row.seq is not None
            seqs.append(row.seq)
            if row.kind == "read":
                latest[row.system] = row
        stored = current
        if current is None:
            current = _lost_commit(rows, latest, by_system)
        observations = []
        first_new = current is None
        deferred: list[int] = []
        created = created_hashes(rows)
        held: list[Observation] = []  # facets of records talk created (see ``siblings``)
        for system, row in latest.items():
            record = row.payload
            assert record is not None
            link = by_system.get(system)
            if link is not None and link.external_id != row.external_id:
                log.warning("%s %s %s shares its keys with %s; left unlinked", system,
                            row.datatype, row.external_id, link.external_id)
                continue
            if record.deleted:
                observations.append(Observation(system, row.datatype, row.external_id, {},
                                                None, deleted=True))
                continue
            assert record.values is not None
            try:
                values = self.refs.to_global(gt, record.values,
                                             catalog.refs_of(system, row.datatype, gt), system)
            except Unresolved as exc:
                assert row.seq is not None
                self.store.inbox_defer(row.seq, str(exc))
                deferred.append(row.seq)
                self.ctx.result.deferred += 1
                continue
            mapping, _dt = catalog.mapping(system, row.datatype, gt)
            if link is None and created.get((system, row.external_id), "") == record.hash:
                held.append(Observation(system, row.datatype, row.external_id, values,
                                        record.hash, record.updated,
                                        defaults=mapping.defaults,
                                        ignored=catalog.ignored(gt, system)))
                continue
            adopted = link is None and not first_new
            if link is None:
                first_new = False
            observations.append(Observation(
                system, row.datatype, row.external_id, values, record.hash, record.updated,
                adopted=adopted, defaults=mapping.defaults, ignored=catalog.ignored(gt, system),
            ))
        own = _own_records(gid, gt, held, current, observations, by_system)
        known_before = current
        lacking = _lacking(held, current) if own else {}
        if lacking:
            assert current is not None
            current = {**current, **lacking}
        if current is None and not observations:
            self.store.inbox_delete([s for s in seqs if s not in deferred])
            return None
        referenced = None
        if catalog.settings.deletes is DeletePolicy.PROPAGATE and any(
                o.deleted for o in observations):
            deleting = {o.system for o in observations if o.deleted}
            # the entity's records never linked (its first reading, the records a
            # crash lost the commit of) are deleted with it too (``plan_group``): a
            # record that refers to one and is not its belonging keeps it as well
            stored_in = {link.system for link in links}
            first = [Link(gt, gid, o.system, o.datatype, o.external_id, o.hash, o.values)
                     for o in observations if not o.deleted and not o.adopted
                     and o.system not in stored_in and o.system not in deleting]
            referenced = newly_referenced(
                self.store, catalog, self.refs,
                [link for link in links if link.system not in deleting], first)
        plan = plan_group(
            global_type=gt, global_id=gid, current=current, links=by_system,
            observations=observations, targets=self.targets, resolver=catalog.resolver,
            policy=catalog.policy, delete_policy=catalog.settings.deletes, detached=detached,
            accept=self.accept, parent_in=self.placement, referenced=referenced,
        )
        plan.links.extend(own)
        if stored is None and known_before is not None:
            plan.is_new = plan.changed = True  # a lost commit's entity, stored at last
        if lacking and not plan.deleted:
            plan.changed = True  # the values the entity lacked are stored with it
        if known_before is not None:
            known = known_before
        else:
            known = next((o.values for o in observations if not o.adopted and not o.deleted), {})
        return Planned(plan, [s for s in seqs if s not in deferred], key_values(known, self.keys))

    def _orphaned(self, gid: str, rows: list[InboxRow]) -> Planned | None:
        """A record whose owner talk deleted (``Siblings.gone``): deleted where it is.

        Only while its latest reading still names that owner: one that names
        another since (read again after ``Identify`` gave it this entity) is
        staged again, to be identified as any new reading, and one deleted
        meanwhile leaves nothing to do.
        """
        gt = self.gtype.name
        mark = next(r for r in rows if r.kind == ORPHANED)
        seqs = [r.seq for r in rows if r.seq is not None]
        readings = [r for r in rows if r.kind == "read" and r.system == mark.system
                    and r.external_id == mark.external_id]
        latest = readings[-1] if readings else None
        if latest is not None and still_owned(mark, latest):
            assert latest.payload is not None
            record = Link(gt, gid, mark.system, mark.datatype, mark.external_id,
                          latest.payload.hash)
            return Planned(Plan(gt, gid, None, is_new=True, deleted=True,
                                actions=[Delete(mark.system, record)]), seqs)
        self.store.inbox_delete(seqs)
        if latest is not None and latest.payload is not None and not latest.payload.deleted:
            self.store.stage([InboxRow(gt, mark.system, mark.datatype, mark.external_id,
                                       latest.payload)])
        return None


def _lost_commit(rows: list[InboxRow], latest: dict[str, InboxRow],
                 by_system: dict[str, Link]) -> dict[str, Any] | None:
    """The values of a new entity whose commit a crash lost, if ``rows`` hold them.

    Recovery stages what that commit would have stored (``recovery.lost_commit``):
    the entity's values, taken as its stored values, and the links of the
    records read that it was made of, put into ``by_system``, so that each
    record's reading now is compared with what it held when talk wrote from
    it. Only for records read in this merge and linked nowhere since: their
    readings, waiting since the crash or read again after it, are what the
    commit would have consumed. None where no such record is read. A record
    the collector linked to the entity itself, gone since (``_orphans``:
    its link written as that commit would have, holding nothing), counts as
    linked nowhere: the entity's values are still the commit's, kept where a
    newer reference keeps the entity, not lost with the record.
    """
    values, lost = lost_links(rows)
    if values is None:
        return None
    found = {system: link for system, link in lost.items()
             if _unlinked(by_system.get(system), link) and system in latest
             and (latest[system].datatype, latest[system].external_id)
             == (link.datatype, link.external_id)}
    if not found:
        return None
    by_system.update(found)
    return values


def _unlinked(held: Link | None, lost: Link) -> bool:
    """Whether ``held`` leaves the record of ``lost`` linked nowhere but as ``_orphans`` did."""
    return held is None or (
        (held.datatype, held.external_id) == (lost.datatype, lost.external_id)
        and not held.values)


def newly_referenced(store: StateStore, catalog: Catalog, refs: References,
                     links: list[Link], first: list[Link] | None = None) -> dict[str, str]:
    """Systems whose linked record a record read since the last sync newly refers to.

    A reference is new when the referring record is not linked yet, or
    its link held another reference there: a record made (or re-pointed)
    after the sync that the delete came after. An old reference is no
    reason to keep a deleted entity: the delete wins over it as before.
    The answer names the referring record per system. A record found so
    is remembered for the run: the facets of one record are merged one
    global type after the other, and by the turn of a later one (a ledger
    customer's location, after the person naming the customer) the
    referring reading has been merged and left the inbox, while deleting
    that facet would delete the record the earlier facet kept. A record's
    other facet naming the record itself (an Invoiced customer's own
    address) is no reference to it: the record is what is being deleted.

    ``first``: an entity's records never linked (its first reading, or the
    records a crash lost the commit of). A record naming one of them
    through its match keys (an address waiting for its account) belongs
    to it and goes with it (``Siblings.gone``) rather than keeping it; a
    record that only refers to it (a quote) keeps it, as for a linked one.
    """
    found: dict[str, str] = {}
    owned = {(link.system, link.datatype, link.external_id) for link in first or ()}
    for link in [*links, *(first or ())]:
        remembered = refs.newly_referred.get((link.system, link.datatype, link.external_id))
        if remembered is not None:
            found[link.system] = remembered
            continue
        for ref_gt, ref_dt, prop in catalog.referrers(link.system, link.datatype):
            if (link.system, link.datatype, link.external_id) in owned \
                    and prop in catalog.key_refs(link.system, ref_dt, ref_gt):
                continue
            for row in store.inbox_referrers(link.system, ref_gt, prop, [link.external_id]):
                if row.datatype != ref_dt or row.payload is None or row.payload.deleted:
                    continue
                if row.datatype == link.datatype and row.external_id == link.external_id:
                    continue  # the record's own facet (its address) keeps nothing alive
                held = store.get_link(link.system, row.datatype, row.external_id, ref_gt)
                if held is not None and _same_reference(refs, held, prop, link):
                    continue
                found[link.system] = (f"{row.datatype} {row.external_id} refers to "
                                      f"{link.datatype} {link.external_id}")
                refs.newly_referred[(link.system, link.datatype, link.external_id)] = \
                    found[link.system]
                break
            if link.system in found:
                break
    return found


def _same_reference(refs: References, held: Link, prop: str, target: Link) -> bool:
    """Whether ``held`` already referred through ``prop`` to ``target``'s record."""
    try:
        now = refs.to_global(held.global_type, {prop: target.external_id},
                             {prop: target.datatype}, target.system)
    except Unresolved:
        return False
    return bool(held.values.get(prop) == now[prop])


def _lacking(held: list[Observation], current: dict[str, Any] | None) -> dict[str, Any]:
    """What talk's own new record holds that the known entity never had.

    An entity first linked with an empty value holds none for it (no news),
    as an Exact address read without a city; the record talk then created
    for a sibling facet (an Invoiced customer made of the account) holds the
    account's city in the one field its location reads too. As for a new
    entity, that fills what the entity lacks, whether the create came in
    the entity's first run or a later one (after it failed once): kept
    apart, the two systems would hold two cities for one address.
    """
    if current is None:
        return {}
    return {k: v for o in held for k, v in o.values.items()
            if k not in current and not is_empty(v) and k not in o.ignored}


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
    if current is None:
        # a new entity: what talk's own record holds fills what the record read
        # lacks (an empty value on a first link is no news), so the two agree
        held_values = {k: v for o in held for k, v in o.values.items() if not is_empty(v)}
        if held_values:
            for obs in observations:
                if not obs.deleted:
                    obs.defaults = {**held_values, **obs.defaults}
    own = [Link(global_type, gid, o.system, o.datatype, o.external_id, o.hash, o.values)
           for o in held]
    by_system.update((link.system, link) for link in own)
    return own
