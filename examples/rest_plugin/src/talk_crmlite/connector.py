"""The connector: talk's CRUD protocol over CRM Lite's REST API.

What is CRM Lite's own is data: the endpoint table below (a path, where a
listing keeps its records, how it pages). Retries, ``Retry-After``, a 401
as a refused key, a 4xx as one record's error and an HTML page as an
outage all come from ``talk_core.rest``. The few lines of glue turn the
API's change feed (``changed_after`` a version number, tombstones
included) into talk's pages and cursors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from talk_core.connector import Page
from talk_core.errors import ConnectorError, RecordError
from talk_core.model import DataType, Entity
from talk_core.rest import ApiKeyHeader, Cursor, Endpoint, HttpClient, RestStream
from talk_crmlite.schema import DATATYPES

#: One row per datatype: everything the transport needs to know about the API.
ENDPOINTS = {
    "customers": Endpoint("customers", "v1/customers", records="data",
                          paginator=Cursor(next_field="next_cursor")),
    "contacts": Endpoint("contacts", "v1/contacts", records="data",
                         paginator=Cursor(next_field="next_cursor")),
}
#: Fields of an answer that are the API's bookkeeping, not a datatype's property.
BOOKKEEPING = ("id", "updated_at", "version", "deleted")


def describe_error(response: Any) -> str:
    """CRM Lite's ``{"error": {"message": ...}}`` as one sentence, or the text sent."""
    try:
        error = response.json().get("error", {})
        return str(error["message"])
    except (ValueError, AttributeError, KeyError, TypeError):
        return str(response.text)[:200] or str(response.reason)


class CrmLiteConnector:
    """One configured CRM Lite account."""

    def __init__(self, base_url: str, api_key: str, *, page_size: int = 100,
                 client: HttpClient | None = None,
                 limits: Mapping[str, Any] | None = None) -> None:
        self.http = client or HttpClient(
            base_url, name="CRM Lite", auth=ApiKeyHeader(api_key, "X-API-Key"),
            headers={"Accept": "application/json"}, describe_error=describe_error,
            answers_json=True, limits=limits)
        self.page_size = page_size
        self.streams = {name: RestStream(self.http, row) for name, row in ENDPOINTS.items()}
        self._datatypes = {dt.name: dt for dt in DATATYPES}

    def __repr__(self) -> str:
        return f"CrmLiteConnector({self.http.base_url!r})"

    def datatype(self, name: str) -> DataType:
        try:
            return self._datatypes[name]
        except KeyError:
            raise KeyError(f"CRM Lite has no datatype {name!r}; it has "
                           f"{', '.join(sorted(self._datatypes))}") from None

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        self.datatype(datatype)
        if cursor is not None and not cursor.isdigit():
            raise ConnectorError(f"{datatype}: cursor {cursor!r} is not a version number")
        for page in self.streams[datatype].pages(
                {"changed_after": cursor or "0", "limit": self.page_size}):
            if page.rows:
                yield Page([_entity(row) for row in page.rows],
                           cursor=str(max(int(row["version"]) for row in page.rows)))

    def get(self, datatype: str, id: str) -> Entity | None:
        self.datatype(datatype)
        row = self.streams[datatype].fetch(id)
        return None if row is None else _entity(row)

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        self.datatype(datatype)
        return _entity(self.streams[datatype].create(
            properties, headers={"Idempotency-Key": key}, retry=True))

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        self.datatype(datatype)
        stream = self.streams[datatype]
        return _entity(stream.one(stream.update(id, changes, retry=True), f"PATCH {id}"))

    def delete(self, datatype: str, id: str) -> None:
        """Idempotent: a record that is already gone is what was wanted."""
        self.datatype(datatype)
        self.streams[datatype].delete(id)

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        self.datatype(datatype)
        found = list(self.streams[datatype].records({"idempotency_key": key}))
        return _entity(found[0]) if found else None

    def close(self) -> None:
        self.http.close()


def _entity(row: Any) -> Entity:
    try:
        if row.get("deleted"):
            return Entity(str(row["id"]), deleted=True)
        return Entity(str(row["id"]), {k: v for k, v in row.items() if k not in BOOKKEEPING},
                      datetime.fromisoformat(row["updated_at"]))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"CRM Lite answered a record without a valid id and updated_at "
                          f"({type(exc).__name__}: {exc}): {str(row)[:120]}") from None
