"""Raw Invoiced objects to talk entities, refusing shapes talk cannot trust.

A listing may hold one broken object among good ones; it is reported with
the endpoint and what was wrong, so the engine dead-letters that record and
goes on with the rest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from talk_core.connector import Reject
from talk_core.model import Entity
from talk_invoiced import discounts
from talk_invoiced.schema import CODE, ENDPOINTS, ID_FIELDS, MARKER, RETIRED, Discounts, Nesting

_ITEM_ID_BAD = re.compile(r"[^a-z0-9_\-:]")


def item_id(code: Any) -> str:
    r"""A product code in the form Invoiced takes as an item id (``^[a-z0-9_\-:]{2,}$``)."""
    text = _ITEM_ID_BAD.sub("-", str(code).strip().lower())
    if len(text) < 2:
        raise ValueError("an Invoiced item id needs at least 2 characters")
    return text


def item_code(raw: dict[str, Any]) -> str:
    """The code an item stands for: the one talk kept when the id is its Invoiced form."""
    metadata = raw.get("metadata")
    kept = metadata.get(CODE) if isinstance(metadata, dict) else None
    if isinstance(kept, str) and kept and item_id(kept) == str(raw["id"]):
        return kept
    return str(raw["id"])


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
    label = raw.get("name")
    if label is not None and not isinstance(label, str):
        raise MalformedRecord(f"name is not text: {label!r}")
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise MalformedRecord(f"metadata is not an object: {metadata!r}")
    field = ENDPOINTS[datatype].lines
    if field is not None:
        lines = raw.get(field, [])
        if not isinstance(lines, list) or not all(
                isinstance(i, dict) and _is_id(i.get("id")) for i in lines):
            raise MalformedRecord(f"{field} is not a list of line items with ids")


def entity(datatype: str, raw: Any, **extra: Any) -> Entity:
    """The entity for one object; ids (its own and references) become text."""
    _check(datatype, raw)
    props = dict(raw)
    for name in ID_FIELDS[datatype]:
        if props.get(name) is not None:
            props[name] = str(props[name])
    endpoint = ENDPOINTS[datatype]
    if endpoint.self_reference is not None:
        props[endpoint.self_reference] = str(raw["id"])
    if endpoint.code_id:
        props["id"] = item_code(raw)
    try:
        if endpoint.discounts is Discounts.SUBTOTAL and "discounts" in raw:
            subtotal = raw.get("subtotal")
            base = discounts.number(subtotal) if subtotal is not None else sum(
                (discounts.line_base(i) for i in raw.get(endpoint.lines or "") or []),
                discounts.number(0))
            props["discounts"] = discounts.annotate(raw, base)
        elif endpoint.discounts is Discounts.LINE and "discounts" in raw:
            props["discounts"] = discounts.annotate(raw, discounts.line_base(raw))
    except TypeError as exc:
        raise MalformedRecord(f"cannot read the amounts a discount is taken from: {exc}"
                              ) from None
    props.update(extra)
    return Entity(str(raw["id"]), props, _moment(raw.get("updated_at")),
                  created=_moment(raw.get("created_at")))


def _moment(stamp: Any) -> datetime | None:
    """A unix timestamp of Invoiced's (``created_at``, ``updated_at``) as a time, if it is one."""
    if isinstance(stamp, int) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp, UTC)
    return None


#: The datatype of the records kept inside their parent (an invoice's line items).
INLINE = next(name for name, e in ENDPOINTS.items() if e.nesting is Nesting.INLINE)


def line_entity(invoice: dict[str, Any], line: Any) -> Entity:
    """A line item as a record of its own, pointing at its invoice."""
    if not isinstance(line, dict) or not _is_id(line.get("id")):
        raise MalformedRecord(f"line item without an id: {line!r}"[:120])
    parent_field = ENDPOINTS[INLINE].parent_field or ""
    found = entity(INLINE, line, **{parent_field: str(invoice["id"])})
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
