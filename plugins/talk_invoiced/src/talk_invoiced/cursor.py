"""The resume point of an incremental read: a time, the records at that time, an event.

``updated_after`` is strict and counts whole seconds, so a record changed in
the same second as the last one read would be missed by asking for
"after T", and asking for "from T" would read the last second again every
run. The cursor therefore keeps T and a hash of each record read at T:
the next read asks from T and skips what it already has unchanged.
After a first read, changes come from ``/events`` and the listing is only
the way back when the feed no longer reaches the cursor's event; the
cursor keeps the newest event seen.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs


def record_hash(raw: dict[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@attrs.define
class Cursor:
    time: int | None = None
    at_time: dict[str, str] = attrs.field(factory=dict)
    event: int = 0

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        """The cursor stored; an unreadable one restarts from scratch (hashes avoid rewrites)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                int(data["t"]) if data.get("t") is not None else None,
                {str(k): str(v) for k, v in dict(data.get("h") or {}).items()},
                int(data.get("e") or 0),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()

    @staticmethod
    def written(text: str | None) -> bool:
        """Whether ``text`` is a cursor this connector wrote; else a read starts from scratch."""
        try:
            return isinstance(json.loads(text or ""), dict)
        except ValueError:
            return False

    def encode(self) -> str:
        return json.dumps({"t": self.time, "h": self.at_time, "e": self.event}, sort_keys=True)

    def query(self) -> dict[str, Any]:
        """The listing filter: everything updated from ``time`` on (inclusive)."""
        return {} if self.time is None else {"updated_after": self.time - 1}

    def already_read(self, ident: str, updated: int | None, digest: str) -> bool:
        return updated is not None and updated == self.time and self.at_time.get(ident) == digest

    def advance(self, ident: str, updated: int | None, digest: str) -> None:
        if updated is None:
            return
        if self.time is None or updated > self.time:
            self.time, self.at_time = updated, {}
        if updated == self.time:
            self.at_time[ident] = digest
