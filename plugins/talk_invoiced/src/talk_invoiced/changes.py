"""Customers and invoices: listed in full once, then read from the change feed.

``updated_after`` counts whole seconds, so records written in one burst
share a second, and a listing from the last second read lists them again
every run until a newer change moves on. The feed (``/events``, read once
a run for every datatype) does without it: every change to a customer or
an invoice is an event holding the object as it then stood, and a delete
is a ``customer.deleted`` or ``invoice.deleted`` event. After the first
read, the newest event of each object the feed names since the cursor is
that object now. A no-change run costs no request of its own.

The cursor (``talk_invoiced.cursor``) keeps the newest event id when the
read began, so whatever changes while it runs is read again next time; it
moves only with the last page. It also keeps the newest ``updated_at``
read: Invoiced keeps events for a limited time, and when the feed no longer
reaches back to the cursor's event, the read lists ``updated_after`` that
time instead. Deletes in the stretch the feed lost cannot be told then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from talk_core.connector import Page, Reject
from talk_core.model import Entity
from talk_invoiced.api import InvoicedApi, MalformedResponse
from talk_invoiced.cursor import Cursor, record_hash
from talk_invoiced.events import EventFeed, subject, subject_id
from talk_invoiced.listing import SharedListing
from talk_invoiced.records import MalformedRecord, entity, reject, retired
from talk_invoiced.schema import ENDPOINTS, Deleting

log = logging.getLogger("talk.invoiced")


def newest_states(kind: str, events: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Each object's state after the events (newest first); None for one deleted."""
    states: dict[str, dict[str, Any] | None] = {}
    for raw in events:
        event = str(raw.get("type") or "")
        if not event.startswith(f"{kind}."):
            continue
        ident = subject_id(raw)
        if ident not in states:
            states[ident] = None if event == f"{kind}.deleted" else subject(raw)
    return states


class ChangeReader:
    """Reads one datatype (customers or invoices) for the connector.

    ``listing``, when given, is the full listing shared with another reader
    that needs it on a first read (contacts need every customer).
    """

    def __init__(self, api: InvoicedApi, feed: EventFeed, datatype: str,
                 listing: SharedListing | None = None) -> None:
        self.api = api
        self.feed = feed
        self.datatype = datatype
        self.endpoint = ENDPOINTS[datatype]
        assert self.endpoint.event is not None, f"{datatype} has no events"
        self.kind = self.endpoint.event
        self.listing = listing

    def read(self, cursor: str | None) -> Iterator[Page]:
        state = Cursor.decode(cursor)
        try:
            first = state.time is None and state.event == 0
            events, newest = self.feed.since(self.datatype, None if first else state.event)
            if state.event and self.feed.reaches(state.event):
                yield from self._from_events(state, cursor, events, newest)
                return
            if state.event:
                log.warning("Invoiced %s: the change feed no longer reaches back to the "
                            "last read (event %s); listing what changed since then instead",
                            self.datatype, state.event)
            states = newest_states(self.kind, events)
            gone = sorted((i for i, now in states.items() if now is None), key=_numeric)
        except MalformedResponse as exc:
            # keep the old cursor: the next run reads this stretch again
            yield Page([], cursor, [Reject("(events)", str(exc), page=True)])
            return
        yield from self._listed(state, cursor, gone, newest)

    def _from_events(self, state: Cursor, cursor: str | None,
                     events: list[dict[str, Any]], newest: int) -> Iterator[Page]:
        after = Cursor(state.time, dict(state.at_time), newest)
        entities: list[Entity] = []
        rejects: list[Reject] = []
        states = newest_states(self.kind, events)
        for ident in sorted(states, key=_numeric):
            raw = states[ident]
            if raw is None:
                entities.append(Entity(ident, {}, deleted=True))
                continue
            found = self._read(f"events ({self.kind} {ident})", raw, state, after, rejects)
            if found is not None:
                entities.append(found)
        size = self.api.page_size
        for start in range(0, len(entities), size):
            yield Page(entities[start:start + size], cursor, rejects if start == 0 else [])
        if rejects and not entities:
            yield Page([], cursor, rejects)
        yield Page([], after.encode())

    def _listed(self, state: Cursor, cursor: str | None, gone: list[str],
                newest: int) -> Iterator[Page]:
        """Changed records a page at a time from ``updated_after``; the cursor on the last page."""
        after = Cursor(state.time, dict(state.at_time), newest)
        if self.listing is not None and state.time is None:
            pages = self.listing.pages(self.datatype, newest)
        else:
            pages = self.api.pages(self.endpoint.path, state.query())
        try:
            for where, rows in pages:
                entities: list[Entity] = []
                rejects: list[Reject] = []
                for raw in rows:
                    found = self._read(where, raw, state, after, rejects)
                    if found is not None:
                        entities.append(found)
                yield Page(entities, cursor, rejects)
        except MalformedResponse as exc:
            # keep the old cursor: the next run reads this stretch again
            yield Page([], cursor, [Reject(f"({self.datatype} listing)", str(exc), page=True)])
            return
        yield Page([Entity(i, {}, deleted=True) for i in gone], after.encode())

    def _read(self, where: str, raw: Any, state: Cursor, after: Cursor,
              rejects: list[Reject]) -> Entity | None:
        """One object as an entity; None when it is refused or was read already unchanged."""
        try:
            found = entity(self.datatype, raw)
        except MalformedRecord as exc:
            rejects.append(reject(where, raw, exc))
            return None
        digest = record_hash(raw)
        stamp = raw.get("updated_at")
        if state.already_read(found.id, stamp, digest):
            return None
        after.advance(found.id, stamp, digest)
        if self.endpoint.deleting is Deleting.REMOVE_OR_RETIRE and retired(raw):
            # deactivated where Invoiced refused the delete
            return Entity(found.id, {}, found.updated, deleted=True)
        return found


def _numeric(ident: str) -> tuple[int, str]:
    return (int(ident), "") if ident.isdigit() else (0, ident)
