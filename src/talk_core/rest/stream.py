"""A datatype's REST endpoint as data: where it lives, how it pages, how it is written.

An ``Endpoint`` is one row of a connector's endpoint table: the
collection's path, where a list answer keeps its records and a single
answer its record, the id field, the paginator, and the methods that
create, update and delete (None: the API does not). ``RestStream`` binds
an endpoint to an ``HttpClient`` and does what every connector did by
hand: page through a listing under the ``Paging`` guard, decode each
answer (not JSON: a ``RecordError`` naming the request; an HTML page: an
outage, see ``errors.MaintenancePage``), and send the writes. What stays
in the connector is what is its API's own: turning records into entities.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs
import requests

from talk_core.errors import RecordError
from talk_core.rest.client import HttpClient, path_segment
from talk_core.rest.errors import HttpStatusError, refuse_web_page
from talk_core.rest.paging import PageRequest, Paginator, SinglePage, dig

#: Finds the records of a list answer (None: the answer is not a list answer).
RecordsOf = Callable[[Any], "Sequence[Any] | None"]
#: Makes the error for an answer that is not what the API promises (message, raw text).
BadAnswer = Callable[[str, str], Exception]


def _bad_answer(message: str, raw: str) -> Exception:
    return RecordError(message)


@attrs.frozen
class Endpoint:
    """One datatype's endpoint.

    ``records``: where a list answer keeps its records, a dotted path
    (``"data"``, ``"d.results"``; ``""``: the body is the list) or a function
    of the body. ``record``: where a single answer keeps its record
    (``"d"`` for OData; ``""``: the body). ``item``: a record's address,
    ``{path}`` and ``{id}`` (percent-encoded, never ``.`` or ``..``) filled in.
    ``create``/``update``/``delete``: the method for each, None if the API has
    none. ``gone``: statuses that mean a record does not exist (a delete of
    it is done, a fetch answers None).
    """

    name: str
    path: str
    id_field: str = "id"
    records: str | RecordsOf = "data"
    record: str = ""
    paginator: Paginator = attrs.field(factory=SinglePage)
    params: Mapping[str, Any] = attrs.field(factory=dict)
    item: str = "{path}/{id}"
    create: str | None = "POST"
    update: str | None = "PATCH"
    delete: str | None = "DELETE"
    gone: frozenset[int] = frozenset({404, 410})

    def item_path(self, ident: Any, what: str = "") -> str:
        return self.item.format(path=self.path, id=path_segment(ident, what or self.name))

    def rows(self, body: Any) -> Sequence[Any] | None:
        if callable(self.records):
            return self.records(body)
        if self.records == "" and isinstance(body, list):
            return body
        found = dig(body, self.records)
        return found if isinstance(found, list) else None


@attrs.frozen
class RestPage:
    """One page of a listing: its records, the decoded body and the response."""

    rows: Sequence[Any]
    body: Any
    response: requests.Response
    request: PageRequest


class RestStream:
    """An ``Endpoint`` bound to a client: its listing, its records, its writes.

    ``bad_answer(message, raw)`` makes the error for an answer that is not
    what the API promises (default ``RecordError``); ``name`` opens every
    message (the system's name, as a user sees it).
    """

    def __init__(self, client: HttpClient, endpoint: Endpoint, *, name: str = "",
                 bad_answer: BadAnswer = _bad_answer) -> None:
        self.client = client
        self.endpoint = endpoint
        self.name = name or client.name
        self.bad_answer = bad_answer

    def __repr__(self) -> str:
        return f"RestStream({self.name!r}, {self.endpoint.path!r})"

    # -- answers -----------------------------------------------------------------------
    def decode(self, response: requests.Response, what: str) -> Any:
        """The JSON body, or the error saying what came instead."""
        refuse_web_page(response, f"{self.name} {what}", self.client.safe_base_url)
        try:
            return response.json()
        except ValueError:
            text = response.text
            raise self.bad_answer(f"{self.name} {what}: the answer is not JSON "
                                  f"({text[:80]!r})", text[:2000]) from None

    def rows_of(self, body: Any, what: str) -> Sequence[Any]:
        rows = self.endpoint.rows(body)
        if rows is None:
            shape = self.endpoint.records if isinstance(self.endpoint.records, str) else ""
            where = f"a list at {shape!r}" if shape else "a list"
            raise self.bad_answer(f"{self.name} {what}: expected {where} of records, got "
                                  f"{str(body)[:80]}", repr(body)[:2000])
        return rows

    # -- reading -----------------------------------------------------------------------
    def pages(self, params: Mapping[str, Any] | None = None, *, path: str | None = None,
              paginator: Paginator | None = None) -> Iterator[RestPage]:
        """Every page of the listing, under the ``Paging`` guard (no page read twice)."""
        endpoint = self.endpoint
        pager = paginator or endpoint.paginator
        asked: PageRequest | None = pager.first(path or endpoint.path,
                                                {**endpoint.params, **(params or {})})
        what = f"GET /{endpoint.path}"
        paging = self.client.paging(what)
        while asked is not None:
            paging.next(asked.marker())
            response = self.client.get(asked.path, params=dict(asked.params) or None)
            body = self.decode(response, what)
            rows = self.rows_of(body, what)
            yield RestPage(rows, body, response, asked)
            asked = pager.next(asked, response, body, rows)

    def records(self, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        for page in self.pages(params):
            yield from page.rows

    def fetch(self, ident: Any) -> Any | None:
        """One record's body (at ``record``), or None if the API says it does not exist."""
        path = self.endpoint.item_path(ident, f"{self.name} {self.endpoint.name}")
        try:
            response = self.client.get(path)
        except HttpStatusError as exc:
            if exc.status in self.endpoint.gone:
                return None
            raise
        return self.one(response, f"GET /{path}")

    def one(self, response: requests.Response, what: str) -> Any:
        """A single answer's record."""
        return dig(self.decode(response, what), self.endpoint.record)

    # -- writing -----------------------------------------------------------------------
    def create(self, body: Any, *, headers: Mapping[str, str] | None = None,
               retry: bool | None = None) -> Any:
        """POST (or the endpoint's create method) ``body``; the record the answer holds.

        ``retry=True`` only with an idempotency key: a create resent blindly
        may make its record twice.
        """
        method = self._method(self.endpoint.create, "create")
        response = self.client.request(method, self.endpoint.path, json=body,
                                       headers=dict(headers or {}), retry=retry)
        return self.one(response, f"{method} /{self.endpoint.path}")

    def update(self, ident: Any, body: Any, *, headers: Mapping[str, str] | None = None,
               retry: bool | None = None) -> requests.Response:
        """Send the endpoint's update method to the record; the response (decode with ``one``)."""
        method = self._method(self.endpoint.update, "update")
        path = self.endpoint.item_path(ident, f"{self.name} {self.endpoint.name}")
        return self.client.request(method, path, json=body, headers=dict(headers or {}),
                                   retry=retry)

    def delete(self, ident: Any) -> bool:
        """Delete the record; True if it was there, False if it was gone already."""
        method = self._method(self.endpoint.delete, "delete")
        path = self.endpoint.item_path(ident, f"{self.name} {self.endpoint.name}")
        try:
            self.client.request(method, path)
        except HttpStatusError as exc:
            if exc.status in self.endpoint.gone:
                return False
            raise
        return True

    def _method(self, method: str | None, action: str) -> str:
        if method is None:
            raise RecordError(f"{self.name} {self.endpoint.name}: the API has no {action}")
        return method
