"""Invoiced line items, listed in full once and then read from the change feed.

Line items live inside their invoice: Invoiced has no listing of lines, so
a full read lists every invoice (the invoices' own first listing, shared).
After it, the feed (``/events``, read once a run for every datatype) is
enough. Every change to an invoice is an event
whose object is the invoice as it then stood, lines included, and an
update's ``data.previous`` holds the values the update replaced, so the
lines an invoice had before its lines were changed. For each invoice the
feed names since the cursor, its newest event gives its lines now; a line
that an older event or a ``previous`` of it names and the newest does not
is gone, and so is every line of a deleted invoice. A no-change run costs
no request of its own.

The cursor is the newest event id when the read began, so whatever changes
while it runs is read again next time; it moves only with the last page.
An invoice event without the invoice's lines costs a read of that invoice.

Invoiced keeps events for a limited time. When the feed no longer reaches
back to the cursor's event, the changes in the stretch it lost cannot be
told, so that run lists every invoice's lines as the first read does,
marked as a listing of all (``Page.listing``): a line no longer listed,
removed or deleted with its invoice in that stretch, is deleted by its
absence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs

from talk_core.connector import Page, Reject
from talk_core.model import Entity
from talk_invoiced.api import InvoicedApi, MalformedResponse, record_path
from talk_invoiced.cursor import Cursor
from talk_invoiced.events import EventFeed, subject, subject_id
from talk_invoiced.listing import SharedListing
from talk_invoiced.records import MalformedRecord, line_entity, reject
from talk_invoiced.schema import ENDPOINTS

READER = "lineitems"
ENDPOINT = ENDPOINTS[READER]
#: the invoice field that holds the lines, and where invoices live
FIELD = ENDPOINT.path
PARENT = ENDPOINTS[ENDPOINT.parent or ""]

log = logging.getLogger("talk.invoiced")


@attrs.define
class Changes:
    """What the feed says about invoices since the cursor.

    ``before`` holds an invoice's lines as they were at the cursor, where
    the feed tells: none for an invoice created since, the ``previous``
    lines of the oldest update that changed them. An update that says
    nothing of what it replaced leaves them unknown (``blind``).
    """

    now: dict[str, dict[str, Any] | None] = attrs.field(factory=dict)  # None: deleted
    named: dict[str, set[str]] = attrs.field(factory=dict)  # every line its events name
    before: dict[str, dict[str, Any]] = attrs.field(factory=dict)  # line id -> line
    blind: set[str] = attrs.field(factory=set)

    @classmethod
    def of(cls, events: list[dict[str, Any]]) -> Changes:
        out = cls()
        for raw in events:  # newest first: an invoice's first event is its state now
            kind = str(raw.get("type") or "")
            if not kind.startswith("invoice."):
                continue
            ident, invoice = subject_id(raw), subject(raw)
            data = raw.get("data")
            previous = data.get("previous") if isinstance(data, dict) else None
            named = out.named.setdefault(ident, set())
            named |= line_ids(invoice.get(FIELD))
            if kind == "invoice.created":
                out.before[ident] = {}
            elif isinstance(previous, dict):
                if isinstance(previous.get(FIELD), list):
                    out.before[ident] = by_id(previous[FIELD])
                    named |= line_ids(previous[FIELD])
            elif kind == "invoice.updated":
                out.blind.add(ident)
            if ident not in out.now:
                out.now[ident] = None if kind == "invoice.deleted" else invoice
        return out

    def changed(self, ident: str, line: dict[str, Any]) -> bool:
        """Whether a line of an invoice may differ from what it was at the cursor."""
        if ident in self.blind:
            return True
        if ident not in self.before:
            return False  # no event since the cursor changed the invoice's lines
        return self.before[ident].get(str(line.get("id"))) != line


def by_id(lines: list[Any]) -> dict[str, dict[str, Any]]:
    return {str(line["id"]): line for line in lines
            if isinstance(line, dict) and line.get("id") is not None}


def line_ids(lines: Any) -> set[str]:
    """The ids of the lines in an ``items`` value; anything else names none."""
    return set(by_id(lines)) if isinstance(lines, list) else set()


class LineReader:
    """Reads line items for the connector; ``owners`` learns which invoice each is on."""

    def __init__(self, api: InvoicedApi, feed: EventFeed, owners: dict[str, str],
                 invoices: SharedListing | None = None) -> None:
        self.api = api
        self.feed = feed
        self.owners = owners
        self.invoices = invoices or SharedListing(api, PARENT.path, frozenset({READER}))

    def read(self, cursor: str | None) -> Iterator[Page]:
        try:
            if not Cursor.written(cursor):
                _none, newest = self.feed.since(READER, None)
                yield from self._everything(cursor, newest)
                yield Page([], Cursor(event=newest).encode())
                return
            last = Cursor.decode(cursor).event
            events, newest = self.feed.since(READER, last)
            if not self.feed.reaches(last):
                log.warning("Invoiced lineitems: the change feed no longer reaches back to the "
                            "last read (event %s); listing every invoice's lines instead", last)
                for page in self._everything(cursor, newest):
                    yield attrs.evolve(page, listing=True)
                yield Page([], Cursor(event=newest).encode(), listing=True)
                return
            changes = Changes.of(events)
            gone: set[str] = set()
            entities: list[Entity] = []
            rejects: list[Reject] = []
            for ident in sorted(changes.now, key=_numeric):
                invoice = changes.now[ident]
                if invoice is not None and not isinstance(invoice.get(FIELD), list):
                    invoice = self.api.find(record_path(PARENT, ident))
                if invoice is None:  # deleted: its delete event comes, or came, with it
                    gone |= changes.named[ident]
                    continue
                page, whole = self._lines_of(f"events (invoice {ident})", invoice, cursor)
                rejects.extend(page.rejects)
                if not whole:
                    continue  # nothing is known of its lines: none is read, none deleted
                # a line that could not be read is still there: never a delete
                gone |= changes.named[ident] - {e.id for e in page.entities} - {
                    r.external_id for r in page.rejects}
                lines = by_id(invoice[FIELD])
                entities.extend(e for e in page.entities
                                if changes.changed(ident, lines[e.id]))
            yield from self._pages(entities, rejects, cursor)
        except MalformedResponse as exc:
            # the old cursor stays: the next run reads this stretch again
            yield Page([], cursor, [Reject("(lineitems)", str(exc), page=True)])
            return
        for ident in gone:
            self.owners.pop(ident, None)
        tombstones = [Entity(i, {}, deleted=True) for i in sorted(gone, key=_numeric)]
        yield Page(tombstones, Cursor(event=newest).encode())

    def _everything(self, cursor: str | None, newest: int) -> Iterator[Page]:
        """Every invoice's lines; the invoices listed once a run for this and invoices."""
        for where, invoices in self.invoices.pages(READER, newest):
            entities: list[Entity] = []
            rejects: list[Reject] = []
            for invoice in invoices:
                if not isinstance(invoice, dict) or "id" not in invoice:
                    rejects.append(reject(where, invoice, MalformedRecord("not an invoice")))
                    continue
                page, _whole = self._lines_of(where, invoice, cursor)
                entities.extend(page.entities)
                rejects.extend(page.rejects)
            yield from self._pages(entities, rejects, cursor)

    def _pages(self, entities: list[Entity], rejects: list[Reject],
               cursor: str | None) -> Iterator[Page]:
        """Pages of at most a listing page's size: an invoice can hold many lines."""
        size = self.api.page_size
        for start in range(0, len(entities), size):
            yield Page(entities[start:start + size], cursor, rejects if start == 0 else [])
        if rejects and not entities:
            yield Page([], cursor, rejects)

    def _lines_of(self, where: str, invoice: dict[str, Any],
                  cursor: str | None) -> tuple[Page, bool]:
        """One invoice's lines, a reject for each that cannot be read, and whether all are there.

        An invoice whose ``items`` is not a list says nothing of its lines.
        """
        lines = invoice.get(FIELD)
        if not isinstance(lines, list):
            return Page([], cursor, [reject(where, invoice, MalformedRecord(
                "items is not a list of line items"))]), False
        page = Page([], cursor)
        for line in lines:
            try:
                found = line_entity(invoice, line)
            except MalformedRecord as exc:
                page.rejects.append(reject(where, line, exc))
                continue
            self.owners[found.id] = found.properties["invoice"]
            page.entities.append(found)
        return page, True


def _numeric(ident: str) -> tuple[int, str]:
    return (int(ident), "") if ident.isdigit() else (0, ident)
