"""The SQLite backend: an in-house system whose data is a local SQLite database.

Tables and columns come from the ``Layout``; the database is inspected when
the connector opens, so a table or column the config names but the file
lacks is a ``ConfigError`` naming the key, before a single record moves.
The optional columns (updated, deleted, key) fall back quietly when left at
their defaults and absent: no updated or deleted column means full
listings (deletes noticed by absence, rows really deleted), no key column
means no crash recovery by key (match keys still find the record).

Ids are handed out as text whatever the column holds. Timestamps are ISO
8601 UTC with microseconds (``2024-09-01T10:00:00.123456Z``): the updated
column is compared as text, so whatever else writes it must use the same
form (``create_database`` installs triggers that do).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from talk_core.connector import Page, PendingCreate, Recovered, Reject, recover_each
from talk_core.errors import ConfigError, RecordError
from talk_core.ids import new_global_id
from talk_core.model import DataType, Entity, PropertyType, ReadMode
from talk_core.system import SystemSpec
from talk_custom.layout import OPTIONAL_FIELDS, Layout, OptionalField, Resource
from talk_custom.records import entity_or_raise, refuse_rejects_in_full_listing, to_entity
from talk_custom.values import BadValue, check_value, missing_required, unknown_fields

#: Keys asked for in one query: well under SQLite's limit of bound parameters.
KEYS_A_QUERY = 500


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _normalise(resource: Resource, row: dict[str, Any]) -> dict[str, Any]:
    """SQLite's storage classes to the contract's JSON kinds (0/1 booleans, numeric text)."""
    out = dict(row)
    for prop in resource.datatype.properties:
        field = resource.wire(prop.name)
        value = out.get(field)
        if prop.type is PropertyType.BOOLEAN and value in (0, 1) and not isinstance(value, bool):
            out[field] = bool(value)
        elif prop.type is PropertyType.CHILDREN and isinstance(value, str):
            with contextlib.suppress(ValueError):  # an inline JSON array; else refused
                out[field] = json.loads(value)
        elif prop.type is PropertyType.STRING and isinstance(value, int | float) \
                and not isinstance(value, bool):
            out[field] = str(value)
    return out


class SqliteConnector:
    """A ``Connector`` over tables of one SQLite file."""

    def __init__(self, layout: Layout, path: Path, *, page_size: int = 100) -> None:
        self.path = path
        self.page_size = page_size
        self.spec: SystemSpec | None = None
        here = f"[systems.{layout.system}]"
        if not path.is_file():
            raise ConfigError(f"{here} database: no such file {str(path)!r}; create one with "
                              "talk_custom.create_database(path, profile)")
        try:
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            tables = {r[0] for r in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{here} database: {path.name} is not a SQLite database "
                              f"({exc})") from None
        layout = self._people_of(layout, tables)  # builds the layout again: first
        later = {name for name in layout.profile.later if name in layout.resources
                 and name not in layout.overrides
                 and layout.resources[name].location not in tables}
        layout = layout.without(later) if later else layout
        for resource in list(layout.resources.values()):
            if resource.inline is None:  # inline lines are a column of their parent's table
                layout = layout.replace(self._inspect(here, resource, tables))
        self.layout = layout
        self._last = datetime(2000, 1, 1, tzinfo=UTC)

    def __repr__(self) -> str:
        return f"SqliteConnector({self.layout.system!r}, {str(self.path)!r})"

    def _people_of(self, layout: Layout, tables: set[str]) -> Layout:
        """A table made before customers could be persons has no type column: all companies.

        Only when the config leaves ``people`` to the profile; a rule the
        config names must find its column (``_inspect`` says which is missing).
        """
        for name, rule in layout.profile.people.items():
            r = layout.resources.get(name)
            if r is None or layout.people_set(name) or r.location not in tables \
                    or r.datatype.find(rule.field) is None:
                continue
            columns = {row[1] for row in self.db.execute(
                f"PRAGMA table_info({quote(r.location)})")}
            if r.wire(rule.field) not in columns:
                layout = layout.without_people(name, rule.field)
        return layout

    def _inspect(self, here: str, r: Resource, tables: set[str]) -> Resource:
        """The resource as this file allows, or the config key that names what is missing."""
        name = self.path.name
        if r.location not in tables:
            raise ConfigError(f"{here} datatypes.{r.name}.table: no table {r.location!r} in "
                              f"{name}; it has {', '.join(sorted(tables)) or 'no tables'}")
        columns = {row[1] for row in self.db.execute(f"PRAGMA table_info({quote(r.location)})")}
        where = f"table {r.location!r} of {name}"
        if r.id_field not in columns:
            raise ConfigError(f"{here} datatypes.{r.name}.id_field: no column {r.id_field!r} "
                              f"in {where}")
        for prop in r.stored:
            column = r.wire(prop.name)
            if column in columns:
                continue
            if prop.name in r.fields:
                raise ConfigError(f"{here} datatypes.{r.name}.fields.{prop.name}: no column "
                                  f"{column!r} in {where}")
            raise ConfigError(f"{here} datatypes.{r.name}: no column {column!r} in {where}; "
                              f'name its column with fields.{prop.name} = "..." or leave it '
                              f'out with fields.{prop.name} = ""')
        absent: list[OptionalField] = []
        for key in OPTIONAL_FIELDS:
            column = getattr(r, key)
            if column is None or column in columns:
                continue
            if key in r.explicit:
                raise ConfigError(f"{here} datatypes.{r.name}.{key}: no column {column!r} in "
                                  f"{where}")
            absent.append(key)
        return r.without(*absent) if absent else r

    def datatype(self, name: str) -> DataType:
        return self.layout.resource(name).datatype

    def _now(self) -> str:
        now = max(datetime.now(UTC), self._last + timedelta(microseconds=1))
        self._last = now
        return now.isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        try:
            return [dict(row) for row in self.db.execute(sql, args)]
        except sqlite3.Error as exc:
            raise RecordError(f"{self.layout.system} {self.path.name}: {exc}") from None

    # -- reading ---------------------------------------------------------------------

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        r = self.layout.resource(datatype)
        if r.datatype.read_mode is ReadMode.FULL:
            return self._read_full(r)
        if cursor:
            try:
                mark = json.loads(cursor)
                since, after = mark["since"], mark["after"]
            except (ValueError, TypeError, KeyError):
                raise ValueError(f"{datatype}: {cursor!r} is not a cursor this connector "
                                 "issued") from None
            return self._read_changes(r, since, after, live_only=False)
        return self._read_changes(r, None, None, live_only=True)

    def _read_changes(self, r: Resource, since: Any, after: Any, *, live_only: bool
                      ) -> Iterator[Page]:
        assert r.updated_field is not None and r.deleted_field is not None
        table, up, ident = quote(r.location), quote(r.updated_field), quote(r.id_field)
        stamp = f"COALESCE({up}, '')"
        while True:
            conditions, args = [], []
            if live_only:
                conditions.append(f"{quote(r.deleted_field)} IS NULL")
            if since is not None:
                conditions.append(f"({stamp} > ? OR ({stamp} = ? AND {ident} > ?))")
                args += [since, since, after]
            where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
            rows = self._rows(f"SELECT * FROM {table} {where} ORDER BY {stamp}, {ident} "
                              f"LIMIT ?", (*args, self.page_size))
            if not rows:
                return
            since, after = rows[-1][r.updated_field] or "", rows[-1][r.id_field]
            entities, rejects = self._convert(r, rows)
            yield Page(entities, json.dumps({"since": since, "after": after}), rejects)
            if len(rows) < self.page_size:
                return

    def _read_full(self, r: Resource) -> Iterator[Page]:
        table, ident = quote(r.location), quote(r.id_field)
        live = f"{quote(r.deleted_field)} IS NULL AND " if r.deleted_field else ""
        after: Any = None
        while True:
            keyset = f"{ident} > ?" if after is not None else "1"
            args = (after,) if after is not None else ()
            rows = self._rows(f"SELECT * FROM {table} WHERE {live}{keyset} ORDER BY {ident} "
                              "LIMIT ?", (*args, self.page_size))
            if not rows:
                return
            after = rows[-1][r.id_field]
            entities, rejects = self._convert(r, rows)
            refuse_rejects_in_full_listing(r, rejects)
            yield Page(entities)
            if len(rows) < self.page_size:
                return

    def _convert(self, r: Resource, rows: list[dict[str, Any]]
                 ) -> tuple[list[Entity], list[Reject]]:
        entities: list[Entity] = []
        rejects: list[Reject] = []
        where = f"{self.layout.system} table {r.location}"
        for row in rows:
            found = to_entity(r, _normalise(r, row), where)
            if isinstance(found, Reject):
                rejects.append(found)
            else:
                entities.append(found)
        return entities, rejects

    # -- single records ------------------------------------------------------------

    def _find(self, r: Resource, column: str, value: Any) -> dict[str, Any] | None:
        live = f" AND {quote(r.deleted_field)} IS NULL" if r.deleted_field else ""
        rows = self._rows(f"SELECT * FROM {quote(r.location)} WHERE {quote(column)} = ?{live}",
                          (value,))
        return rows[0] if rows else None

    def _entity(self, r: Resource, row: dict[str, Any]) -> Entity:
        return entity_or_raise(r, _normalise(r, row), f"{self.layout.system} table {r.location}")

    def get(self, datatype: str, id: str) -> Entity | None:
        r = self.layout.resource(datatype)
        row = self._find(r, r.id_field, id)
        return None if row is None else self._entity(r, row)

    def _checked(self, r: Resource, properties: dict[str, Any]) -> dict[str, Any]:
        where = f"{self.layout.system} {r.name}"
        unknown = unknown_fields(r.datatype, properties)
        if unknown:
            raise RecordError(f"{where}: unknown field {unknown[0]!r}")
        out = {}
        for name, value in properties.items():
            prop = r.datatype.property(name)
            try:
                value = check_value(prop, value)
            except BadValue as exc:
                raise RecordError(f"{where}: {exc}") from None
            if prop.type is PropertyType.REFERENCE and value is not None:
                target = self.layout.resource(prop.reference or "")
                if self._find(target, target.id_field, value) is None:
                    raise RecordError(f"{where}: field {name!r}: no {target.name} with id "
                                      f"{value!r}")
            if prop.type is PropertyType.CHILDREN and value is not None:
                value = json.dumps(value)
            out[r.wire(name)] = value
        return out

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        return self.insert(datatype, properties, key)

    def insert(self, datatype: str, properties: dict[str, Any], key: str | None) -> Entity:
        """Create; with a key column, a key already used answers its record instead."""
        r = self.layout.resource(datatype)
        if key is not None and r.key_field:
            earlier = self._find(r, r.key_field, key)
            if earlier is not None:
                return self._entity(r, earlier)
        missing = missing_required(r.datatype, properties)
        if missing:
            raise RecordError(f"{self.layout.system} {r.name}: {missing[0]!r} is required")
        values = self._checked(r, properties)
        if r.updated_field:
            values[r.updated_field] = self._now()
        if key is not None and r.key_field:
            values[r.key_field] = key
        columns = ", ".join(quote(c) for c in values)
        marks = ", ".join("?" for _ in values)
        try:
            with self.db:
                cursor = self.db.execute(f"INSERT INTO {quote(r.location)} ({columns}) "
                                         f"VALUES ({marks})", tuple(values.values()))
                rowid = cursor.lastrowid
                rows = self._rows(f"SELECT * FROM {quote(r.location)} WHERE rowid = ?", (rowid,))
                if rows and rows[0].get(r.id_field) is None:
                    # a TEXT key gets no value from SQLite (it even accepts NULL): give it one
                    self.db.execute(f"UPDATE {quote(r.location)} SET {quote(r.id_field)} = ? "
                                    "WHERE rowid = ?", (new_global_id(), rowid))
                    rows = self._rows(f"SELECT * FROM {quote(r.location)} WHERE rowid = ?",
                                      (rowid,))
        except sqlite3.Error as exc:
            raise RecordError(f"{self.layout.system} {r.name}: the insert into "
                              f"{r.location!r} failed: {exc}") from None
        return self._entity(r, rows[0])

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        r = self.layout.resource(datatype)
        row = self._find(r, r.id_field, id)
        if row is None:
            raise RecordError(f"{self.layout.system} {r.name} {id}: not found")
        merged = {**r.from_wire(row), **changes}
        missing = missing_required(r.datatype, merged)
        if missing:
            raise RecordError(f"{self.layout.system} {r.name} {id}: {missing[0]!r} is required")
        values = self._checked(r, changes)
        if r.updated_field:
            values[r.updated_field] = self._now()
        if values:
            sets = ", ".join(f"{quote(c)} = ?" for c in values)
            try:
                with self.db:
                    self.db.execute(f"UPDATE {quote(r.location)} SET {sets} WHERE "
                                    f"{quote(r.id_field)} = ?", (*values.values(), id))
            except sqlite3.Error as exc:
                raise RecordError(f"{self.layout.system} {r.name} {id}: the update failed: "
                                  f"{exc}") from None
        found = self._find(r, r.id_field, id)
        assert found is not None
        return self._entity(r, found)

    def delete(self, datatype: str, id: str) -> None:
        """Tombstone (or delete) the row and its lines; a missing row is fine."""
        r = self.layout.resource(datatype)
        with self.db:
            self._delete(r, id)

    def _delete(self, r: Resource, id: str) -> None:
        for child in self.layout.children_of(r.name):
            assert child.datatype.child_of is not None
            column = child.wire(child.datatype.child_of.parent_property)
            live = f" AND {quote(child.deleted_field)} IS NULL" if child.deleted_field else ""
            for row in self._rows(f"SELECT {quote(child.id_field)} FROM {quote(child.location)} "
                                  f"WHERE {quote(column)} = ?{live}", (id,)):
                self._delete(child, str(row[child.id_field]))
        table, ident = quote(r.location), quote(r.id_field)
        if r.deleted_field:
            now = self._now()
            sets = f"{quote(r.deleted_field)} = ?"
            args: tuple[Any, ...] = (now,)
            if r.updated_field:
                sets += f", {quote(r.updated_field)} = ?"
                args += (now,)
            self.db.execute(f"UPDATE {table} SET {sets} WHERE {ident} = ? AND "
                            f"{quote(r.deleted_field)} IS NULL", (*args, id))
        else:
            self.db.execute(f"DELETE FROM {table} WHERE {ident} = ?", (id,))

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        """By the key column; without one, the one live row holding exactly what was sent."""
        r = self.layout.resource(datatype)
        if r.key_field:
            row = self._find(r, r.key_field, key)
            return None if row is None else self._entity(r, row)
        try:
            values = self._checked(r, {k: v for k, v in properties.items() if v is not None})
        except RecordError:
            return None
        if not values:
            return None
        live = [f"{quote(r.deleted_field)} IS NULL"] if r.deleted_field else []
        where = " AND ".join([*live, *(f"{quote(c)} = ?" for c in values)])
        rows = self._rows(f"SELECT * FROM {quote(r.location)} WHERE {where} LIMIT 2",
                          tuple(values.values()))
        return self._entity(r, rows[0]) if len(rows) == 1 else None

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        """By the key column, one query for up to ``KEYS_A_QUERY`` keys; without it, one by one."""
        r = self.layout.resource(datatype)
        if not r.key_field:
            return recover_each(self, datatype, pending)
        keys = [create.key for create in pending]
        rows: dict[str, dict[str, Any]] = {}
        live = f" AND {quote(r.deleted_field)} IS NULL" if r.deleted_field else ""
        for start in range(0, len(keys), KEYS_A_QUERY):
            chunk = keys[start:start + KEYS_A_QUERY]
            marks = ", ".join("?" for _ in chunk)
            for row in self._rows(f"SELECT * FROM {quote(r.location)} WHERE "
                                  f"{quote(r.key_field)} IN ({marks}){live}", tuple(chunk)):
                rows.setdefault(str(row[r.key_field]), row)
        return {key: (self._entity(r, rows[key]) if key in rows else None) for key in keys}

    def close(self) -> None:
        self.db.close()
