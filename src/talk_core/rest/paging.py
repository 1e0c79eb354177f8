"""How an API says where the next page is: four styles, one interface.

A paginator answers the request for the first page and, from each answer,
the request for the next one or None. The styles talk's systems use:

- ``LinkHeader``: ``Link: <url>; rel="next"`` (Invoiced, GitHub-style APIs);
- ``ODataNext``: ``{"d": {"results": [...], "__next": url}}`` (Exact Online);
- ``Offset``: ``limit`` and ``offset`` (or ``page``) parameters, done when a
  page comes back short or the body says there is no more;
- ``Cursor``: a token from the body sent back as a parameter.

Every step passes ``Paging``, the guard against a next link back to a page
already read and against more pages than ``max_pages`` allows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs
import requests

from talk_core.rest.errors import AnswerOutOfBounds


class Paging:
    """One read's pages: at most ``limit``, and none asked for twice.

    A ``next`` link back to a page already read, or a cursor that does not
    move while the API says there is more, would read forever; both end the
    read of that datatype with a clear error instead.
    """

    def __init__(self, what: str, limit: int) -> None:
        self.what = what
        self.limit = limit
        self.count = 0
        self._seen: set[str] = set()

    def next(self, marker: str) -> None:
        """Before asking for the page ``marker`` (its link, cursor or offset) names."""
        self.count += 1
        if self.count > self.limit:
            raise AnswerOutOfBounds(f"{self.what}: more than {self.limit:,} pages in one "
                                    "read (max_pages); the API may be paging in a circle")
        if marker in self._seen:
            raise AnswerOutOfBounds(f"{self.what}: page {self.count} asks again for a page "
                                    "already read in this read (a next link or cursor that "
                                    "does not move); the read stops here")
        self._seen.add(marker)


@attrs.frozen
class PageRequest:
    """Where a page is: a path (or a link the API gave) and the query parameters to add."""

    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)

    def marker(self) -> str:
        """What identifies this page for ``Paging``: the same page, the same marker."""
        return json.dumps([self.path, sorted((str(k), str(v)) for k, v in self.params.items())])


class Paginator(Protocol):
    """Where the first page is and, after each answer, where the next one is."""

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest: ...

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None: ...


def dig(body: Any, path: str | Sequence[str]) -> Any:
    """``body``'s value at a dotted path (``"d.results"``); None where any step is missing.

    An empty path is the body itself.
    """
    steps = path.split(".") if isinstance(path, str) else list(path)
    found = body
    for step in steps:
        if not step:
            continue
        if not isinstance(found, dict) or step not in found:
            return None
        found = found[step]
    return found


@attrs.frozen
class SinglePage:
    """An API that answers everything at once."""

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest(path, dict(params))

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None:
        return None


@attrs.frozen
class LinkHeader:
    """``Link: <...>; rel="next"``: the next page's full address, query included.

    ``page_size`` (with ``size_param``) asks for pages of that size on the
    first request; the links carry it on.
    """

    page_size: int | None = None
    size_param: str = "per_page"

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        wanted = dict(params)
        if self.page_size is not None:
            wanted.setdefault(self.size_param, self.page_size)
        return PageRequest(path, wanted)

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None:
        link = response.links.get("next", {}).get("url")
        return PageRequest(str(link)) if link else None


@attrs.frozen
class ODataNext:
    """OData v2's ``__next`` inside the ``d`` envelope (a full link, query included)."""

    field: str = "d.__next"

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest(path, dict(params))

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None:
        link = dig(body, self.field)
        return PageRequest(link) if isinstance(link, str) and link else None


@attrs.frozen
class Offset:
    """``limit``/``offset`` parameters (or a page number: ``by_page=True``).

    The read ends on a short or empty page, or when ``more_field`` in the
    body is false (``has_more``); a body that says true goes on even after
    a short page.
    """

    page_size: int = 100
    size_param: str = "limit"
    offset_param: str = "offset"
    by_page: bool = False
    first_page: int = 1
    more_field: str | None = "has_more"

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        start = self.first_page if self.by_page else 0
        return PageRequest(path, {**params, self.size_param: self.page_size,
                                  self.offset_param: start})

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None:
        more = dig(body, self.more_field) if self.more_field else None
        if not rows or more is False or (more is not True and len(rows) < self.page_size):
            return None
        at = int(asked.params.get(self.offset_param, 0))
        step = 1 if self.by_page else len(rows)
        return PageRequest(asked.path, {**asked.params, self.offset_param: at + step})


@attrs.frozen
class Cursor:
    """A token from ``next_field`` in the body, sent back as ``param``; none or empty ends it.

    ``more_field`` (if the API has one) false ends the read even with a token.
    """

    next_field: str = "next_cursor"
    param: str = "cursor"
    page_size: int | None = None
    size_param: str = "limit"
    more_field: str | None = None

    def first(self, path: str, params: Mapping[str, Any]) -> PageRequest:
        wanted = dict(params)
        if self.page_size is not None:
            wanted.setdefault(self.size_param, self.page_size)
        return PageRequest(path, wanted)

    def next(self, asked: PageRequest, response: requests.Response, body: Any,
             rows: Sequence[Any]) -> PageRequest | None:
        if self.more_field is not None and dig(body, self.more_field) is False:
            return None
        token = dig(body, self.next_field)
        if token is None or token == "":
            return None
        return PageRequest(asked.path, {**asked.params, self.param: token})
