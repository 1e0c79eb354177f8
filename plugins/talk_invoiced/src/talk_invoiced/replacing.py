"""Which catalog items talk has started to replace, kept in the state between runs.

A new price is an archive and an add (see the connector). An item archived
by a run stopped between the two calls is still the item, and a read of
items must find it among the archived ones, or it reads as deleted. Looking
costs a request on every read of items; this note, written before the
archive and cleared after the add, says whether any replacement is
unfinished, so that the request is sent only then.

The note is the instance's note ``replacing`` in the state store, written
``at_once`` so that it is committed before the archive is sent, whatever
transaction the run holds. Without a state, or when the note cannot be
read, a read looks every time, as it would without the note.
"""

from __future__ import annotations

import logging
from typing import Any

from talk_core.errors import RecordError, StateError

log = logging.getLogger("talk.invoiced")

NOTE = "replacing"


class ReplacementNote:
    """The ids of the items whose replacement one Invoiced instance has begun."""

    def __init__(self, name: str, store: Any) -> None:
        self.name = name
        self.store = store

    def __repr__(self) -> str:
        return f"ReplacementNote({self.name!r})"

    def pending(self) -> set[str] | None:
        """The items being replaced; None when that is not known (then look for them)."""
        if self.store is None:
            return None
        try:
            note = self.store.get_note(self.name, NOTE)
        except StateError as exc:
            log.warning("Invoiced %s: items being replaced could not be read: %s", self.name, exc)
            return None
        items = (note if isinstance(note, dict) else {}).get("items", [])
        if not isinstance(items, list):
            return None
        return {str(i) for i in items}

    def begin(self, item: str) -> None:
        """Note ``item`` before it is archived; a replacement that cannot be noted is not begun."""
        if self.store is None:
            return
        try:
            self._save((self.pending() or set()) | {item})
        except StateError as exc:
            raise RecordError(f"Invoiced items {item}: its replacement (a new price) cannot be "
                              f"noted in the state ({exc}); the price is not changed") from None

    def end(self, items: set[str]) -> None:
        """Forget finished replacements; best effort, a stale id costs a read, nothing more."""
        found = self.pending()
        if not found or not found & items:
            return
        try:
            self._save(found - items)
        except StateError as exc:
            log.warning("Invoiced %s: items being replaced could not be saved: %s",
                        self.name, exc)

    def _save(self, items: set[str]) -> None:
        if items:
            self.store.put_note(self.name, NOTE, {"items": sorted(items)}, at_once=True)
        else:
            self.store.delete_note(self.name, NOTE, at_once=True)
