"""Sibling facets: the other global types a record talk just created also carries.

One system record can be several global entities at once, one per facet
mapping of its datatype (an Invoiced customer is an organisation and,
through its address, a location). Talk creates such a record through one
facet; the others exist from that moment on, holding what talk wrote. If
they were left to the next read they would be linked by their match keys
as records found in the system ("adopted"), and an edit made there in
between would be taken for a first-link disagreement instead of a change.

So, in the commit of the create (and of a create recovered from the
journal, and of a dry run's rehearsed create, whose record is what talk
would send), each other facet the new record has is settled at once:

- when a source record of the created entity (the same record in another
  system) carries that facet too, it is already linked, and the match keys
  do not tell the two facets apart (an account's own visit address is not
  the invoice address of the customer it was made from), the new record's
  facet is linked to the same global entity, with the hash and values of
  the record as created, and the entity is staged to be shared again, so
  the facet's own pass in this run updates the record where the entity's
  values differ;
- otherwise the facet is staged as if just read, marked ``created``, so the
  facet's pass in this same run gives it its global entity (the source's
  facet, staged in the same inbox, by the facet's match keys, or a new
  entity), where the merge (``merge.py``) takes it as talk's own record rather than
  as news from the system.

A record talk *updates* or *deletes* through one facet changes its other
facets too (a customer's address written as organisation data is also its
location's address). The system's answer is a fresh reading of the record,
so in the same commit each other facet is read from it (``refresh``,
``gone``) and staged where it no longer holds what its link says: the
facet's pass in this run (or, for a type already passed, the engine's next
round) carries the change on, instead of the next run reading it as news.
A record talk deletes also takes along the never-linked readings that wait
for it as their owner (``_belongings``): nothing else would ever decide them.
"""

from __future__ import annotations

import logging
from typing import Any

from talk_core.mapping import ConversionError, Mapping
from talk_core.model import Entity, Link
from talk_core.store.base import InboxRow, StateStore
from talk_core.sync.catalog import Catalog
from talk_core.sync.match import match_keys
from talk_core.sync.records import orphan_row, project, read_row, tombstone_row
from talk_core.sync.references import Unresolved
from talk_core.sync.translate import Translator

log = logging.getLogger("talk.sync")


