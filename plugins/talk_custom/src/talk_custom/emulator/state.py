"""The records behind the emulator: the REST contract's semantics without any HTTP.

Kept apart from the server so the rules (keyset order, tombstones,
idempotency keys, cascading line deletes, validation with error bodies)
read in one place and the server stays a thin translation of requests.
Records are held in the wire form of a ``Layout``, so the emulator can
also play an API whose field names differ from the profile's.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from talk_core.emulation import ApiError
from talk_core.model import PropertyType, ReadMode
from talk_custom.layout import Layout, Resource
from talk_custom.values import BadValue, check_value, missing_required


class _Table:
    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.rows: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}


def _id_order(ident: Any) -> tuple[int, str]:
    """Numeric ids in numeric order (``"9" < "10"``), others after them as text.

    A row broken behind the API's back (an id that is not text) still sorts,
    so the emulator serves it and the client's handling of it can be seen.
    """
    text = ident if isinstance(ident, str) else repr(ident)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


_NEVER = datetime.min.replace(tzinfo=UTC)


def _stamp_order(stamp: Any) -> tuple[int, datetime, str]:
    """Stamps in time order, whatever their precision or offset.

    A stamp broken behind the API's back still sorts, so the emulator serves
    it and the client's handling of it can be seen: one that is not text
    first, like the oldest change; text that is not a time after every real
    time, in text order (a cursor taken from it would hide every later change,
    which is the mistake a test wants to catch).
    """
    if not isinstance(stamp, str):
        return (-1, _NEVER, "")
    try:
        return (0, _time(stamp), "")
    except ValueError:
        return (1, _NEVER, stamp)


def _time(text: str) -> datetime:
    """An ISO 8601 time; one without an offset is UTC, as the contract's times are."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _since(text: str) -> tuple[int, datetime, str]:
    try:
        return (0, _time(text), "")
    except ValueError:
        raise ApiError(400, "invalid_query", f"since must be an ISO 8601 time, not {text!r}",
                       "since") from None


