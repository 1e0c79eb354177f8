"""Invoiced's REST conventions on top of the core's transport base (``talk_core.rest``).

The base owns retries (429, 5xx, dropped connections; a POST only with an
idempotency key), the error map (401 stops the run, other 4xx are the
record's), the ``Link: rel="next"`` paginator and the paging guard, and
(``answers_json``) an HTML page where Invoiced's JSON belongs: a proxy's or
maintenance page, retried like a 503 and then the system's outage
(``MaintenancePage``, exit 7), never a record's or a page's fault. This
module owns what is particular to Invoiced: Basic auth with the key as
user name (so the user name is the secret), the error body's ``message``
and ``param``, idempotency keys, ``X-Total-Count``, and refusing to trust
a JSON body of the wrong shape: a listing page that is not a JSON list
fails that listing (``MalformedResponse``), not the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from talk_core import interrupt
from talk_core.errors import RecordError
from talk_core.rest import (
    BasicAuth,
    HttpClient,
    HttpStatusError,
    LinkHeader,
    RestStream,
    path_segment,
)
from talk_core.rest import Endpoint as RestEndpoint
from talk_core.rest.errors import refuse_web_page
from talk_invoiced.schema import ENDPOINTS, Endpoint, Nesting

PRODUCTION = "https://api.invoiced.com"
SANDBOX = "https://api.sandbox.invoiced.com"
MAX_PAGE = 100


class MalformedResponse(RecordError):
    """The JSON answer was not what the endpoint promises (a wrong shape, not JSON at all).

    An HTML page is not this: it is the system's state, ``MaintenancePage``.
    """


def describe_error(response: requests.Response) -> str:
    """Invoiced's own words for a refusal, with the field it names."""
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        text = " ".join(response.text.split())[:120]
        return f"non-JSON error body ({kind}): {text!r}"
    if not isinstance(body, dict):
        return f"unexpected error body: {str(body)[:120]}"
    message = str(body.get("message") or response.reason or "error")
    param = body.get("param")
    return f"{message} (param: {param})" if param else message


def refused_hint(system: str) -> str:
    """What to check when Invoiced refuses the key (a 401 stops the run)."""
    where = f"the api_key of system {system!r}" if system else "the api_key option"
    return (f"check {where}: a key of the live account does not open the sandbox, "
            "nor the other way round")


def _snippet(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "no content type")
    text = " ".join(response.text.split())[:80]
    return f"{kind}: {text!r}"


class KeyAsUser(BasicAuth):
    """Invoiced's Basic auth: the API key is the user name, the password empty.

    The key is the secret here, so it is named among the secrets the client
    keeps out of every message.
    """

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key, "")
        self._key = str(api_key)

    def __repr__(self) -> str:
        return "KeyAsUser(***)"

    def secrets(self) -> tuple[str, ...]:
        return (self._key, *super().secrets())


class _NotAList(Exception):
    """A listing page that is not a JSON list; the listing says which page it was."""


class _ListingStream(RestStream):
    """An Invoiced listing: a JSON page that is not a list is that listing's fault.

    It stops the read of that datatype (a page dead letter the next clean
    read clears), not every system's run. An HTML page where the list
    belongs is an outage instead (``MaintenancePage``), as for every request.
    """

    def decode(self, response: requests.Response, what: str) -> Any:
        refuse_web_page(response, f"{self.name} {what}", self.client.safe_base_url)
        try:
            return response.json()
        except ValueError:
            raise _NotAList(_snippet(response)) from None

    def rows_of(self, body: Any, what: str) -> list[Any]:
        if not isinstance(body, list):
            raise _NotAList(type(body).__name__)
        return body


