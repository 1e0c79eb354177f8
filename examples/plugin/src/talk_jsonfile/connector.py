"""The connector: talk's CRUD protocol over a ``JsonFolder``.

It checks what it is given the way a strict API would (unknown fields,
missing required fields, values that are not text), because a connector
that accepts anything hides mapping mistakes until they reach a customer's
data. Its errors tell the engine what a failure costs: ``RecordError`` one
record, ``TransientError`` a retry later, ``AccessDenied`` the whole run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from talk_core.connector import Page, Reject
from talk_core.errors import AccessDenied, ConnectorError, RecordError, TransientError
from talk_core.model import DataType, Entity
from talk_jsonfile.folder import DamagedFile, JsonFolder
from talk_jsonfile.schema import DATATYPES


class JsonFileConnector:
    """One configured JSON folder."""

    def __init__(self, folder: JsonFolder, *, page_size: int = 100) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        self.folder = folder
        self.page_size = page_size
        self._datatypes = {dt.name: dt for dt in DATATYPES}

    def datatype(self, name: str) -> DataType:
        try:
            return self._datatypes[name]
        except KeyError:
            raise KeyError(f"{self.folder.path} has no datatype {name!r}; it has "
                           f"{', '.join(sorted(self._datatypes))}") from None

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        schema = self.datatype(datatype)
        after = _version(cursor, datatype)
        with _errors(self.folder, datatype):
            changes = self.folder.changes(schema.name, after)
        for start in range(0, len(changes), self.page_size):
            batch = changes[start:start + self.page_size]
            page = Page([], cursor=str(batch[-1][0]))
            for _, ident, record in batch:
                _add(page, schema, ident, record)
            yield page

    def get(self, datatype: str, id: str) -> Entity | None:
        with _errors(self.folder, datatype):
            record = self.folder.get(self.datatype(datatype).name, id)
        return None if record is None else _entity(id, record)

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        schema = self.datatype(datatype)
        _check(schema, properties, creating=True)
        with _errors(self.folder, datatype):
            ident, record = self.folder.insert(schema.name, properties, key=key)
        return _entity(ident, record)

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        schema = self.datatype(datatype)
        _check(schema, changes, creating=False)
        with _errors(self.folder, datatype):
            try:
                record = self.folder.update(schema.name, id, changes)
            except KeyError:
                raise RecordError(f"{datatype} {id}: no such record") from None
        return _entity(id, record)

    def delete(self, datatype: str, id: str) -> None:
        with _errors(self.folder, datatype):
            self.folder.delete(self.datatype(datatype).name, id)

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        with _errors(self.folder, datatype):
            ident = self.folder.find_key(self.datatype(datatype).name, key)
        return None if ident is None else self.get(datatype, ident)

    def close(self) -> None:
        """Nothing to release: every call opens and closes its file."""


def _version(cursor: str | None, datatype: str) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ConnectorError(f"{datatype}: cursor {cursor!r} is not a version number")
    return int(cursor)


def _add(page: Page, schema: DataType, ident: str, record: dict[str, Any] | None) -> None:
    """A record, a tombstone, or a reject naming what is wrong with the record."""
    if record is None:
        page.entities.append(Entity(ident, deleted=True))
        return
    try:
        _check(schema, record["fields"], creating=True, where=f"{schema.name} {ident}")
    except RecordError as exc:
        page.rejects.append(Reject(ident, str(exc), record["fields"]))
        return
    page.entities.append(_entity(ident, record))


def _entity(ident: str, record: dict[str, Any]) -> Entity:
    return Entity(ident, dict(record["fields"]), datetime.fromisoformat(record["updated"]))


def _check(schema: DataType, values: dict[str, Any], *, creating: bool,
           where: str = "") -> None:
    """Refuse what the folder must not hold, naming the record and field."""
    where = where or schema.name
    unknown = sorted(set(values) - schema.property_names)
    if unknown:
        raise RecordError(f"{where}: unknown field(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(schema.property_names))}")
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise RecordError(f"{where}: {name} must be text, got {value!r}")
    for prop in schema.properties:
        blank = not values.get(prop.name)
        if prop.required and blank and (creating or prop.name in values):
            raise RecordError(f"{where}: {prop.name} is required")


@contextmanager
def _errors(folder: JsonFolder, datatype: str) -> Iterator[None]:
    """What a failing file means for the run: the whole run, a retry, or this datatype."""
    try:
        yield
    except PermissionError as exc:
        raise AccessDenied(f"{datatype}: cannot use {exc.filename or folder.path}: permission "
                           "denied; let the user that runs talk read and write the folder"
                           ) from None
    except DamagedFile as exc:
        raise ConnectorError(f"{datatype}: {exc}") from None
    except OSError as exc:
        raise TransientError(f"{datatype}: {folder.path}: {exc.strerror or exc}") from None
