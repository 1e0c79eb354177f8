"""Which catalog items talk has started to replace, kept in the state between runs.

A new price is an archive and an add (see the connector). An item archived
by a run stopped between the two calls is still the item, and a read of
items must find it among the archived ones, or it reads as deleted. Looking
costs a request on every read of items; this note, written before the
archive and cleared after the add, says whether any replacement is
unfinished, so that the request is sent only then.

The note is a row of the state's tokens table of its own (``name#replacing``,
as Exact keeps its budget), written through a connection of its own so it
is committed before the archive is sent, whatever the run's connection
holds. Without a state, or when the note cannot be read, a read looks every
time, as it would without the note.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from talk_core.errors import RecordError, StateError
from talk_core.store.sqlite import SQLiteStore

log = logging.getLogger("talk.invoiced")

KIND = "replacing"


class ReplacementNote:
    """The ids of the items whose replacement one Invoiced instance has begun."""

    def __init__(self, name: str, store: Any) -> None:
        self.name = name
        self.store = store

    def __repr__(self) -> str:
        return f"ReplacementNote({self.name!r})"

    @property
    def _key(self) -> str:
        # "#" keeps it apart from any token row of the instance itself
        return f"{self.name}#{KIND}"

    def _with_store(self, action: Callable[[Any], Any]) -> Any:
        path = getattr(self.store, "path", None)
        if not isinstance(self.store, SQLiteStore) or not isinstance(path, str) or path in (
                "", ":memory:"):
            return action(self.store)
        own = SQLiteStore(path)
        try:
            return action(own)
        finally:
            own.close()

    def pending(self) -> set[str] | None:
        """The items being replaced; None when that is not known (then look for them)."""
        if self.store is None:
            return None
        try:
            note = self._with_store(lambda s: s.get_token(self._key))
        except (sqlite3.Error, StateError) as exc:
            log.warning("Invoiced %s: items being replaced could not be read: %s", self.name, exc)
            return None
        items = (note or {}).get("items", [])
        if not isinstance(items, list):
            return None
        return {str(i) for i in items}

    def begin(self, item: str) -> None:
        """Note ``item`` before it is archived; a replacement that cannot be noted is not begun."""
        if self.store is None:
            return
        try:
            self._save((self.pending() or set()) | {item})
        except (sqlite3.Error, StateError) as exc:
            raise RecordError(f"Invoiced items {item}: its replacement (a new price) cannot be "
                              f"noted in the state ({exc}); the price is not changed") from None

    def end(self, items: set[str]) -> None:
        """Forget finished replacements; best effort, a stale id costs a read, nothing more."""
        found = self.pending()
        if not found or not found & items:
            return
        try:
            self._save(found - items)
        except (sqlite3.Error, StateError) as exc:
            log.warning("Invoiced %s: items being replaced could not be saved: %s",
                        self.name, exc)

    def _save(self, items: set[str]) -> None:
        note = {"items": sorted(items)}
        self._with_store(lambda s: s.put_token(self._key, note))
