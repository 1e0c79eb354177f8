"""Raw Invoiced objects to talk entities, refusing shapes talk cannot trust.

A listing may hold one broken object among good ones; it is reported with
the endpoint and what was wrong, so the engine dead-letters that record and
goes on with the rest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from talk_core.connector import Reject
from talk_core.model import Entity
from talk_invoiced.schema import ID_FIELDS, MARKER, RETIRED


class MalformedRecord(ValueError):
    """An object from Invoiced that lacks what talk needs, or has it in the wrong type."""


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value != "")


def _check(datatype: str, raw: Any) -> None:
    if not isinstance(raw, dict):
        raise MalformedRecord(f"expected an object, got {type(raw).__name__}")
    if not _is_id(raw.get("id")):
        raise MalformedRecord(f"missing or invalid id: {raw.get('id')!r}")
    for name in ID_FIELDS[datatype]:
        if name in raw and raw[name] is not None and not _is_id(raw[name]):
            raise MalformedRecord(f"{name} is not an id: {raw[name]!r}")
    updated = raw.get("updated_at")
    if updated is not None and (not isinstance(updated, int) or isinstance(updated, bool)):
        raise MalformedRecord(f"updated_at is not unix seconds: {updated!r}")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise MalformedRecord(f"name is not text: {name!r}")
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise MalformedRecord(f"metadata is not an object: {metadata!r}")
    if datatype == "invoices":
        items = raw.get("items", [])
        if not isinstance(items, list) or not all(
                isinstance(i, dict) and _is_id(i.get("id")) for i in items):
            raise MalformedRecord("items is not a list of line items with ids")


def entity(datatype: str, raw: Any, **extra: Any) -> Entity:
    """The entity for one object; ids (its own and references) become text."""
    _check(datatype, raw)
    props = dict(raw)
    for name in ID_FIELDS[datatype]:
        if props.get(name) is not None:
            props[name] = str(props[name])
    if datatype == "customers":
        props["owner"] = str(raw["id"])
    props.update(extra)
    updated = raw.get("updated_at")
    when = datetime.fromtimestamp(updated, UTC) if isinstance(updated, int) else None
    return Entity(str(raw["id"]), props, when)


def line_entity(invoice: dict[str, Any], line: Any) -> Entity:
    """A line item as a record of its own, pointing at its invoice."""
    if not isinstance(line, dict) or not _is_id(line.get("id")):
        raise MalformedRecord(f"line item without an id: {line!r}"[:120])
    found = entity("lineitems", line, invoice=str(invoice["id"]))
    updated = invoice.get("updated_at")
    if isinstance(updated, int) and not isinstance(updated, bool):
        found.updated = datetime.fromtimestamp(updated, UTC)
    return found


def reject(where: str, raw: Any, exc: Exception) -> Reject:
    ident = raw.get("id") if isinstance(raw, dict) else None
    return Reject(str(ident) if ident is not None else f"({where})",
                  f"Invoiced {where}: {exc}", raw)


def marker(raw: dict[str, Any]) -> str | None:
    metadata = raw.get("metadata")
    return metadata.get(MARKER) if isinstance(metadata, dict) else None


def retired(raw: dict[str, Any]) -> bool:
    """A customer talk deactivated in place of a delete Invoiced refused."""
    metadata = raw.get("metadata")
    return isinstance(metadata, dict) and metadata.get(RETIRED) == "1"
