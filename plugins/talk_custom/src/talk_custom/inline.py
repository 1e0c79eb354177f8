"""Lines kept inside their parent's record: an order whose ``lines`` field is an array.

Many in-house APIs and tables keep an order's lines in the order itself (a
JSON array). Talk still syncs them as lines, one record each, so that an
Invoiced line item or an Exact order line is one line here too: this
wraps a backend's connector and answers for the line datatype (``Resource.
inline``) by reading and writing the parent record, as the Invoiced
connector does for an invoice's line items.

- Each line is an object of the array with an ``id``. Talk gives a line it
  adds an id made from its create key, so a create retried after a crash
  finds its line instead of adding it twice (``recover``). Lines made by
  the system or a person without an ``id`` are refused with a message.
- Lines are read by listing every live parent: a full listing, so a line
  gone from its array (or a parent deleted) is a delete, noticed by absence.
- A write sends the parent's whole array back (``PATCH`` with the field),
  with every other line as it stands.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from talk_core.connector import Page, PendingCreate, Recovered, Reject, recover_each
from talk_core.errors import RecordError
from talk_core.model import DataType, Entity
from talk_custom.layout import Layout, Resource
from talk_custom.records import refuse_rejects_in_full_listing, to_entity


def line_id(key: str) -> str:
    """The id talk gives the line it creates with ``key``: the same on every retry."""
    return "L" + hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


class InlineLines:
    """A connector whose line datatypes that live inline are answered from their parents."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        #: line id -> parent id, as last seen
        self.owners: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def __repr__(self) -> str:
        return f"InlineLines({self.backend!r})"

    @property
    def layout(self) -> Layout:
        return self.backend.layout

    def datatype(self, name: str) -> DataType:
        return self.layout.resource(name).datatype

    def _inline(self, datatype: str) -> tuple[Resource, Resource] | None:
        """The line resource and its parent's, for a datatype of inline lines."""
        line = self.layout.resources.get(datatype)
        if line is None or line.inline is None or line.datatype.child_of is None:
            return None
        return line, self.layout.resource(line.datatype.child_of.parent)

    # -- reading ---------------------------------------------------------------------

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        found = self._inline(datatype)
        if found is None:
            return self.backend.read(datatype, cursor)
        return self._read_lines(*found)

    def _read_lines(self, line: Resource, parent: Resource) -> Iterator[Page]:
        for page in self.backend.read(parent.name, None):
            entities: list[Entity] = []
            rejects: list[Reject] = []
            for record in page.entities:
                if record.deleted:
                    continue
                for found in self._lines_of(line, parent, record):
                    if isinstance(found, Reject):
                        rejects.append(found)
                    else:
                        entities.append(found)
            refuse_rejects_in_full_listing(line, rejects)
            yield Page(entities)

    def _lines_of(self, line: Resource, parent: Resource, record: Entity
                  ) -> list[Entity | Reject]:
        assert line.inline is not None and line.datatype.child_of is not None
        where = f"{self.layout.system} {parent.name} {record.id} {parent.wire(line.inline)}"
        items = record.properties.get(line.inline)
        if items is None:
            return []
        if not isinstance(items, list):
            return [Reject(record.id, f"{where}: expected an array of lines, got "
                           f"{type(items).__name__}", items)]
        out: list[Entity | Reject] = []
        for item in items:
            row = dict(item) if isinstance(item, dict) else item
            if isinstance(row, dict):
                row[line.wire(line.datatype.child_of.parent_property)] = record.id
            found = to_entity(line, row, where)
            if isinstance(found, Entity):
                self.owners[found.id] = record.id
            out.append(found)
        return out

    def get(self, datatype: str, id: str) -> Entity | None:
        found = self._inline(datatype)
        if found is None:
            return self.backend.get(datatype, id)
        located = self._locate(*found, id)
        if located is None:
            return None
        line, parent, record = located
        return next((e for e in self._lines_of(line, parent, record)
                     if isinstance(e, Entity) and e.id == id), None)

    def _locate(self, line: Resource, parent: Resource, id: str
                ) -> tuple[Resource, Resource, Entity] | None:
        """The parent record holding line ``id``: where it was last seen, else searched."""
        known = self.owners.get(id)
        if known is not None:
            record = self.backend.get(parent.name, known)
            if record is not None and id in _ids(record, line):
                return line, parent, record
        for page in self.backend.read(parent.name, None):
            for record in page.entities:
                if not record.deleted and id in _ids(record, line):
                    self.owners[id] = record.id
                    return line, parent, record
        return None

    # -- writing ---------------------------------------------------------------------

    def _parent_of(self, line: Resource, parent: Resource, properties: dict[str, Any]
                   ) -> Entity:
        assert line.datatype.child_of is not None
        ident = properties.get(line.datatype.child_of.parent_property)
        if ident in (None, ""):
            raise RecordError(f"{self.layout.system} {line.name}: a line needs its "
                              f"{parent.name}")
        record = self.backend.get(parent.name, str(ident))
        if record is None:
            raise RecordError(f"{self.layout.system} {line.name}: no {parent.name} with id "
                              f"{ident!r}")
        return record

    def _write(self, line: Resource, parent: Resource, record: Entity,
               items: list[dict[str, Any]]) -> Entity:
        assert line.inline is not None
        return self.backend.update(parent.name, record.id,
                                   {line.inline: items})

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        found = self._inline(datatype)
        if found is None:
            return self.backend.create(datatype, properties, key=key)
        line, parent = found
        assert line.inline is not None and line.datatype.child_of is not None
        record = self._parent_of(line, parent, properties)
        ident = line_id(key)
        items = _items(record, line)
        if not any(str(item.get("id")) == ident for item in items):
            fields = {k: v for k, v in properties.items()
                      if k != line.datatype.child_of.parent_property}
            items.append({"id": ident, **line.to_wire(fields)})
            record = self._write(line, parent, record, items)
        self.owners[ident] = record.id
        made = next((e for e in self._lines_of(line, parent, record)
                     if isinstance(e, Entity) and e.id == ident), None)
        if made is None:
            raise RecordError(f"{self.layout.system} {parent.name} {record.id}: the new line "
                              "is not in the answer")
        return made

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        found = self._inline(datatype)
        if found is None:
            return self.backend.update(datatype, id, changes,
                                       current=current)
        located = self._locate(*found, id)
        if located is None:
            raise RecordError(f"{self.layout.system} {datatype} {id}: not found in any "
                              f"{found[1].name}")
        line, parent, record = located
        assert line.datatype.child_of is not None
        if changes.get(line.datatype.child_of.parent_property, record.id) != record.id:
            raise RecordError(f"{self.layout.system} {datatype} {id}: a line cannot move to "
                              f"another {parent.name}")
        wire = line.to_wire({k: v for k, v in changes.items()
                             if k != line.datatype.child_of.parent_property})
        items = [{**item, **wire} if str(item.get("id")) == id else item
                 for item in _items(record, line)]
        record = self._write(line, parent, record, items)
        made = next((e for e in self._lines_of(line, parent, record)
                     if isinstance(e, Entity) and e.id == id), None)
        if made is None:
            raise RecordError(f"{self.layout.system} {parent.name} {record.id}: line {id} is "
                              "not in the answer")
        return made

    def delete(self, datatype: str, id: str) -> None:
        found = self._inline(datatype)
        if found is None:
            self.backend.delete(datatype, id)
            return
        located = self._locate(*found, id)
        if located is None:
            return  # gone already, or with its parent
        line, parent, record = located
        self._write(line, parent, record,
                    [item for item in _items(record, line) if str(item.get("id")) != id])
        self.owners.pop(id, None)

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        found = self._inline(datatype)
        if found is None:
            return self.backend.recover(datatype, key, properties)
        return self.get(datatype, line_id(key))

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        many = getattr(self.backend, "recover_many", None)
        if self._inline(datatype) is None and many is not None:
            return many(datatype, pending)
        return recover_each(self, datatype, pending)

    def close(self) -> None:
        self.backend.close()


def _items(record: Entity, line: Resource) -> list[dict[str, Any]]:
    """The parent's lines as they stand, every field kept, so that a write keeps them."""
    assert line.inline is not None
    items = record.properties.get(line.inline)
    return [dict(item) for item in items if isinstance(item, dict)] \
        if isinstance(items, list) else []


def _ids(record: Entity, line: Resource) -> set[str]:
    return {str(item.get("id")) for item in _items(record, line)}
