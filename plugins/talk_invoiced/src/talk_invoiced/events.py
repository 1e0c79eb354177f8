"""Invoiced's change feed (``GET /events``), read once a run for all datatypes.

Customers, invoices, contacts and line items take their changes from it
after a first full read (``talk_core.feed`` says how it is shared).
Events come newest first, with ids that grow; a cursor into the feed is an
event id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from talk_core.feed import SharedFeed, Snapshot
from talk_invoiced.api import InvoicedApi, MalformedResponse


def event_id(raw: Any) -> int:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), int) or isinstance(
            raw.get("id"), bool):
        raise MalformedResponse(f"Invoiced GET events: an event without an integer id: "
                                f"{str(raw)[:80]!r}")
    return int(raw["id"])


def subject(raw: dict[str, Any]) -> dict[str, Any]:
    """The object an event is about, as it stood then; ``{}`` when the event has none."""
    data = raw.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def subject_id(raw: dict[str, Any]) -> str:
    """The id of the object an event is about; a feed event without one is malformed."""
    obj = subject(raw)
    if "id" not in obj or obj["id"] is None:
        raise MalformedResponse(f"Invoiced GET events: event {raw.get('id')} "
                                f"({raw.get('type')}) names no object")
    return str(obj["id"])


class EventFeed:
    """The events of one account since a cursor, fetched once for all its datatypes."""

    def __init__(self, api: InvoicedApi) -> None:
        self.api = api
        self._shared = SharedFeed(self._fetch, event_id)

    def since(self, reader: str, after: int | None) -> tuple[list[dict[str, Any]], int]:
        """Events newer than ``after``, newest first, and the newest event id.

        ``after=None`` asks only for the newest id (a first read lists
        everything and starts its cursor there). ``reader`` names who asks.
        """
        return self._shared.since(reader, after)

    def _fetch(self, after: int | None) -> Snapshot:
        events: list[dict[str, Any]] = []
        top = 0
        oldest: int | None = None
        for _where, rows in self.api.pages("events"):
            ids = [event_id(raw) for raw in rows]
            top = max([top, *ids])
            if after is None:
                # the first page holds the newest events: every one from its oldest on
                return Snapshot(list(rows), min(ids) - 1 if ids else 0, top)
            events.extend(raw for raw, i in zip(rows, ids, strict=True) if i > after)
            if any(i <= after for i in ids):
                return Snapshot(events, after, top)
            if ids:  # pages go back in time: this page's oldest is the oldest yet
                oldest = min(ids)
        if after is None or after == 0:
            return Snapshot(events, 0, top, bottom=True)
        # the cursor's own event is gone: no older event is kept, so those between it and
        # the oldest kept may be gone too (an empty feed keeps none of them)
        return Snapshot(events, after + 1 if oldest is None else oldest - 1, top, bottom=True)

    def reaches(self, after: int) -> bool:
        """Whether the feed still held every event after ``after`` when last read.

        Invoiced keeps events for a limited time; a cursor older than the
        oldest event kept may have missed changes.
        """
        return self._shared.reaches(after)

    def about(self, kind: str, ident: str) -> Iterator[dict[str, Any]]:
        """Every event tied to one object (``related_to``), newest first.

        A customer's include its contacts' events.
        """
        for _where, rows in self.api.pages("events", {"related_to": f"{kind},{ident}"}):
            for raw in rows:
                if isinstance(raw, dict):
                    yield raw
