"""CRM Lite's records: one change counter over all of them, tombstones kept.

Every write takes the next ``version``, so "what changed after version N"
is the API's change feed; a deleted record stays as a tombstone for it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from talk_core.emulation import ApiError
from talk_crmlite.schema import DATATYPES


class Records:
    """The account's customers and contacts, safe to use from the server's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.version = 0
        self.rows: dict[str, dict[str, dict[str, Any]]] = {dt.name: {} for dt in DATATYPES}
        self.keys: dict[tuple[str, str], str] = {}

    def changes(self, datatype: str, after: int, limit: int, key: str | None = None
                ) -> list[dict[str, Any]]:
        """Records (tombstones too) changed after version ``after``, oldest change first."""
        with self.lock:
            rows = sorted(self.rows[datatype].values(), key=lambda r: r["version"])
            if key is not None:
                wanted = self.keys.get((datatype, key))
                rows = [r for r in rows if r["id"] == wanted and not r.get("deleted")]
            return [dict(r) for r in rows if r["version"] > after][:limit]

    def get(self, datatype: str, ident: str) -> dict[str, Any]:
        with self.lock:
            row = self.rows[datatype].get(ident)
            if row is None or row.get("deleted"):
                raise ApiError(404, "not_found", f"no {datatype} {ident!r}")
            return dict(row)

    def create(self, datatype: str, fields: Any, key: str | None = None
               ) -> tuple[dict[str, Any], bool]:
        """The new record, or the one an earlier request with the same key made."""
        with self.lock:
            if key is not None and (datatype, key) in self.keys:
                return dict(self.rows[datatype][self.keys[(datatype, key)]]), False
            _check(datatype, fields, creating=True)
            ident = f"{datatype[:3]}_{self.version + 1}"
            self.rows[datatype][ident] = self._stamped({"id": ident, **fields})
            if key is not None:
                self.keys[(datatype, key)] = ident
            return dict(self.rows[datatype][ident]), True

    def update(self, datatype: str, ident: str, fields: Any) -> dict[str, Any]:
        row = self.get(datatype, ident)
        _check(datatype, fields, creating=False)
        with self.lock:
            self.rows[datatype][ident] = self._stamped({**row, **fields})
            return dict(self.rows[datatype][ident])

    def delete(self, datatype: str, ident: str) -> None:
        self.get(datatype, ident)
        with self.lock:
            self.rows[datatype][ident] = self._stamped({"id": ident, "deleted": True})

    def _stamped(self, row: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        return {**row, "version": self.version,
                "updated_at": datetime.now(UTC).isoformat(timespec="microseconds")}


def _check(datatype: str, fields: Any, *, creating: bool) -> None:
    """Refuse what a strict API refuses, naming the field: 422 with the field."""
    schema = next(dt for dt in DATATYPES if dt.name == datatype)
    if not isinstance(fields, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object of fields")
    for name, value in fields.items():
        if name not in schema.property_names:
            raise ApiError(422, "invalid", f"unknown field {name!r}", name)
        if value is not None and not isinstance(value, str):
            raise ApiError(422, "invalid", f"{name} must be text", name)
    for prop in schema.properties:
        if prop.required and not fields.get(prop.name) and (creating or prop.name in fields):
            raise ApiError(422, "invalid", f"{prop.name} is required", prop.name)
