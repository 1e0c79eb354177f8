"""The query language of Invoiced's listings: filters, dates, flags, sort and ``related_to``.

Pure functions of rows and query parameters, each refusing a bad
parameter with the 400 and ``param`` Invoiced answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from talk_invoiced.emulator.errors import ApiError


def has_metadata(row: dict[str, Any], key: str, wanted: str) -> bool:
    """``metadata[key]=value``: an object without that key is left out, with no error."""
    metadata = row.get("metadata") or {}
    return key in metadata and str(metadata[key]) == wanted


def timestamp(query: dict[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a unix timestamp", name) from None


def flag(query: dict[str, str], name: str) -> bool | None:
    value = query.get(name)
    if value is None:
        return None
    if value.lower() in ("1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise ApiError(400, f"{name} must be a boolean", name)


def dated(rows: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """``start_date`` and ``end_date`` of the invoices listing: their ``date``, both inclusive."""
    start, end = timestamp(query, "start_date"), timestamp(query, "end_date")
    if start is not None:
        rows = [r for r in rows if r.get("date") is not None and r["date"] >= start]
    if end is not None:
        rows = [r for r in rows if r.get("date") is not None and r["date"] <= end]
    return rows


def matches(have: Any, wanted: str) -> bool:
    """``filter[x]=v``: exact match; booleans as ``1``/``0`` or ``true``/``false``."""
    if isinstance(have, bool):
        return wanted.lower() in (("1", "true") if have else ("0", "false"))
    return have is not None and str(have) == wanted


def sorted_rows(rows: list[dict[str, Any]], spec: str, known: frozenset[str]
            ) -> list[dict[str, Any]]:
    """``sort=name asc`` (or ``desc``; several, comma separated): a stable sort, nulls first."""
    keys: list[tuple[str, bool]] = []
    for part in spec.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0] not in known or (
                len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise ApiError(400, f"Invalid sort parameter: {part.strip()}", "sort")
        keys.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    out = list(rows)
    for field, descending in reversed(keys):
        out.sort(key=_by(field), reverse=descending)
    return out


def _by(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(field))


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value).lower())


def related(event: dict[str, Any], spec: str) -> bool:
    """``related_to=customer,1234``: events about that object or about one of its own."""
    kind, _, ident = spec.partition(",")
    if not kind or not ident:
        raise ApiError(400, "related_to must be 'object type,object ID'", "related_to")
    obj = event["data"]["object"]
    if event["type"].split(".", 1)[0] == kind and str(obj.get("id")) == ident:
        return True
    return str(obj.get(kind)) == ident
