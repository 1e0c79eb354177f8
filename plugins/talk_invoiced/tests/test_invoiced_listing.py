"""SharedListing: one listing a run for two readers, never a stale or partial one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from talk_invoiced.api import InvoicedApi, MalformedResponse
from talk_invoiced.listing import SharedListing


class Pages:
    """Listing pages as ``InvoicedApi.pages`` answers them; counts the listings begun."""

    def __init__(self, *pages: list[Any], broken_after: int | None = None) -> None:
        self.pages = list(pages)
        self.broken_after = broken_after
        self.listings = 0

    def __call__(self, path: str, _params: dict[str, Any] | None = None
                 ) -> Iterator[tuple[str, list[Any]]]:
        self.listings += 1
        for number, rows in enumerate(self.pages, 1):
            if self.broken_after is not None and number > self.broken_after:
                raise MalformedResponse(f"Invoiced GET {path} page {number}: HTML")
            yield f"GET {path} page {number}", rows


def shared(pages: Pages) -> SharedListing:
    api = InvoicedApi("sk_test", "http://127.0.0.1:9")
    api.pages = pages  # type: ignore[method-assign]
    return SharedListing(api, "customers", frozenset({"customers", "contacts"}))


def _rows(listing: SharedListing, reader: str, after: int) -> list[Any]:
    return [row for _where, rows in listing.pages(reader, after) for row in rows]


def test_the_second_reader_takes_the_first_ones_listing_once() -> None:
    pages = Pages([{"id": 1}, {"id": 2}], [{"id": 3}])
    listing = shared(pages)
    assert _rows(listing, "customers", 50) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert _rows(listing, "contacts", 50) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert pages.listings == 1
    assert _rows(listing, "contacts", 50) == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert pages.listings == 2, "a reader asking again (its next run) lists afresh"


def test_a_listing_taken_before_the_readers_cursor_event_is_not_handed_on() -> None:
    pages = Pages([{"id": 1}])
    listing = shared(pages)
    _rows(listing, "customers", 50)
    _rows(listing, "contacts", 51)  # its cursor skips event 51: the listing may predate it
    assert pages.listings == 2


def test_a_listing_cut_short_is_not_handed_on() -> None:
    pages = Pages([{"id": 1}], [{"id": 2}], broken_after=1)
    listing = shared(pages)
    with pytest.raises(MalformedResponse):
        _rows(listing, "customers", 50)
    pages.broken_after = None
    assert _rows(listing, "contacts", 50) == [{"id": 1}, {"id": 2}]
    assert pages.listings == 2
