"""Which record a crashed create made: asked of the connector, checked against the links.

A connector that finds records again by what the create sent (no
idempotency key, no marker field) can find one that only looks like it, or
several. What the store knows settles part of that: a record linked to
another entity is not this entity's. What is still not one record is not
guessed at: the create is ``Held`` for a person, its journal entry kept, and
the entity is not created again in that system until a later run finds one
record (the person deleted the others) or none (it is created anew).
"""

from __future__ import annotations

import logging

from talk_core.connector import Connector
from talk_core.errors import AmbiguousRecovery
from talk_core.model import Entity
from talk_core.store.base import JournalEntry, StateStore

log = logging.getLogger("talk.sync")


class Held(Exception):
    """A crashed create whose record is not told apart from others; the message says what to do.

    ``candidates`` are the ids of the records it could be: until it is
    settled none of them is shared as a record of its own either, or the
    one it made would reach the other systems as a new entity.
    """

    def __init__(self, message: str, candidates: tuple[str, ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


def recovered(store: StateStore, connector: Connector, entry: JournalEntry) -> Entity | None:
    """The record ``entry``'s create made, None if it made none; raises ``Held``."""
    try:
        found = connector.recover(entry.datatype, entry.key, entry.payload.get("properties", {}))
    except AmbiguousRecovery as exc:
        fitting = [i for i in exc.fitting if not _taken(store, entry, i)]
        others = [i for i in exc.others if not _taken(store, entry, i)]
        if len(fitting) == 1:
            return connector.get(entry.datatype, fitting[0])
        if fitting or others:
            left = fitting + others
            raise Held(_instructions(entry, exc, left), tuple(left)) from None
        return None  # every record like it is another entity's: the create made none
    if found is not None and _taken(store, entry, found.id):
        log.warning("journal: %s %s %s is linked to another entity; %s %s was not created",
                    entry.system, entry.datatype, found.id, entry.global_type, entry.global_id)
        return None
    return found


def _taken(store: StateStore, entry: JournalEntry, external_id: str) -> bool:
    link = store.get_link(entry.system, entry.datatype, external_id, entry.global_type)
    return link is not None and link.global_id != entry.global_id


def _instructions(entry: JournalEntry, exc: AmbiguousRecovery, left: list[str]) -> str:
    system, what = entry.system, entry.global_type
    return (f"{system} {entry.datatype}: a create of {what} {entry.global_id} was interrupted, "
            f"and {len(left)} unlinked record{'s' if len(left) > 1 else ''} could be what it "
            f"made ({exc}); talk does not guess and does not create it again. Delete in "
            f"{system} those that are not this {what}: the next run links the one left if it "
            f"holds what talk sent, or creates the {what} anew if none is left")
