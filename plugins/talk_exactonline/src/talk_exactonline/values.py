"""A listed Exact record's values held to the OData types Exact promises.

Exact types every field (Edm.String, Edm.Double, Edm.Boolean, Edm.Guid,
``/Date(ms)/`` for Edm.DateTime) and refuses to store a record without its
mandatory fields, so a value of another type or a missing mandatory value
is a broken answer, not data. Caught while reading, it stops that one record
with a message naming the field; let through, ``42`` would be copied as a
country and ``{"x": 1}`` as a customer number to every other system.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from talk_core.model import DataType, Property, PropertyType
from talk_exactonline.convert import parse_exact_datetime
from talk_exactonline.odata import is_guid

#: Fields talk's schema keeps as text that Exact types as numbers (Edm.Double).
NUMBERS_AS_TEXT: frozenset[tuple[str, str]] = frozenset({("SalesOrders", "Discount")})


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):  # Edm.Decimal travels as text in OData's JSON
        try:
            return Decimal(value.strip()).is_finite()
        except InvalidOperation:
            return False
    return False


def _is_date(value: Any) -> bool:
    try:
        parse_exact_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _expected(dt: DataType, prop: Property, value: Any) -> str | None:
    """What the field should have held, if ``value`` (not None) is not that."""
    kind = prop.type
    if kind is PropertyType.STRING:
        if isinstance(value, str) or ((dt.name, prop.name) in NUMBERS_AS_TEXT
                                       and _is_number(value)):
            return None
        return "text"
    if kind is PropertyType.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "an integer"
    if kind is PropertyType.DECIMAL:
        return None if _is_number(value) else "a number"
    if kind is PropertyType.BOOLEAN:
        return None if isinstance(value, bool) else "true or false"
    if kind is PropertyType.REFERENCE:
        return None if is_guid(value) else f"the ID (a guid) of one of its {prop.reference}"
    if kind in (PropertyType.DATE, PropertyType.DATETIME):
        return None if _is_date(value) else "an Exact date (/Date(ms)/)"
    return None


def bad_value(dt: DataType, record: dict[str, Any]) -> str | None:
    """The first field of ``record`` that Exact could not have answered, said plainly."""
    for prop in dt.properties:
        if prop.type is PropertyType.CHILDREN or prop.name == dt.id_field:
            continue
        value = record.get(prop.name)
        if value is None or (value == "" and prop.type is not PropertyType.STRING):
            if prop.required:
                return f"field {prop.name!r} is mandatory in Exact Online but is empty"
            continue
        if isinstance(value, str) and prop.required and not value.strip():
            return f"field {prop.name!r} is mandatory in Exact Online but is empty"
        expected = _expected(dt, prop, value)
        if expected is not None:
            return f"field {prop.name!r}: expected {expected}, got {_shown(value)}"
    return None
