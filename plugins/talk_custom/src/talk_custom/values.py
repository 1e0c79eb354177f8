"""Checks a record's values against its datatype, on the way in and on the way out.

An in-house API is the least tested API talk meets: a price that arrives
as ``"12,50"`` or an id that arrives as a JSON object must stop that one
record with a message naming the field, not crash the run or, worse, be
copied to every other system. The same checks guard the emulator and the
SQLite backend, so a test that passes on one fails on neither.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from talk_core.mapping import parse_datetime
from talk_core.model import DataType, Property, PropertyType


class BadValue(ValueError):
    """One field's value does not fit its declared type."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"field {field!r}: expected {expected}, got {shown}")
        self.field = field


def _number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            return Decimal(value.strip()).is_finite()
        except InvalidOperation:
            return False
    return False


def _iso_date(value: Any) -> bool:
    try:
        date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _iso_datetime(value: Any) -> bool:
    try:
        parse_datetime(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def check_value(prop: Property, value: Any, field: str | None = None) -> Any:
    """The value in talk's form (ids as text), or ``BadValue``; None passes."""
    name = field or prop.name
    if value is None:
        return None
    kind = prop.type
    if kind is PropertyType.STRING:
        if not isinstance(value, str):
            raise BadValue(name, value, "text")
    elif kind is PropertyType.REFERENCE:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise BadValue(name, value, f"the id of a {prop.reference}")
        return str(value)
    elif kind is PropertyType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadValue(name, value, "an integer")
    elif kind is PropertyType.DECIMAL:
        if not _number(value):
            raise BadValue(name, value, "a number or decimal text such as \"12.50\"")
    elif kind is PropertyType.BOOLEAN:
        if not isinstance(value, bool):
            raise BadValue(name, value, "true or false")
    elif kind is PropertyType.DATE:
        if not _iso_date(value):
            raise BadValue(name, value, "a date as YYYY-MM-DD")
    elif kind is PropertyType.DATETIME and not _iso_datetime(value):
        raise BadValue(name, value, "an ISO 8601 date and time")
    return value


def check_properties(datatype: DataType, properties: dict[str, Any],
                     wire: dict[str, str] | None = None) -> dict[str, Any]:
    """Every known property checked; ``wire`` names the system's field in messages."""
    out = {}
    names = wire or {}
    for name, value in properties.items():
        prop = datatype.find(name)
        out[name] = value if prop is None else check_value(prop, value, names.get(name))
    return out


def unknown_fields(datatype: DataType, properties: dict[str, Any]) -> list[str]:
    known = datatype.property_names
    return sorted(k for k in properties if k not in known)


def missing_required(datatype: DataType, properties: dict[str, Any]) -> list[str]:
    return [p.name for p in datatype.properties
            if p.required and properties.get(p.name) in (None, "")]
