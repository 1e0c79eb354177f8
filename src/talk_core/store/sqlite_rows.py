"""Constants and row decoders that the SQLite store's table groups share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from talk_core.model import Link
from talk_core.serialize import format_datetime, loads, parse_datetime
from talk_core.staged import StagedRecord
from talk_core.store.base import DeadLetter, InboxRow

#: SQLite's own limit is far higher; 500 keeps statements small and reusable.
MAX_PARAMS = 500

LINK_COLS = 'global_type, global_id, system, datatype, external_id, hash, "values"'
INBOX_COLS = "seq, global_type, system, datatype, external_id, kind, payload, global_id, deferred"
LETTER_COLS = (
    "id, direction, system, datatype, external_id, global_type, global_id, error, payload, "
    "attempts, next_attempt, created_at, updated_at"
)


def now_text() -> str:
    return format_datetime(datetime.now(UTC))


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marks(count: int) -> str:
    return ",".join("?" * count)


def decode_link(row: Sequence[Any]) -> Link:
    return Link(row[0], row[1], row[2], row[3], row[4], row[5], loads(row[6]))


def decode_inbox_row(row: Sequence[Any]) -> InboxRow:
    return InboxRow(
        global_type=row[1], system=row[2], datatype=row[3], external_id=row[4],
        kind=row[5], payload=None if row[6] is None else StagedRecord.from_json(loads(row[6])),
        global_id=row[7], seq=row[0], deferred=row[8],
    )


def decode_letter(row: Sequence[Any]) -> DeadLetter:
    return DeadLetter(
        id=row[0], direction=row[1], system=row[2], datatype=row[3], external_id=row[4],
        global_type=row[5], global_id=row[6], error=row[7],
        payload=None if row[8] is None else loads(row[8]), attempts=row[9],
        next_attempt=None if row[10] is None else parse_datetime(row[10]),
        created_at=parse_datetime(row[11]), updated_at=parse_datetime(row[12]),
    )


def optional_time(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)
