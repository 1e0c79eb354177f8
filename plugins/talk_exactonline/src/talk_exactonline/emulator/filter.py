"""The part of OData's ``$filter`` the emulator understands: comparisons joined by ``and``.

That is what the connector sends (``Timestamp gt 5L``, ``ID eq guid'...'``,
``Name eq 'O''Brien'``) and all Exact's own examples use. Anything else is
refused with a 400, as Exact refuses what it cannot parse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from talk_exactonline.convert import parse_exact_datetime

_TERM = re.compile(
    r"\s*(?:trim\((?P<trimmed>\w+)\)|(?P<field>\w+))\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?P<value>guid'[^']*'|datetime'[^']*'|'(?:[^']|'')*'|-?\d+(?:\.\d+)?[LMmd]?|true|false|null)"
    r"\s*(?P<sep>and\b|$)", re.IGNORECASE)


class FilterError(ValueError):
    """A filter the emulator (and so perhaps Exact) cannot parse."""


def _literal(text: str) -> Any:
    lower = text.lower()
    if lower.startswith("guid'"):
        return text[5:-1].lower()
    if lower.startswith("datetime'"):
        try:
            moment = datetime.fromisoformat(text[9:-1])
        except ValueError:
            raise FilterError(f"not a datetime literal: {text}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if lower in ("true", "false"):
        return lower == "true"
    if lower == "null":
        return None
    return Decimal(text.rstrip("LMmd"))


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, datetime):
        try:
            left = parse_exact_datetime(left)  # stored as /Date(ms)/, compared as instants
        except (TypeError, ValueError):
            return False
    elif isinstance(right, Decimal):
        if left is None or isinstance(left, bool):
            return False
        try:
            left = Decimal(str(left))
        except ArithmeticError:
            return False
    elif isinstance(right, str) and isinstance(left, str):
        left = left.lower() if len(right) == 36 and right.count("-") == 4 else left
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right,
                "le": left <= right}[op]
    except TypeError:
        return False


def parse_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate over records, or ``FilterError``."""
    terms: list[tuple[str, bool, str, Any]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TERM.match(text, position)
        if match is None:
            raise FilterError(f"cannot parse $filter at {text[position:position + 40]!r}")
        field = match.group("trimmed") or match.group("field")
        terms.append((field, bool(match.group("trimmed")), match.group("op").lower(),
                      _literal(match.group("value"))))
        position = match.end()
    if not terms:
        raise FilterError("empty $filter")

    def predicate(record: dict[str, Any]) -> bool:
        for field, trimmed, op, value in terms:
            left = record.get(field)
            if trimmed and isinstance(left, str):
                left = left.strip()
            if not _compare(left, op, value):
                return False
        return True

    return predicate


def filtered_fields(text: str) -> set[str]:
    """The fields a filter names, to check it against the entity's fields."""
    return {m.group("trimmed") or m.group("field") for m in _TERM.finditer(text)}
