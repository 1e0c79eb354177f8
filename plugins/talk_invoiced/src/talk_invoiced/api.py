"""Invoiced's REST conventions on top of the core's HTTP client.

The core's ``HttpClient`` owns retries and transport rules; this module owns
what is particular to Invoiced: Basic auth with the key as user name, the
error body's ``message`` and ``param``, ``Link`` paging, idempotency keys,
and refusing to trust a body that is not the JSON the endpoint promises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import requests

from talk_core import interrupt
from talk_core.errors import RecordError
from talk_core.http import HttpClient, HttpStatusError, path_segment
from talk_invoiced.schema import ENDPOINTS, Endpoint, Nesting

PRODUCTION = "https://api.invoiced.com"
SANDBOX = "https://api.sandbox.invoiced.com"
MAX_PAGE = 100


class MalformedResponse(RecordError):
    """The answer was not what the endpoint promises (an HTML page, a wrong shape)."""


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
            base_url, name="Invoiced", auth=(api_key, ""),
            headers={"Accept": "application/json"}, retries=retries, backoff=backoff,
            timeout=timeout, describe_error=describe_error, sleep=sleep,
            refused_hint=refused_hint(system), limits=limits,
        )

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
        query = {**(params or {}), "per_page": self.page_size}
        url: str | None = path
        number = 1
        paging = self.http.paging(f"GET {path}")
        while url is not None:
            # a next link back to a page already read would page forever
            paging.next(url if number > 1 else f"{path}?first")
            response = self.http.request("GET", url, params=query)
            where = f"GET {path} page {number}"
            try:
                rows = response.json()
            except ValueError:
                raise MalformedResponse(
                    f"Invoiced {where}: expected a JSON list, got {_snippet(response)}"
                ) from None
            if not isinstance(rows, list):
                raise MalformedResponse(
                    f"Invoiced {where}: expected a JSON list, got {type(rows).__name__}"
                )
            told = response.headers.get("X-Total-Count", "")
            yield where, rows, int(told) if told.isdigit() else None
            url = response.links.get("next", {}).get("url")
            query = {}  # the next link carries the query
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
