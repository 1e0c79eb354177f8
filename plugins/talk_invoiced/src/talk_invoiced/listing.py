"""One full listing a run of customers (or invoices), for both readers that need it.

A first sync would list every customer twice: once as customers, once to
find each customer's contacts (Invoiced lists contacts only per customer);
and every invoice twice, as invoices and for their line items. The first
of the two readers lists and keeps the pages; the other takes them, and
the copy is dropped once both have.

A listing is handed on only to a reader whose feed cursor starts at the
same event as the one the listing was taken after (``after``): a listing
taken before a change that reader's cursor skips would miss it for good.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from talk_invoiced.api import InvoicedApi


@attrs.define
class _Kept:
    after: int
    pages: list[tuple[str, list[Any]]]
    served: set[str]


class SharedListing:
    """Every page of one listing, fetched once for ``readers``."""

    def __init__(self, api: InvoicedApi, path: str, readers: frozenset[str]) -> None:
        self.api = api
        self.path = path
        self.readers = readers
        self._kept: _Kept | None = None

    def pages(self, reader: str, after: int) -> Iterator[tuple[str, list[Any]]]:
        """The listing's ``(where, rows)`` pages, taken after the feed's event ``after``."""
        kept = self._kept
        if kept is not None and kept.after == after and reader not in kept.served:
            kept.served.add(reader)
            if kept.served >= self.readers:
                self._kept = None
            yield from kept.pages
            return
        self._kept = None
        pages: list[tuple[str, list[Any]]] = []
        for where, rows in self.api.pages(self.path):
            pages.append((where, rows))
            yield where, rows
        # kept only when read to the end: a listing cut short is no listing
        self._kept = _Kept(after, pages, {reader})