class EmulatorState:
    """Every table of one emulated system, safe to use from server threads."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.tables = {r.name: _Table(r) for r in layout.resources.values()}
        self.by_path = {r.location: r.name for r in layout.resources.values()}
        self.lock = threading.RLock()
        self._next_id = 0
        self._last = datetime(2024, 1, 1, tzinfo=UTC)

    def clear(self) -> None:
        """Forget every record and key; ids go on from where they were, never reused."""
        with self.lock:
            for table in self.tables.values():
                table.rows.clear()
                table.keys.clear()

    def counts(self) -> dict[str, dict[str, int]]:
        """Live records and tombstones per datatype."""
        with self.lock:
            counts = {}
            for name, table in self.tables.items():
                live = sum(1 for row in table.rows.values() if self._live(table, row))
                counts[name] = {"live": live, "deleted": len(table.rows) - live}
            return counts

    # -- helpers ------------------------------------------------------------------

    def _now(self) -> str:
        """Strictly increasing stamps, fixed width, so text order is time order."""
        now = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
        self._last = now
        return now.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def table(self, datatype: str) -> _Table:
        try:
            return self.tables[datatype]
        except KeyError:
            raise ApiError(404, "not_found", f"no resource {datatype!r}") from None

    def table_at(self, path: str) -> _Table:
        name = self.by_path.get(path.strip("/"))
        if name is None:
            raise ApiError(404, "not_found", f"no resource at /{path.strip('/')}")
        return self.tables[name]

    @staticmethod
    def _live(table: _Table, row: dict[str, Any]) -> bool:
        field = table.resource.deleted_field
        return not (field and row.get(field))

    def _validate(self, table: _Table, body: Any, *, creating: bool) -> dict[str, Any]:
        r = table.resource
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_body", "the body must be a JSON object")
        system = {r.id_field, r.updated_field, r.deleted_field, r.key_field} - {None}
        wire_to_prop = {r.wire(p.name): p for p in r.stored}
        out: dict[str, Any] = {}
        for field, value in body.items():
            if field in system:
                continue
            prop = wire_to_prop.get(field)
            if prop is None:
                raise ApiError(422, "unknown_field", f"{r.location} has no field {field!r}",
                               field)
            try:
                value = check_value(prop, value, field)
            except BadValue as exc:
                raise ApiError(422, "invalid_value", str(exc), field) from None
            if prop.type is PropertyType.REFERENCE and value is not None:
                self._check_reference(prop.reference or "", value, field)
            out[field] = value
        if creating:
            missing = missing_required(r.datatype, r.from_wire(out))
            if missing:
                field = r.wire(missing[0])
                raise ApiError(422, "required", f"{field!r} is required", field)
        return out

    def _check_reference(self, datatype: str, ident: str, field: str) -> None:
        target = self.tables.get(datatype)
        row = target.rows.get(ident) if target is not None else None
        if target is None or row is None or not self._live(target, row):
            raise ApiError(422, "invalid_reference", f"{field!r}: no {datatype} with id "
                           f"{ident!r}", field)

    # -- the contract -------------------------------------------------------------

    def page(self, table: _Table, *, since: str | None = None, after: str | None = None,
             limit: int = 100, offset: int = 0, key: str | None = None
             ) -> tuple[list[dict[str, Any]], bool]:
        """A page of records and whether more follow (see the contract's list rules)."""
        r = table.resource
        with self.lock:
            if key is not None:
                found = table.keys.get(key)
                row = table.rows.get(found) if found else None
                return ([dict(row)] if row and self._live(table, row) else []), False
            rows = list(table.rows.values())
            if r.datatype.read_mode is ReadMode.INCREMENTAL and r.updated_field:
                up = r.updated_field
                rows.sort(key=lambda x: (_stamp_order(x.get(up)), _id_order(x.get(r.id_field))))
                if since is not None:
                    mark = (_since(since), _id_order(after) if after else (-1, ""))
                    rows = [x for x in rows
                            if (_stamp_order(x.get(up)), _id_order(x.get(r.id_field))) > mark]
                else:
                    rows = [x for x in rows if self._live(table, x)]
            else:
                rows = sorted((x for x in rows if self._live(table, x)),
                              key=lambda x: _id_order(x.get(r.id_field)))
            page = rows[offset:offset + limit]
            return [dict(x) for x in page], len(rows) > offset + limit

    def get(self, table: _Table, ident: str) -> dict[str, Any]:
        with self.lock:
            row = table.rows.get(ident)
            if row is None or not self._live(table, row):
                raise ApiError(404, "not_found", f"no {table.resource.name} with id {ident!r}")
            return dict(row)

    def create(self, table: _Table, body: Any, key: str | None = None
               ) -> tuple[dict[str, Any], bool]:
        """The new record and True, or the one an earlier create with ``key`` made and False."""
        r = table.resource
        with self.lock:
            earlier = table.keys.get(key) if key else None
            if earlier is not None and self._live(table, table.rows[earlier]):
                return dict(table.rows[earlier]), False
            fields = self._validate(table, body, creating=True)
            self._next_id += 1
            ident = str(self._next_id)
            row = {r.id_field: ident, **fields}
            if r.updated_field:
                row[r.updated_field] = self._now()
            if r.deleted_field:
                row[r.deleted_field] = None
            table.rows[ident] = row
            if key:
                table.keys[key] = ident
            return dict(row), True

    def update(self, table: _Table, ident: str, body: Any) -> dict[str, Any]:
        r = table.resource
        with self.lock:
            self.get(table, ident)
            fields = self._validate(table, body, creating=False)
            row = table.rows[ident]
            merged = {**row, **fields}
            missing = missing_required(r.datatype, r.from_wire(merged))
            if missing:
                field = r.wire(missing[0])
                raise ApiError(422, "required", f"{field!r} is required", field)
            row.update(fields)
            if r.updated_field:
                row[r.updated_field] = self._now()
            return dict(row)

    def delete(self, table: _Table, ident: str) -> None:
        """Tombstone (or drop) the record and, in cascade, its lines."""
        r = table.resource
        with self.lock:
            self.get(table, ident)
            for child in self.layout.children_of(r.name):
                ctable = self.tables[child.name]
                assert child.datatype.child_of is not None
                parent_field = child.wire(child.datatype.child_of.parent_property)
                for cid, row in list(ctable.rows.items()):
                    if row.get(parent_field) == ident and self._live(ctable, row):
                        self.delete(ctable, cid)
            if r.deleted_field:
                row = table.rows[ident]
                row[r.deleted_field] = self._now()
                if r.updated_field:
                    row[r.updated_field] = row[r.deleted_field]
            else:
                del table.rows[ident]
