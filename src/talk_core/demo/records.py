"""A system's records in global terms: counted, found, changed and deleted through its mapping.

The demo plays a person working in each system between two syncs. It does
so through the system's own connector and mapping, so that it needs to
know nothing of any system's field names.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

from talk_core.demo.data import Record
from talk_core.errors import TalkError
from talk_core.mapping import Mapping
from talk_core.model import DataType, Entity
from talk_core.sync.settings import SystemInstance

#: Global properties that identify a demo record in any system, most telling first.
IDENTIFYING = ("code", "email", "name")


@attrs.frozen
class Found:
    """One record of a system, with its global values (references are the system's ids)."""

    global_type: str
    datatype: str
    id: str
    values: dict[str, Any]


def _same(a: Any, b: Any) -> bool:
    return a is not None and b is not None and str(a).strip().casefold() == \
        str(b).strip().casefold()


class SystemRecords:
    """Reads a system instance's live records once per datatype and sees them as global ones."""

    def __init__(self, instance: SystemInstance) -> None:
        self.instance = instance
        self._read: dict[str, list[Entity]] = {}

    def _mappings(self, global_type: str | None = None) -> list[tuple[Mapping, DataType]]:
        """Mappings that hold records of their own; location facets of a customer do not."""
        spec = self.instance.spec
        return [(m, spec.datatype(m.datatype)) for m in spec.mappings
                if m.creates and global_type in (None, m.global_type)]

    def _entities(self, datatype: str) -> list[Entity]:
        if datatype not in self._read:
            self._read[datatype] = [e for page in self.instance.connector.read(datatype, None)
                                    for e in page.entities if not e.deleted]
        return self._read[datatype]

    def all(self, global_type: str | None = None) -> list[Found]:
        """Each live record once, under the first mapping that accepts it."""
        seen: set[tuple[str, str]] = set()
        found = []
        for mapping, datatype in self._mappings(global_type):
            for entity in self._entities(datatype.name):
                if (datatype.name, entity.id) in seen or not mapping.accepts(entity):
                    continue
                seen.add((datatype.name, entity.id))
                found.append(Found(mapping.global_type, datatype.name, entity.id,
                                   mapping.to_global(entity, datatype)))
        return found

    def counts(self) -> Counter[str]:
        """Live records per global datatype."""
        return Counter(f.global_type for f in self.all())

    def find(self, record: Record) -> Found:
        """This system's copy of a demo record, told by its code, e-mail or name."""
        candidates = self.all(record.global_type)
        for key in IDENTIFYING:
            wanted = record.values.get(key)
            if wanted is None:
                continue
            hits = [f for f in candidates if _same(f.values.get(key), wanted)]
            if len(hits) == 1:
                return hits[0]
        raise TalkError(f"{self.instance.name} has no single {record.label}")

    def exists(self, datatype: str, ident: str) -> bool:
        entity = self.instance.connector.get(datatype, ident)
        return entity is not None and not entity.deleted

    def value(self, global_type: str, datatype: str, ident: str, prop: str) -> Any:
        """A property of one record as the system holds it now (None when it is gone)."""
        entity = self.instance.connector.get(datatype, ident)
        if entity is None or entity.deleted:
            return None
        for mapping, dt in self._mappings(global_type):
            if dt.name == datatype and mapping.accepts(entity):
                return mapping.to_global(entity, dt).get(prop)
        return None

    def keeps_own(self, global_type: str, datatype: str, prop: str) -> bool:
        """Whether the system's record has ``prop`` but talk never writes it there.

        Such a value is the system's own (a customer number it hands out):
        a conflict's winner is not copied into it.
        """
        spec = self.instance.spec
        mappings = [m for m in spec.mappings_of(datatype) if m.global_type == global_type]
        dt = spec.datatype(datatype) if mappings else None
        mapped = any(pm.global_ == prop for m in mappings for pm in m.properties)
        return dt is not None and mapped and not any(
            prop in m.writable_globals(dt, creating=False) for m in mappings)

    def change(self, found: Found, changes: dict[str, Any]) -> None:
        mapping, datatype = self._mapping_of(found)
        fields = mapping.to_system(changes, datatype, creating=False)
        if not fields:
            raise TalkError(f"{self.instance.name} {found.datatype} does not hold "
                            f"{', '.join(sorted(changes))}")
        self.instance.connector.update(found.datatype, found.id, fields)
        self._read.pop(found.datatype, None)

    def remove(self, found: Found) -> None:
        self.instance.connector.delete(found.datatype, found.id)
        self._read.pop(found.datatype, None)

    def _mapping_of(self, found: Found) -> tuple[Mapping, DataType]:
        for mapping, datatype in self._mappings(found.global_type):
            if datatype.name == found.datatype:
                return mapping, datatype
        raise KeyError(f"{self.instance.name} maps no {found.datatype} to {found.global_type}")

