"""Values between global and a system's terms, and a system's answer to a write as links.

Writes need the entity's values in the system's terms (references as the
system's ids); what the system answers must become the link the write
leaves, in global terms again. Both go through the catalog's mappings and
the run's reference cache.
"""

from __future__ import annotations

import logging
from typing import Any

from talk_core.mapping import ConversionError
from talk_core.model import DataType, Entity, Link
from talk_core.store.base import JournalEntry
from talk_core.sync.catalog import Catalog
from talk_core.sync.records import project
from talk_core.sync.references import Misplaced, References, Unresolved

log = logging.getLogger("talk.sync")


class Translator:
    def __init__(self, catalog: Catalog, refs: References) -> None:
        self.catalog = catalog
        self.refs = refs
        #: per (global type, system, datatype): the references ``_placed`` must look at
        self._misplaceable: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}

    def to_system(self, gt: str, system: str, dt_name: str, values: dict[str, Any],
                  *, creating: bool) -> tuple[dict[str, Any], DataType]:
        """``values`` as ``system``'s payload for ``dt_name``; raises ``Unresolved``."""
        mapping, dt = self.catalog.mapping(system, dt_name, gt)
        refs = self.catalog.refs_of(system, dt_name, gt)
        self._placed(gt, system, dt_name, refs, values)
        translated = self.refs.to_system(gt, values, refs, system)
        return mapping.to_system(translated, dt, creating=creating), dt

    def _placed(self, gt: str, system: str, dt_name: str, refs: dict[str, str],
                values: dict[str, Any]) -> None:
        """Raise ``Misplaced`` where a reference is held in another datatype than it names.

        Only asked where the system holds the referenced global type in
        several datatypes (the one the field names among them); elsewhere a
        link is always in the right one.
        """
        checks = self._misplaceable.get((gt, system, dt_name))
        if checks is None:
            # the catalog is the run's: which references can be misplaced is asked once
            checks = self._misplaceable[(gt, system, dt_name)] = [
                (prop, expected, target) for prop, expected in refs.items()
                for target in self.refs.targets(gt, prop)
                if expected in (homes := self.catalog.homes(system, target))
                and len(homes) > 1]
        for prop, expected, target in checks:
            gid = values.get(prop)
            if not gid:
                continue
            link = self.refs.store.link_for(target, str(gid), system)
            if link is not None and link.datatype != expected:
                raise Misplaced(f"{prop} refers to {system} {link.datatype} "
                                f"{link.external_id}; {dt_name}.{prop} takes {expected} only")

    def link_from(self, gt: str, gid: str, system: str, datatype: str, entity: Entity,
                  written: dict[str, Any], base: dict[str, Any] | None = None) -> Link:
        """The link after a write: what the system answered, plus what we know we wrote.

        Values we wrote count as held even if the system answers them
        differently (truncated, reformatted), so a write is never repeated
        forever; the hash is of the answer, so its echo is recognised.
        """
        mapping, dt = self.catalog.mapping(system, datatype, gt)
        values: dict[str, Any] = dict(base or {})
        digest = None
        try:
            read, digest = project(mapping, dt, entity)
            refs = self.catalog.refs_of(system, datatype, gt)
            try:
                read = self.refs.to_global(gt, read, refs, system)
            except Unresolved:
                read = {k: v for k, v in read.items() if k not in refs}
            values.update(read)
        except ConversionError as exc:
            log.warning("%s %s %s answered a value talk cannot read: %s",
                        system, datatype, entity.id, exc)
        values.update(written)
        return Link(gt, gid, system, datatype, entity.id, digest, values)

    def links_for_created(self, entry: JournalEntry, entity: Entity) -> list[Link]:
        """The links a journalled create's answer gives: the record's, and its lines' if inline.

        Plain creates, parents created with their lines and creates settled
        after a crash all read the journal entry the same way.
        """
        links = [self.link_from(entry.global_type, entry.global_id, entry.system,
                                entry.datatype, entity, entry.payload.get("values", {}))]
        children = entry.payload.get("children")
        if children:
            links.extend(self._child_links(entry, entity, children))
        return links

    def _child_links(self, entry: JournalEntry, parent: Entity,
                     children: dict[str, Any]) -> list[Link]:
        field, child_dt = children["field"], children["datatype"]
        child_gt = children["global_type"]
        _m, cdt = self.catalog.mapping(entry.system, child_dt, child_gt)
        answered = parent.properties.get(field) or []
        links = []
        for (cgid, written), record in zip(children["items"], answered, strict=False):
            child = Entity(str(record.get(cdt.id_field)), dict(record), parent.updated)
            links.append(self.link_from(child_gt, cgid, entry.system, child_dt, child, written))
        return links
