"""The REST backend: a user's in-house API that speaks (or nearly speaks) the contract.

The contract is in ``docs/custom-rest-contract.md``. Paths, field names and
the id, updated and deleted fields come from the ``Layout``, so an API that
differs only in names needs no code. All HTTP goes through talk's
``HttpClient`` (retries, ``Retry-After``, loopback-only plain http).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from talk_core.connector import Page, Reject
from talk_core.errors import RecordError
from talk_core.http import HttpClient, HttpStatusError, path_segment
from talk_core.model import DataType, Entity, ReadMode
from talk_core.system import SystemSpec
from talk_custom.layout import Layout, Resource
from talk_custom.records import (
    entity_or_raise,
    record_id,
    refuse_rejects_in_full_listing,
    to_entity,
    updated_of,
)


def describe_error(response: requests.Response) -> str:
    """The contract's ``{"error": {"message", "field"}}``, or whatever text came back."""
    try:
        body = response.json()
    except ValueError:
        return (response.text.strip().replace("\n", " ")[:200] or response.reason)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        field = error.get("field")
        return error["message"] + (f" (field {field!r})" if isinstance(field, str) else "")
    if isinstance(error, str):
        return error
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return str(body)[:200]


class RestConnector:
    """A ``Connector`` over the custom REST contract."""

    def __init__(self, layout: Layout, base_url: str, *, api_key: str | None = None,
                 token: str | None = None, page_size: int = 100,
                 client: HttpClient | None = None,
                 limits: Mapping[str, Any] | None = None) -> None:
        if not 1 <= page_size <= 1000:
            raise ValueError(f"page_size must be 1 to 1000, not {page_size}")
        self.layout = layout
        self.page_size = page_size
        self.spec: SystemSpec | None = None
        headers: dict[str, str] = {"Accept": "application/json"}
        if api_key:
            headers["X-API-Key"] = str(api_key)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = client or HttpClient(base_url, name=layout.system, headers=headers,
                                         describe_error=describe_error, limits=limits)

    def __repr__(self) -> str:
        return f"RestConnector({self.layout.system!r}, {self.http.base_url!r})"

    def datatype(self, name: str) -> DataType:
        return self.layout.resource(name).datatype

    # -- answers ---------------------------------------------------------------------

    def _json(self, response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise RecordError(f"{self.layout.system} {what}: the answer is not JSON "
                              f"({response.text[:80]!r}); the contract answers JSON") from None

    def _rows(self, body: Any, what: str) -> tuple[list[Any], bool | None]:
        """The list answer's records and ``has_more`` (None when the API does not say)."""
        if isinstance(body, list):
            return body, None
        if isinstance(body, dict) and isinstance(body.get("data"), list):
            more = body.get("has_more")
            return body["data"], more if isinstance(more, bool) else None
        raise RecordError(f"{self.layout.system} {what}: expected {{\"data\": [records], "
                          f"\"has_more\": bool}} or a list, got {str(body)[:80]}")

    # -- reading ---------------------------------------------------------------------

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        resource = self.layout.resource(datatype)
        if resource.datatype.read_mode is ReadMode.FULL:
            return self._read_full(resource)
        since, after = _parse_cursor(cursor, resource)
        return self._read_changes(resource, since, after)

    def _read_changes(self, resource: Resource, since: str | None, after: str | None
                      ) -> Iterator[Page]:
        assert resource.updated_field is not None
        what = f"GET /{resource.location}"
        paging = self.http.paging(what)
        while True:
            # has_more with a cursor that does not move would read the same page forever
            paging.next(json.dumps([since, after]))
            params: dict[str, Any] = {"limit": self.page_size}
            if since is not None:
                params["since"] = since
                if after is not None:
                    params["after"] = after
            body = self._json(self.http.get(resource.location, params=params), what)
            rows, more = self._rows(body, what)
            if len(rows) > self.page_size:
                raise RecordError(f"{self.layout.system} {what}: {len(rows)} records answered "
                                  f"for limit={self.page_size}")
            entities, rejects = self._convert(resource, rows, what)
            # the cursor only moves to a record that was read: a stamp that is not a
            # time ("yesterday") may sort after every change still to come
            last = next((r for r in reversed(rows) if record_id(resource, r) is not None
                         and updated_of(resource, r) is not None), None)
            if last is None:
                if rows and (more is True or (more is None and len(rows) >= self.page_size)):
                    raise RecordError(f"{self.layout.system} {what}: no record in the page "
                                      f"has an id and a text {resource.updated_field!r}, so "
                                      "there is no cursor to go on from")
                if rows:  # the last few changes are unreadable: letters now, again next run
                    yield Page(entities, None if since is None else json.dumps(
                        {"since": since, "after": after}), rejects)
                return
            since, after = last[resource.updated_field], str(last[resource.id_field])
            yield Page(entities, json.dumps({"since": since, "after": after}), rejects)
            if more is False or (more is None and len(rows) < self.page_size):
                return

    def _read_full(self, resource: Resource) -> Iterator[Page]:
        what = f"GET /{resource.location}"
        offset = 0
        paging = self.http.paging(what)
        while True:
            paging.next(str(offset))
            params = {"limit": self.page_size, "offset": offset}
            body = self._json(self.http.get(resource.location, params=params), what)
            rows, more = self._rows(body, what)
            entities, rejects = self._convert(resource, rows, what)
            refuse_rejects_in_full_listing(resource, rejects)
            if entities:
                yield Page([e for e in entities if not e.deleted])
            offset += len(rows)
            if not rows or more is False or (more is None and len(rows) < self.page_size):
                return

    def _convert(self, resource: Resource, rows: list[Any], what: str
                 ) -> tuple[list[Entity], list[Reject]]:
        entities: list[Entity] = []
        rejects: list[Reject] = []
        for row in rows:
            found = to_entity(resource, row, f"{self.layout.system} {what}")
            (rejects if isinstance(found, Reject) else entities).append(found)  # type: ignore[arg-type]
        return entities, rejects

    # -- single records ------------------------------------------------------------

    def _one(self, resource: Resource, ident: str) -> str:
        """One record's path: ``.``, ``..`` or an empty id would address the collection."""
        return f"{resource.location}/{path_segment(ident, f'{self.layout.system} {resource.name}')}"

    def get(self, datatype: str, id: str) -> Entity | None:
        resource = self.layout.resource(datatype)
        path = self._one(resource, id)
        try:
            response = self.http.get(path)
        except HttpStatusError as exc:
            if exc.status in (404, 410):
                return None
            raise
        found = entity_or_raise(resource, self._json(response, f"GET /{path}"),
                                f"{self.layout.system} GET /{path}")
        return None if found.deleted else found

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        resource = self.layout.resource(datatype)
        what = f"POST /{resource.location}"
        response = self.http.request("POST", resource.location, json=resource.to_wire(properties),
                                     headers={"Idempotency-Key": key}, retry=True)
        return entity_or_raise(resource, self._json(response, what),
                               f"{self.layout.system} {what} answered")

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        resource = self.layout.resource(datatype)
        path = self._one(resource, id)
        response = self.http.request("PATCH", path, json=resource.to_wire(changes), retry=True)
        return entity_or_raise(resource, self._json(response, f"PATCH /{path}"),
                               f"{self.layout.system} PATCH /{path} answered")

    def delete(self, datatype: str, id: str) -> None:
        """Idempotent: a record that is already gone (404, 410) is what we wanted."""
        path = self._one(self.layout.resource(datatype), id)
        try:
            self.http.request("DELETE", path)
        except HttpStatusError as exc:
            if exc.status not in (404, 410):
                raise

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        resource = self.layout.resource(datatype)
        what = f"GET /{resource.location}?idempotency_key="
        response = self.http.get(resource.location, params={"idempotency_key": key, "limit": 1})
        rows, _ = self._rows(self._json(response, what), what)
        if not rows:
            return None
        found = entity_or_raise(resource, rows[0], f"{self.layout.system} {what}")
        return None if found.deleted else found

    def close(self) -> None:
        self.http.close()


def _parse_cursor(cursor: str | None, resource: Resource) -> tuple[str | None, str | None]:
    if not cursor:
        return None, None
    try:
        data = json.loads(cursor)
        since, after = data["since"], data.get("after")
    except (ValueError, TypeError, KeyError):
        raise ValueError(f"{resource.name}: {cursor!r} is not a cursor this connector "
                         "issued") from None
    return str(since), None if after is None else str(after)
