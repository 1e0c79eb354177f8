"""A change feed several datatypes read: fetched once, then served to each of them once.

Some systems report changes of every kind in one feed (Invoiced's
``/events``, Exact Online's ``sync/Deleted``). Each datatype keeping its own
cursor in that feed and reading it on its own pays the same requests once
per datatype every run. ``SharedFeed`` reads it once and serves the
datatypes from what it read.

A datatype that asks a second time (its next run) gets a fresh read, so no
datatype is ever served the feed older than it saw it before: its cursor
only moves forward and never past what the feed held when it was read.

A feed may keep its records for a limited time. A read that went down to
the oldest record the feed still holds without reaching a cursor says so
(``reaches``): the records between that cursor and the oldest one are
gone, and the datatype has to find its changes another way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


@attrs.define
class Snapshot:
    """What one read of the feed found.

    ``records`` holds every record whose position is above ``floor``;
    ``top`` is the newest position the feed had then (0 when empty).
    ``bottom``: the read went down to the oldest record the feed holds, so
    reading again cannot reach below ``floor``.
    """

    records: list[dict[str, Any]]
    floor: int
    top: int
    bottom: bool = False


class SharedFeed:
    """Serves ``since(reader, after)`` from one ``fetch(after)`` as long as it can.

    ``fetch(None)`` need only find the newest position (a first read);
    ``fetch(n)`` must answer every record above ``n`` the feed still holds,
    and when it ran out of records before reaching ``n``, set ``bottom``
    and a ``floor`` just below the oldest it found. ``position(record)``
    is a record's place in the feed: an event id, a row version.
    """

    def __init__(self, fetch: Callable[[int | None], Snapshot],
                 position: Callable[[dict[str, Any]], int]) -> None:
        self._fetch = fetch
        self._position = position
        self._snapshot: Snapshot | None = None
        self._served: set[str] = set()

    def since(self, reader: str, after: int | None) -> tuple[list[dict[str, Any]], int]:
        """Records above ``after`` (none when ``after`` is None) and the newest position."""
        snap = self._snapshot
        if snap is None or reader in self._served:
            snap = self._fetch(after)
            self._snapshot, self._served = snap, set()
        elif after is not None and after < snap.floor and not snap.bottom:
            # read again from further back, for the same run: whoever was served from the
            # read it replaces still asks afresh next time, not from this one
            snap = self._snapshot = self._fetch(after)
        self._served.add(reader)
        if after is None:
            return [], snap.top
        return [r for r in snap.records if self._position(r) > after], max(after, snap.top)

    def reaches(self, after: int) -> bool:
        """Whether the last read holds every record above ``after``.

        False when the feed no longer goes back that far: what changed in
        between cannot be told from it.
        """
        return self._snapshot is not None and after >= self._snapshot.floor
