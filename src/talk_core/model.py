"""The ground floor: records, schemas and links, with no behaviour that needs I/O.

Everything above this module (mappings, connectors, the store, the engine)
speaks in these terms, so they are plain attrs classes that cattrs can turn
into JSON for the state store and back.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs


class PropertyType(enum.StrEnum):
    """The value kinds a property can hold, as JSON carries them."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    REFERENCE = "reference"
    CHILDREN = "children"


class ReadMode(enum.StrEnum):
    """How a datatype can be read, which decides how deletes are noticed.

    ``incremental``: the system answers "what changed since a cursor" and
    reports deletes as tombstones. ``full``: every read lists everything, and a
    record that is no longer listed has been deleted.
    """

    INCREMENTAL = "incremental"
    FULL = "full"


@attrs.frozen
class Property:
    """One field of a system datatype.

    ``reference`` names the datatype whose id this field holds;
    ``child`` names the datatype of the records a ``children`` field holds.
    ``create_only`` fields are sent when a record is created and never on
    update (Exact's ``Code``); ``read_only`` fields are never sent.
    """

    name: str
    type: PropertyType = PropertyType.STRING
    label: str = ""
    read_only: bool = False
    required: bool = False
    create_only: bool = False
    reference: str | None = None
    child: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.type is PropertyType.REFERENCE and not self.reference:
            raise ValueError(f"property {self.name!r}: a reference must name its datatype")
        if self.type is PropertyType.CHILDREN and not self.child:
            raise ValueError(f"property {self.name!r}: a list of children must name its datatype")


@attrs.frozen
class ChildOf:
    """Marks a datatype as lines of a parent record (invoice lines, order lines).

    ``parent_property`` is the child's field that holds the parent's id;
    ``inline_on_create`` says the system only accepts a new parent together
    with its lines (Exact sales orders), so the engine creates the parent once
    the lines are known and sends them along.
    """

    parent: str
    parent_property: str
    parent_field: str = ""
    inline_on_create: bool = False


@attrs.frozen
class DataType:
    """A system's schema for one kind of record."""

    name: str
    label: str
    properties: tuple[Property, ...] = ()
    id_field: str = "id"
    updated_field: str | None = None
    read_mode: ReadMode = ReadMode.INCREMENTAL
    child_of: ChildOf | None = None
    _by_name: dict[str, Property] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in self.properties})

    @property
    def property_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.properties)

    def find(self, name: str) -> Property | None:
        return self._by_name.get(name)

    def property(self, name: str) -> Property:
        prop = self.find(name)
        if prop is None:
            raise KeyError(f"{self.name} has no property {name!r}")
        return prop



@attrs.define(slots=True)
class Entity:
    """One record as a system holds it.

    ``properties`` are plain JSON values in the system's own field names and
    formats; the id is always a string, whatever the system uses.

    ``created`` is when the system made the record, on the clock ``updated``
    is on, where the system tells (None where it does not). A record whose
    ``updated`` is later has been changed since it was made: recovery needs
    that to tell an edit from what the system gives every new record.
    """

    id: str
    properties: dict[str, Any] = attrs.field(factory=dict)
    updated: datetime | None = None
    deleted: bool = False
    created: datetime | None = None

    @property
    def changed_since_made(self) -> bool:
        """Whether the system says the record changed after it was made (False if unknown)."""
        return (self.created is not None and self.updated is not None
                and self.updated > self.created)


@attrs.define(slots=True)
class Link:
    """Ties one global entity to one record in one system instance.

    ``values`` and ``hash`` are what was last read from or written to that
    system, projected to global properties: the base of the three-way merge
    and the echo filter.
    """

    global_type: str
    global_id: str
    system: str
    datatype: str
    external_id: str
    hash: str | None = None
    values: dict[str, Any] = attrs.field(factory=dict)

