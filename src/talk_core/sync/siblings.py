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
  system) carries that facet too and it is already linked, the new record's
  facet is linked to the same global entity, with the hash and values of
  the record as created, and the entity is staged to be shared again, so
  the facet's own pass in this run updates the record where the entity's
  values differ;
- otherwise the facet is staged as if just read, marked ``created``, so the
  facet's pass in this same run gives it its global entity (the source's
  facet, staged in the same inbox, by the facet's match keys, or a new
  entity), where the merge (``merge.py``) takes it as talk's own record rather than
  as news from the system.
"""

from __future__ import annotations

import logging

from talk_core.mapping import ConversionError
from talk_core.model import Entity, Link
from talk_core.store.base import InboxRow, StateStore
from talk_core.sync.catalog import Catalog
from talk_core.sync.records import project, read_row
from talk_core.sync.translate import Translator

log = logging.getLogger("talk.sync")


class Siblings:
    """Settles the other facets of records talk creates; called inside the create's commit."""

    def __init__(self, store: StateStore, catalog: Catalog, translator: Translator) -> None:
        self.store = store
        self.catalog = catalog
        self.translator = translator

    def settle(self, global_type: str, global_id: str, system: str, datatype: str,
               entity: Entity) -> None:
        """Link or stage every other facet of ``entity``, just created as ``global_id``.

        Runs after the create's own link is stored, so a facet that refers
        to its own record (a customer's address naming the customer) turns
        that reference into the created entity's global id.
        """
        facets = self.catalog.facets(system, datatype, global_type)
        if not facets:
            return
        dt = self.catalog.systems[system].spec.datatype(datatype)
        sources: list[Link] | None = None
        staged: list[InboxRow] = []
        for mapping in facets:
            other = mapping.global_type
            if not mapping.accepts(entity):
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

    def _twin(self, global_type: str, sources: list[Link]) -> str | None:
        """The ``global_type`` entity a source record's own facet of that type is linked to."""
        for source in sources:
            link = self.store.get_link(source.system, source.datatype, source.external_id,
                                       global_type)
            if link is not None:
                return link.global_id
        return None
