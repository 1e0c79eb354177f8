"""From a system's raw record to an ``Entity``, or to a reject that says what is wrong.

Both backends read records whose shape they do not control (the user's
API, the user's database), so the rules for "is this a record, is it a
tombstone, do its values fit" live here once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from talk_core.connector import Reject
from talk_core.errors import RecordError
from talk_core.mapping import parse_datetime
from talk_core.model import Entity, ReadMode
from talk_custom.layout import Resource
from talk_custom.values import BadValue, check_properties


def record_id(resource: Resource, row: Any) -> str | None:
    if not isinstance(row, dict):
        return None
    ident = row.get(resource.id_field)
    if isinstance(ident, bool) or not isinstance(ident, str | int) or ident == "":
        return None
    return str(ident)


def updated_of(resource: Resource, row: dict[str, Any]) -> datetime | None:
    value = row.get(resource.updated_field) if resource.updated_field else None
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def to_entity(resource: Resource, row: Any, where: str) -> Entity | Reject:
    """The record as an entity (tombstones too), or a reject naming the field at fault."""
    ident = record_id(resource, row)
    if ident is None:
        shown = repr(row)[:80]
        return Reject("", f"{where}: a record without a usable {resource.id_field!r} "
                      f"(text or integer): {shown}", row)
    assert isinstance(row, dict)
    updated = updated_of(resource, row)
    if resource.deleted_field and row.get(resource.deleted_field):
        return Entity(ident, {}, updated, deleted=True)
    if resource.datatype.read_mode is ReadMode.INCREMENTAL and updated is None:
        return Reject(ident, f"{where} {ident}: field {resource.updated_field!r} must be an "
                      f"ISO 8601 time, got {row.get(resource.updated_field)!r}", row)
    wire = {p.name: resource.wire(p.name) for p in resource.datatype.properties}
    try:
        props = check_properties(resource.datatype, resource.from_wire(row), wire)
    except BadValue as exc:
        return Reject(ident, f"{where} {ident}: {exc}", row)
    return Entity(ident, props, updated)


def entity_or_raise(resource: Resource, row: Any, where: str) -> Entity:
    """For answers to get, create and update: a broken record is that call's error."""
    found = to_entity(resource, row, where)
    if isinstance(found, Reject):
        raise RecordError(found.error)
    return found


def refuse_rejects_in_full_listing(resource: Resource, rejects: list[Reject]) -> None:
    """A full listing that skips a record would make talk delete it everywhere else.

    The engine notices deletes of a full listing by absence, and a rejected
    record is absent; so here one unreadable record stops the listing (with
    the reason) instead of costing that record's copies in other systems.
    """
    if rejects and resource.datatype.read_mode is ReadMode.FULL:
        raise RecordError(f"{rejects[0].error} (nothing of {resource.name} was synced, so "
                          "that no record is taken for deleted; fix the record and run again)")