class InvoicedApi:
    """One Invoiced account: requests, decoded and checked."""

    def __init__(
        self,
        api_key: str,
        base_url: str = PRODUCTION,
        *,
        page_size: int = MAX_PAGE,
        retries: int = 5,
        backoff: float = 0.5,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = interrupt.sleep,
        system: str = "",
        limits: Mapping[str, Any] | None = None,
    ) -> None:
        self.page_size = max(1, min(int(page_size), MAX_PAGE))
        self.http = HttpClient(
            base_url, name="Invoiced", auth=KeyAsUser(api_key),
            headers={"Accept": "application/json"}, retries=retries, backoff=backoff,
            timeout=timeout, describe_error=describe_error, sleep=sleep,
            refused_hint=refused_hint(system), limits=limits,
            # a maintenance or proxy page where JSON belongs: an outage, not the record's
            answers_json=True,
        )
        self.paginator = LinkHeader(page_size=self.page_size, size_param="per_page")

    def __repr__(self) -> str:
        return f"InvoicedApi({self.http.base_url!r})"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             body: Any = None, key: str | None = None, absolute: bool = False) -> Any:
        """Send one request and answer its decoded JSON body (None for 204).

        ``absolute``: the body sets values outright (a PATCH that adds
        nothing), so sending it twice does no harm and a dropped connection
        is retried like a GET's.
        """
        headers = {"Idempotency-Key": key} if key else {}
        response = self.http.request(
            method, path, params=params, json=body, headers=headers,
            # a POST or PATCH with an idempotency key is replayed, not repeated
            retry=True if key or absolute else None,
        )
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise MalformedResponse(
                f"Invoiced {method} {path}: expected JSON, got {_snippet(response)}"
            ) from None

    def object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """A request whose answer must be one object with an id."""
        answer = self.call(method, path, **kwargs)
        if not isinstance(answer, dict) or "id" not in answer:
            raise MalformedResponse(
                f"Invoiced {method} {path}: expected an object with an id, got "
                f"{type(answer).__name__}: {str(answer)[:80]!r}"
            )
        return answer

    def find(self, path: str) -> dict[str, Any] | None:
        """GET one object; None when Invoiced says it does not exist."""
        try:
            return self.object("GET", path)
        except HttpStatusError as exc:
            if exc.status == 404:
                return None
            raise

    def pages(self, path: str, params: dict[str, Any] | None = None
              ) -> Iterator[tuple[str, list[Any]]]:
        """Every page of a listing, following ``Link: rel="next"``.

        Answers (where, rows): ``where`` names the endpoint and page for
        messages about a bad row.
        """
        for where, rows, _total in self.counted_pages(path, params):
            yield where, rows

    def counted_pages(self, path: str, params: dict[str, Any] | None = None
                      ) -> Iterator[tuple[str, list[Any], int | None]]:
        """``pages`` with the listing's ``X-Total-Count`` (None when not told) on each page.

        A caller that would rather ask otherwise than read a long listing
        learns its length from the first page.
        """
        endpoint = RestEndpoint(path, path, records="", paginator=self.paginator)
        pages = _ListingStream(self.http, endpoint, name="Invoiced").pages(params)
        number = 1
        while True:
            where = f"GET {path} page {number}"
            try:
                page = next(pages, None)
            except _NotAList as exc:
                raise MalformedResponse(f"Invoiced {where}: expected a JSON list, got {exc}"
                                        ) from None
            if page is None:
                return
            told = page.response.headers.get("X-Total-Count", "")
            yield where, list(page.rows), int(told) if told.isdigit() else None
            number += 1

    def close(self) -> None:
        self.http.close()


def segment(value: object) -> str:
    """A record id as one path segment of Invoiced's API (percent-encoded, never ``..``)."""
    return path_segment(value, "Invoiced")




def collection_path(endpoint: Endpoint, parent: object | None = None) -> str:
    """Where a datatype's records are listed and created (under ``parent`` when nested)."""
    if endpoint.nesting is Nesting.PATH:
        assert endpoint.parent is not None
        return f"{ENDPOINTS[endpoint.parent].path}/{segment(parent)}/{endpoint.path}"
    return endpoint.path


def record_path(endpoint: Endpoint, ident: object, parent: object | None = None) -> str:
    """Where one record lives, every id encoded."""
    return f"{collection_path(endpoint, parent)}/{segment(ident)}"
