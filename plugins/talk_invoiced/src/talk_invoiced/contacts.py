"""Invoiced contacts, read in full once and then through the change feed.

Invoiced lists contacts only under their customer
(``/customers/{id}/contacts``): a full listing costs a request per
customer. The first read pays that (the customers listed for it are the
customers' own first listing, shared); after it, the feed's
``contact.created``, ``contact.updated`` and ``contact.deleted`` events
say which contacts changed, and only their customers are listed again.
The cursor is the newest event id when the read began, so whatever changes
while it runs is read again next time; it moves only with the last page.

A customer's contacts go with it: those of a customer deleted since the
cursor are found among that customer's own events (``related_to``) and
reported deleted, and those of a customer talk retired (deactivated where
Invoiced refused the delete) read as deleted.

Invoiced keeps events for a limited time. When the feed no longer reaches
back to the cursor's event, the changes in the stretch it lost cannot be
told, so that run lists every customer's contacts as the first read does,
marked as a listing of all (``Page.listing``): a contact no longer listed,
deleted in that stretch, is deleted by its absence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs

from talk_core.connector import Page, Reject
from talk_core.model import Entity
from talk_core.rest import HttpStatusError
from talk_invoiced.api import InvoicedApi, MalformedResponse, collection_path
from talk_invoiced.cursor import Cursor
from talk_invoiced.events import EventFeed, subject, subject_id
from talk_invoiced.listing import SharedListing
from talk_invoiced.records import MalformedRecord, entity, reject, retired
from talk_invoiced.schema import ENDPOINTS

READER = "contacts"
ENDPOINT = ENDPOINTS[READER]

log = logging.getLogger("talk.invoiced")


@attrs.define
class Changes:
    """What the feed says about contacts since the cursor."""

    touched: dict[str, str] = attrs.field(factory=dict)  # contact -> its customer
    removed: set[str] = attrs.field(factory=set)
    retired: set[str] = attrs.field(factory=set)  # customers
    deleted: set[str] = attrs.field(factory=set)  # customers
    unplaced: set[str] = attrs.field(factory=set)  # changed contacts whose event names no customer

    @classmethod
    def of(cls, events: list[dict[str, Any]]) -> Changes:
        out = cls()
        latest_customer: set[str] = set()
        for raw in events:  # newest first: the first event of a customer is its state now
            kind = str(raw.get("type") or "")
            if kind == "customer.deleted":
                out.deleted.add(subject_id(raw))
            elif kind in ("customer.created", "customer.updated"):
                ident = subject_id(raw)
                if ident not in latest_customer and retired(subject(raw)):
                    out.retired.add(ident)
                latest_customer.add(ident)
            elif kind == "contact.deleted":
                out.removed.add(subject_id(raw))
            elif kind in ("contact.created", "contact.updated"):
                ident, owner = subject_id(raw), subject(raw).get("customer")
                if ident in out.touched or ident in out.unplaced:
                    continue  # a newer event of this contact came first
                if owner is None:
                    out.unplaced.add(ident)
                else:
                    out.touched[ident] = str(owner)
        return out


class ContactReader:
    """Reads contacts for the connector; ``owners`` learns which customer each is under."""

    def __init__(self, api: InvoicedApi, feed: EventFeed, owners: dict[str, str],
                 customers: SharedListing | None = None) -> None:
        self.api = api
        self.feed = feed
        self.owners = owners
        self.customers = customers or SharedListing(api, ENDPOINTS[ENDPOINT.parent or ""].path,
                                                    frozenset({READER}))

    def read(self, cursor: str | None) -> Iterator[Page]:
        state = Cursor.decode(cursor)
        try:
            if state.event == 0:
                _none, newest = self.feed.since(READER, None)
                yield from self._everything(cursor, newest)
                yield Page([], Cursor(event=newest).encode())
                return
            events, newest = self.feed.since(READER, state.event)
            if not self.feed.reaches(state.event):
                log.warning("Invoiced contacts: the change feed no longer reaches back to the "
                            "last read (event %s); listing every customer's contacts instead",
                            state.event)
                for page in self._everything(cursor, newest):
                    yield attrs.evolve(page, listing=True)
                yield Page([], Cursor(event=newest).encode(), listing=True)
                return
            changes = Changes.of(events)
            if not self._place(changes):
                # Invoiced documents no ``customer`` on a contact: where the feed does not
                # say whose a changed contact is, and no earlier read told, only a listing
                # of every customer's contacts finds it (and shows what went)
                log.warning("Invoiced contacts: %d changed contact(s) in the change feed "
                            "name no customer; listing every customer's contacts instead",
                            len(changes.unplaced))
                for page in self._everything(cursor, newest):
                    yield attrs.evolve(page, listing=True)
                yield Page([], Cursor(event=newest).encode(), listing=True)
                return
            gone = set(changes.removed)
            for customer in sorted(changes.deleted):
                gone |= self._contacts_of_deleted(customer)
            listed = (set(changes.touched.values()) | changes.retired) - changes.deleted
            for customer in sorted(listed, key=_numeric):
                wanted = None if customer in changes.retired else {
                    c for c, owner in changes.touched.items() if owner == customer}
                yield from self._customer(customer, cursor, wanted=wanted,
                                          as_deleted=customer in changes.retired)
        except MalformedResponse as exc:
            # the old cursor stays: the next run reads this stretch again
            yield Page([], cursor, [Reject("(contacts)", str(exc), page=True)])
            return
        tombstones = [Entity(i, {}, deleted=True) for i in sorted(gone, key=_numeric)]
        yield Page(tombstones, Cursor(event=newest).encode())

    def _place(self, changes: Changes) -> bool:
        """Give each unplaced contact the customer an earlier read saw it under, if any did."""
        for contact in sorted(changes.unplaced):
            owner = self.owners.get(contact)
            if owner is None:
                return False
            changes.touched[contact] = owner
            changes.unplaced.discard(contact)
        return True

    def _everything(self, cursor: str | None, newest: int) -> Iterator[Page]:
        """Every customer's contacts; the customers listed once a run for this and customers."""
        for _where, customers in self.customers.pages(READER, newest):
            for customer in customers:
                if not isinstance(customer, dict) or "id" not in customer:
                    continue
                yield from self._customer(str(customer["id"]), cursor, wanted=None,
                                          as_deleted=retired(customer))

    def _customer(self, customer: str, cursor: str | None, *, wanted: set[str] | None,
                  as_deleted: bool) -> Iterator[Page]:
        """One customer's contacts (those in ``wanted``, or all), a page at a time."""
        try:
            for where, rows in self.api.pages(collection_path(ENDPOINT, customer)):
                entities, rejects = [], []
                for raw in rows:
                    try:
                        found = entity(READER, raw, customer=customer)
                    except MalformedRecord as exc:
                        rejects.append(reject(where, raw, exc))
                        continue
                    if wanted is not None and found.id not in wanted:
                        continue
                    if as_deleted:
                        found = Entity(found.id, {}, found.updated, deleted=True)
                    else:
                        self.owners[found.id] = customer
                    entities.append(found)
                if entities or rejects:
                    yield Page(entities, cursor, rejects)
        except HttpStatusError as exc:
            if exc.status != 404:
                raise
            # deleted since the feed was read: its customer.deleted event comes next run

    def _contacts_of_deleted(self, customer: str) -> set[str]:
        """The contacts a deleted customer still had, as its events tell.

        One deleted on its own before was reported by its own event.
        """
        found: set[str] = set()
        removed: set[str] = set()
        for raw in self.feed.about("customer", customer):
            kind = str(raw.get("type") or "")
            obj = subject(raw)
            owner = obj.get("customer")
            # the events asked for are the customer's own; one naming another is not
            if not kind.startswith("contact.") or obj.get("id") is None or (
                    owner is not None and str(owner) != customer):
                continue
            (removed if kind == "contact.deleted" else found).add(str(obj["id"]))
        for contact in found | removed:
            self.owners.pop(contact, None)
        return found - removed


def owner_in_events(feed: EventFeed, contact: str) -> tuple[str | None, bool] | None:
    """The customer a contact's newest event names, and whether it says deleted.

    None when the events say nothing of it (or cannot be asked about contacts).
    """
    try:
        for raw in feed.about("contact", contact):
            obj = subject(raw)
            if str(obj.get("id")) != contact or not str(raw.get("type")).startswith("contact."):
                continue
            owner = obj.get("customer")
            return (None if owner is None else str(owner)), raw.get("type") == "contact.deleted"
    except HttpStatusError as exc:
        if exc.status != 400:
            raise
    return None


def _numeric(ident: str) -> tuple[int, str]:
    return (int(ident), "") if ident.isdigit() else (0, ident)
