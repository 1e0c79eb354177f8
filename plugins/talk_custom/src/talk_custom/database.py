"""A ready SQLite database for a profile: the demo system the README's first command runs on.

The tables follow the profile (or a layout from config), and triggers stamp
the updated column on every insert and update that does not stamp it
itself, so a person editing the file with any SQLite tool is noticed by
the next incremental read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from talk_core.model import PropertyType
from talk_custom.layout import Layout, Resource, build_layout
from talk_custom.profiles import PROFILES
from talk_custom.sample import seed_into
from talk_custom.sqlite_backend import SqliteConnector, quote

_SQL_TYPES = {
    PropertyType.INTEGER: "INTEGER", PropertyType.DECIMAL: "NUMERIC",
    PropertyType.BOOLEAN: "INTEGER", PropertyType.REFERENCE: "INTEGER",
}
#: The same text form the connector writes: microseconds, ``Z``.
STAMP = "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')"


def _table_sql(r: Resource) -> list[str]:
    table = quote(r.location)
    columns = [f"{quote(r.id_field)} INTEGER PRIMARY KEY AUTOINCREMENT"]
    for prop in r.stored:
        columns.append(f"{quote(r.wire(prop.name))} {_SQL_TYPES.get(prop.type, 'TEXT')}")
    for column in (r.updated_field, r.deleted_field):
        if column:
            columns.append(f"{quote(column)} TEXT")
    if r.key_field:
        columns.append(f"{quote(r.key_field)} TEXT UNIQUE")
    sql = [f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(columns)})"]
    if r.updated_field:
        up, ident = quote(r.updated_field), quote(r.id_field)
        name = r.location.replace('"', "")
        sql += [
            f"CREATE INDEX IF NOT EXISTS {quote(name + '_changes')} ON {table} ({up}, {ident})",
            f"CREATE TRIGGER IF NOT EXISTS {quote(name + '_stamp_insert')} AFTER INSERT ON "
            f"{table} WHEN NEW.{up} IS NULL BEGIN UPDATE {table} SET {up} = {STAMP} "
            f"WHERE {ident} = NEW.{ident}; END",
            f"CREATE TRIGGER IF NOT EXISTS {quote(name + '_stamp_update')} AFTER UPDATE ON "
            f"{table} WHEN NEW.{up} IS OLD.{up} BEGIN UPDATE {table} SET {up} = {STAMP} "
            f"WHERE {ident} = NEW.{ident}; END",
        ]
    return sql


def create_database(path: str | Path, profile: str = "customwebshop", *, seed: bool = False,
                    datatypes: dict[str, Any] | None = None) -> Path:
    """Create (or complete) the profile's tables in ``path``; optionally add the sample."""
    target = Path(path)
    layout: Layout = build_layout(PROFILES[profile], datatypes, f"database {target.name}",
                                  backend="sqlite")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(target) as db:
        for resource in layout.resources.values():
            if resource.inline is not None:
                continue  # a column of its parent's table
            for statement in _table_sql(resource):
                db.execute(statement)
    db.close()
    if seed:
        connector = SqliteConnector(layout, target)
        try:
            seed_into(profile, lambda name, fields: connector.insert(name, fields, None).id)
        finally:
            connector.close()
    return target
