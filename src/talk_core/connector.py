"""The contract a connector plugin implements, one instance per configured system.

A connector knows one system's API and nothing of links or global entities:
it reads pages of records since a cursor, and creates, updates and deletes
records with the system's real semantics. Everything it gets and gives is an
``Entity`` in the system's own field names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from talk_core.errors import AmbiguousRecovery
from talk_core.model import Entity


@attrs.define
class Reject:
    """A record in a page that the connector could not make sense of.

    The engine puts it in the dead letters with ``error`` and goes on with
    the rest of the page, so one broken record never stops a run.

    ``page`` marks a reject that stands for a whole page or listing the
    connector could not read (an HTML maintenance page, say), not for one
    record: no later read names it again, so the engine drops its letter
    after the next read of that datatype that has no such reject.
    """

    external_id: str
    error: str
    payload: Any = None
    page: bool = False


@attrs.define
class Page:
    """A batch of records and the cursor that resumes right after them.

    ``cursor`` is opaque to the engine and stored as is. The engine commits a
    page's records and its cursor together, so a page is the unit of progress.
    ``listing`` marks a page of a read that lists every live record of an
    incremental datatype (a connector that lost track of its changes): the
    engine then tells deletes by absence once that read is done, as for
    ``ReadMode.FULL``.
    """

    entities: list[Entity]
    cursor: str | None = None
    rejects: list[Reject] = attrs.field(factory=list)
    listing: bool = False


@attrs.frozen
class PendingCreate:
    """A create a crash left unsettled: what was sent, under which key, and when.

    ``sent`` is when the create was journalled, just before it was sent: the
    record it made, if any, was made or changed after that.
    """

    key: str
    properties: dict[str, Any]
    sent: datetime


#: What ``recover_many`` answers per key: the record, None (never made), or the doubt
Recovered = Entity | AmbiguousRecovery | None


def recover_each(connector: Connector, datatype: str,
                 pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
    """``recover_many`` for a connector that only has ``recover``: one lookup per create.

    Connectors with a batch lookup for some datatypes use it for the others.
    """
    found: dict[str, Recovered] = {}
    for create in pending:
        try:
            found[create.key] = connector.recover(datatype, create.key, create.properties)
        except AmbiguousRecovery as exc:
            found[create.key] = exc
    return found


@runtime_checkable
class Connector(Protocol):
    """What the engine calls. Errors are ``talk_core.errors.ConnectorError`` kinds."""

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        """Records changed since ``cursor`` (all when None), deletes as tombstones.

        A datatype whose schema says ``ReadMode.FULL`` lists every live record
        each time instead; the engine notices deletes by absence.
        """
        ...

    def get(self, datatype: str, id: str) -> Entity | None:
        """One record, or None when it does not exist (any more)."""
        ...

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        """Create a record and answer it as the system stored it.

        ``key`` is unique per intended record and stable across retries and
        crashes: send it as an idempotency key or store it in a marker field,
        so that ``recover`` can find the record after a crash.
        """
        ...

    def update(
        self, datatype: str, id: str, changes: dict[str, Any], *, current: Entity | None = None
    ) -> Entity:
        """Change only the fields in ``changes`` and answer the whole record."""
        ...

    def delete(self, datatype: str, id: str) -> None:
        """Delete (or deactivate, where the system cannot delete) a record."""
        ...

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        """Find a record that ``create(..., key=key)`` may have made before a crash.

        A connector that finds records by what was sent, not by ``key``, raises
        ``talk_core.errors.AmbiguousRecovery`` naming the candidates rather
        than pick one of several that could be it.
        """
        ...

    def close(self) -> None:
        """Release sessions and files."""
        ...


@runtime_checkable
class BatchRecovery(Protocol):
    """A connector that settles many crashed creates of one datatype at once.

    Optional, and kept out of ``Connector`` so that a connector without it
    still passes ``isinstance(c, Connector)``: the engine asks
    ``isinstance(connector, BatchRecovery)`` and calls ``recover_many`` if
    so, else ``recover_each``.
    """

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        """For each pending key: the record its create made, None if none, or the doubt.

        The answer has every key of ``pending`` and means what ``recover``
        means for it: a found record, None when the create made none, or the
        ``AmbiguousRecovery`` that ``recover`` would have raised (returned,
        not raised, so one doubtful create does not hide the others).
        Anything else (a ``TransientError``, a ``StopRun``) is raised and
        settles none of them.

        The point is the cost: one listing of what changed since the oldest
        ``sent``, matched in memory, so J creates cost about
        ``ceil(J / page size) + 1`` requests instead of J. A connector whose
        listing since that time would cost more than asking per create
        (an old entry in a busy account) asks per create instead; each
        implementation documents its bound.
        """
        ...
