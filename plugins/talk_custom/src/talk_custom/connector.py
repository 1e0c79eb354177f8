"""The REST backend: a user's in-house API that speaks (or nearly speaks) the contract.

The contract is in ``docs/custom-rest-contract.md``. Paths, field names and
the id, updated and deleted fields come from the ``Layout``, so an API that
differs only in names needs no code: each resource becomes one row of an
endpoint table (``talk_core.rest.Endpoint``) and all HTTP goes through the
transport base (retries, ``Retry-After``, loopback-only plain http, a page
of HTML as an outage). What is this contract's own is the list answer
(``{"data": [...], "has_more": bool}`` or a bare list) and the change
feed's keyset paging on (``since``, ``after``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
import requests

from talk_core.connector import Page, Reject
from talk_core.errors import RecordError
from talk_core.model import DataType, Entity, ReadMode
from talk_core.rest import (
    AllOf,
    ApiKeyHeader,
    BearerToken,
    Endpoint,
    HttpClient,
    Offset,
    PageRequest,
    RestStream,
)
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


LIST_ANSWER = '{"data": [records], "has_more": bool} or a list'


def listed(body: Any) -> Sequence[Any] | None:
    """The contract's list answer: ``{"data": [...]}`` or the list itself."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return list(body["data"])
    return None


def has_more(body: Any) -> bool | None:
    more = body.get("has_more") if isinstance(body, dict) else None
    return more if isinstance(more, bool) else None


@attrs.frozen
class Changes:
    """The change feed's keyset paging: (``since``, ``after``) of the last readable record.

    The cursor only moves to a record that was read: a stamp that is not a
    time ("yesterday") may sort after every change still to come.
    """

    resource: Resource
    page_size: int
    system: str

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest(path, {**params, "limit": self.page_size})

    def last(self, rows: Sequence[Any]) -> dict[str, Any] | None:
        return next((r for r in reversed(rows) if record_id(self.resource, r) is not None
                     and updated_of(self.resource, r) is not None), None)

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None:
        more = has_more(body)
        if self.last(rows) is None:
            return None
        if more is False or (more is None and len(rows) < self.page_size):
            return None
        last = self.last(rows)
        assert last is not None and self.resource.updated_field is not None
        return PageRequest(asked.path, {"limit": self.page_size,
                                        "since": last[self.resource.updated_field],
                                        "after": str(last[self.resource.id_field])})


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
        auth = AllOf(*([ApiKeyHeader(str(api_key))] if api_key else []),
                     *([BearerToken(str(token))] if token else []))
        self.http = client or HttpClient(base_url, name=layout.system, auth=auth,
                                         headers={"Accept": "application/json"},
                                         describe_error=describe_error, limits=limits,
                                         answers_json=True)

    def __repr__(self) -> str:
        return f"RestConnector({self.layout.system!r}, {self.http.base_url!r})"

    def datatype(self, name: str) -> DataType:
        return self.layout.resource(name).datatype

    def _stream(self, resource: Resource) -> RestStream:
        """The resource as an endpoint table row: every name in it comes from the layout."""
        endpoint = Endpoint(resource.name, resource.location, id_field=resource.id_field,
                            records=listed, paginator=Offset(page_size=self.page_size),
                            expected=LIST_ANSWER)
        return RestStream(self.http, endpoint, name=self.layout.system,
                          bad_answer=lambda message, raw: RecordError(message))

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
        stream = self._stream(resource)
        changes = Changes(resource, self.page_size, self.layout.system)
        params = {} if since is None else {"since": since, **(
            {"after": after} if after is not None else {})}
        for page in stream.pages(params, paginator=changes):
            rows, more = page.rows, has_more(page.body)
            if len(rows) > self.page_size:
                raise RecordError(f"{self.layout.system} {what}: {len(rows)} records answered "
                                  f"for limit={self.page_size}")
            entities, rejects = self._convert(resource, rows, what)
            last = changes.last(rows)
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

    def _read_full(self, resource: Resource) -> Iterator[Page]:
        what = f"GET /{resource.location}"
        for page in self._stream(resource).pages():
            entities, rejects = self._convert(resource, page.rows, what)
            refuse_rejects_in_full_listing(resource, rejects)
            if entities:
                yield Page([e for e in entities if not e.deleted])

    def _convert(self, resource: Resource, rows: Sequence[Any], what: str
                 ) -> tuple[list[Entity], list[Reject]]:
        entities: list[Entity] = []
        rejects: list[Reject] = []
        for row in rows:
            found = to_entity(resource, row, f"{self.layout.system} {what}")
            (rejects if isinstance(found, Reject) else entities).append(found)  # type: ignore[arg-type]
        return entities, rejects

    # -- single records ------------------------------------------------------------

    def get(self, datatype: str, id: str) -> Entity | None:
        resource = self.layout.resource(datatype)
        stream = self._stream(resource)
        row = stream.fetch(id)
        if row is None:
            return None
        path = stream.endpoint.item_path(id)
        found = entity_or_raise(resource, row, f"{self.layout.system} GET /{path}")
        return None if found.deleted else found

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        resource = self.layout.resource(datatype)
        what = f"POST /{resource.location}"
        row = self._stream(resource).create(resource.to_wire(properties),
                                            headers={"Idempotency-Key": key}, retry=True)
        return entity_or_raise(resource, row, f"{self.layout.system} {what} answered")

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        resource = self.layout.resource(datatype)
        stream = self._stream(resource)
        path = stream.endpoint.item_path(id, f"{self.layout.system} {resource.name}")
        answer = stream.update(id, resource.to_wire(changes), retry=True)
        return entity_or_raise(resource, stream.one(answer, f"PATCH /{path}"),
                               f"{self.layout.system} PATCH /{path} answered")

    def delete(self, datatype: str, id: str) -> None:
        """Idempotent: a record that is already gone (404, 410) is what we wanted."""
        self._stream(self.layout.resource(datatype)).delete(id)

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        resource = self.layout.resource(datatype)
        stream = self._stream(resource)
        what = f"GET /{resource.location}?idempotency_key="
        response = self.http.get(resource.location, params={"idempotency_key": key, "limit": 1})
        rows = stream.rows_of(stream.decode(response, what), what)
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