class Siblings:
    """Settles the other facets of records talk creates; called inside the create's commit."""

    def __init__(self, store: StateStore, catalog: Catalog, translator: Translator) -> None:
        self.store = store
        self.catalog = catalog
        self.translator = translator

    def settle(self, global_type: str, global_id: str, system: str, datatype: str,
               entity: Entity, *, now: Entity | None = None) -> None:
        """Link or stage every other facet of ``entity``, just created as ``global_id``.

        Runs after the create's own link is stored, so a facet that refers
        to its own record (a customer's address naming the customer) turns
        that reference into the created entity's global id. ``now``: the
        record as it is now, where ``entity`` is as talk wrote it (a create
        found again after a crash): a facet it has left since (a company
        turned person) is not its own any more.
        """
        facets = self.catalog.facets(system, datatype, global_type)
        if not facets:
            return
        dt = self.catalog.systems[system].spec.datatype(datatype)
        sources: list[Link] | None = None
        staged: list[InboxRow] = []
        for mapping in facets:
            other = mapping.global_type
            if not mapping.accepts(entity) or (now is not None and not mapping.accepts(now)):
                continue
            if self.store.get_link(system, datatype, entity.id, other) is not None:
                continue
            try:
                values, digest = project(mapping, dt, entity)
            except ConversionError as exc:
                log.warning("%s %s %s: its %s facet cannot be read yet: %s",
                            system, datatype, entity.id, other, exc)
                continue
            if sources is None:
                sources = [link for link in self.store.links_of(global_type, global_id)
                           if link.system != system]
            twin = self._twin(other, sources)
            if twin is not None and self._told_apart(mapping, system, datatype, values, twin):
                twin = None
            if twin is None:
                row = read_row(mapping, system, dt, entity, values, digest)
                assert row.payload is not None
                row.payload.created = True
                staged.append(row)
            elif self.store.link_for(other, twin, system) is None:
                self.store.put_link(self.translator.link_from(other, twin, system, datatype,
                                                              entity, {}))
                # the facet's pass then updates the record where the entity differs
                staged.append(InboxRow(other, system, datatype, entity.id, kind="reshare",
                                       global_id=twin))
        if staged:
            self.store.stage(staged)

    def refresh(self, global_type: str, global_id: str, system: str, datatype: str,
                entity: Entity) -> None:
        """Stage the other facets of ``entity``, just updated through ``global_type``.

        A linked facet is staged, as read, where the answer projects
        differently from its link, or where a reading of it is still
        waiting in the inbox (that reading predates the write and must not
        be merged as the record's state). An unlinked facet is one the
        write made (or that was never read): it is settled as a created
        record's facet is (``settle``).
        """
        facets = self.catalog.facets(system, datatype, global_type)
        if not facets:
            return
        dt = self.catalog.systems[system].spec.datatype(datatype)
        staged: list[InboxRow] = []
        unlinked = False
        for mapping in facets:
            other = mapping.global_type
            if not mapping.accepts(entity):
                continue
            link = self.store.get_link(system, datatype, entity.id, other)
            if link is None:
                unlinked = True
                continue
            try:
                values, digest = project(mapping, dt, entity)
            except ConversionError as exc:
                log.warning("%s %s %s: its %s facet cannot be read after the update: %s",
                            system, datatype, entity.id, other, exc)
                continue
            if digest == link.hash and self.store.inbox_claimant(
                    other, link.global_id, system) != entity.id:
                continue
            row = read_row(mapping, system, dt, entity, values, digest)
            row.global_id = link.global_id
            staged.append(row)
        if staged:
            self.store.stage(staged)
        if unlinked:
            self.settle(global_type, global_id, system, datatype, entity)

    def gone(self, deleted: Link) -> None:
        """Stage the other facets of a record talk deleted as deleted too, and its belongings."""
        facets = self.catalog.facets(deleted.system, deleted.datatype, deleted.global_type)
        staged: list[InboxRow] = []
        for mapping in facets:
            link = self.store.get_link(deleted.system, deleted.datatype, deleted.external_id,
                                       mapping.global_type)
            if link is not None:
                row = tombstone_row(mapping.global_type, deleted.system, deleted.datatype,
                                    deleted.external_id)
                row.global_id = link.global_id
                staged.append(row)
        staged.extend(self._belongings(deleted))
        if staged:
            self.store.stage(staged)

    def _belongings(self, deleted: Link) -> list[InboxRow]:
        """Marks for the never-linked readings that wait for ``deleted`` as their owner.

        A reading whose match keys name a record (an address's account) is
        that record's: it waits until the record is linked. Talk deleting
        the record (an account made of a company that is a person now, its
        link lost to a crash) means it never will be, and no run would look
        at the reading again. Had the two been linked, the owner's entity
        going would have taken the address's location with it; so each such
        record is marked (``orphan_row``), and its type's pass gives it an
        entity of its own (``Identify``) and deletes it where it is
        (``Merge``). Only a record that is nothing else: an Invoiced contact
        is a person too, whatever its postal address's customer, and a
        mapping that keeps its records from deletes made elsewhere keeps
        them from this one. A linked record is left to its entity's own
        deletes, a reference that is no part of the keys (a contact's
        account) to the record's next edit, and the deleted record's own
        facets to ``gone``.
        """
        store, catalog, system = self.store, self.catalog, deleted.system
        found: dict[tuple[str, str, str], dict[str, str]] = {}
        for ref_gt, ref_dt, prop in catalog.referrers(system, deleted.datatype):
            if prop not in catalog.key_refs(system, ref_dt, ref_gt) \
                    or catalog.facets(system, ref_dt, ref_gt) \
                    or not catalog.mapping(system, ref_dt, ref_gt)[0].deletes:
                continue
            for row in store.inbox_referrers(system, ref_gt, prop, [deleted.external_id]):
                if row.datatype != ref_dt or row.payload is None or row.payload.deleted \
                        or (row.datatype == deleted.datatype
                            and row.external_id == deleted.external_id) \
                        or store.get_link(system, ref_dt, row.external_id, ref_gt) is not None:
                    continue
                found.setdefault((ref_gt, ref_dt, row.external_id), {})[prop] = \
                    deleted.external_id
        for (_gt, datatype, external_id) in found:
            log.info("%s %s %s: its owner %s %s was deleted; it goes too", system, datatype,
                     external_id, deleted.datatype, deleted.external_id)
        return [orphan_row(gt, system, datatype, external_id, gone)
                for (gt, datatype, external_id), gone in found.items()]

    def _told_apart(self, mapping: Mapping, system: str, datatype: str,
                    values: dict[str, Any], twin: str) -> bool:
        """Whether the match keys say the new facet is another entity than ``twin``.

        The source's facet is the same record elsewhere only where identify
        would find it by the keys too: an Exact account's own address is a
        visit location, and the Invoiced customer's it was made from an
        invoice one; owner and kind tell them apart. Which of them is linked
        first depends on when the create is settled (in its own run, or by
        the next run's recovery after its answer was lost), and where the
        facets meet must not.
        """
        gt = mapping.global_type
        keys = self.catalog.keys(self.catalog.global_types[gt])
        refs = self.catalog.refs_of(system, datatype, gt)
        own = {**mapping.defaults, **values}
        try:
            own = self.translator.refs.to_global(gt, own, refs, system)
        except Unresolved:
            own = {k: v for k, v in own.items() if k not in refs}
        known = self.store.get_globals(gt, [twin]).get(twin)
        if known is None:
            return False
        theirs = match_keys(known, keys)
        return any(theirs.get(name, value) != value
                   for name, value in match_keys(own, keys).items())

    def _twin(self, global_type: str, sources: list[Link]) -> str | None:
        """The ``global_type`` entity a source record's own facet of that type is linked to."""
        for source in sources:
            link = self.store.get_link(source.system, source.datatype, source.external_id,
                                       global_type)
            if link is not None:
                return link.global_id
        return None
