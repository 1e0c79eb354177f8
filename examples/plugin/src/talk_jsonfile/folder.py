"""The system itself: a folder with one JSON file per datatype.

A real connector talks to an API it does not own; here the "API" is this
small store, kept apart from the connector for the same reason. It gives
the folder what talk needs from any system: every write bumps a version
number, so "what changed since version N" is one comparison (clocks tie,
versions never do); deletes leave a tombstone with their version, so an
incremental read can report them; and create keys are remembered, so a
create interrupted by a crash can be found again.

A file looks like this::

    {"version": 7, "next_id": 4,
     "records": {"1": {"version": 5, "updated": "2024-05-01T10:00:00+00:00",
                       "fields": {"name": "Acme AS", "country": "no"}}},
     "deleted": {"2": {"version": 7, "updated": "2024-05-02T09:00:00+00:00"}},
     "keys": {"<create key>": "1"}}

Every change is a read-modify-replace of one file under an exclusive lock
on ``.lock`` in the folder, so talk and ``talk jsonfile set`` can write at
the same time (on POSIX systems).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Clock = Callable[[], datetime]


class DamagedFile(ValueError):
    """A datatype file that is not the JSON this store writes."""


def _now() -> datetime:
    return datetime.now(UTC)


def _empty() -> dict[str, Any]:
    return {"version": 0, "next_id": 1, "records": {}, "deleted": {}, "keys": {}}


class JsonFolder:
    """Records of some datatypes, one ``<datatype>.json`` file each, in ``path``."""

    def __init__(self, path: Path, *, clock: Clock = _now) -> None:
        self.path = path
        self.clock = clock

    def file(self, datatype: str) -> Path:
        return self.path / f"{datatype}.json"

    # -- reading ------------------------------------------------------------------

    def load(self, datatype: str) -> dict[str, Any]:
        """The whole file, or an empty one if the datatype has no file yet."""
        file = self.file(datatype)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _empty()
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DamagedFile(f"{file}: not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("records"), dict):
            raise DamagedFile(f"{file}: expected an object with \"records\"")
        for key, default in _empty().items():
            data.setdefault(key, default)
        return data

    def changes(self, datatype: str, after: int) -> list[tuple[int, str, dict[str, Any] | None]]:
        """``(version, id, record)`` written after version ``after``, oldest first.

        ``record`` is None for a record deleted since; this scans the whole
        file, which is fine for a folder and would be an indexed query in a
        database.
        """
        data = self.load(datatype)
        found: list[tuple[int, str, dict[str, Any] | None]] = [
            (rec["version"], ident, rec)
            for ident, rec in data["records"].items() if rec["version"] > after
        ]
        found += [
            (gone["version"], ident, None)
            for ident, gone in data["deleted"].items() if gone["version"] > after
        ]
        return sorted(found, key=lambda change: change[0])

    def tombstone(self, datatype: str, ident: str) -> dict[str, Any] | None:
        return self.load(datatype)["deleted"].get(ident)

    def get(self, datatype: str, ident: str) -> dict[str, Any] | None:
        return self.load(datatype)["records"].get(ident)

    def find_key(self, datatype: str, key: str) -> str | None:
        """The id of the record a create with this key made, if any."""
        return self.load(datatype)["keys"].get(key)

    # -- writing ------------------------------------------------------------------

    def insert(self, datatype: str, fields: dict[str, Any], *,
               key: str | None = None) -> tuple[str, dict[str, Any]]:
        """Store a new record; a key seen before answers the record it made instead."""
        with self._change(datatype) as data:
            known = data["keys"].get(key) if key is not None else None
            if known is not None and known in data["records"]:
                return known, data["records"][known]
            ident = str(data["next_id"])
            data["next_id"] += 1
            record = self._stamp(data, {"fields": dict(fields)})
            data["records"][ident] = record
            if key is not None:
                data["keys"][key] = ident
            return ident, record

    def update(self, datatype: str, ident: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change some fields of a record; KeyError if it does not exist."""
        with self._change(datatype) as data:
            record = data["records"][ident]
            record["fields"].update(changes)
            return self._stamp(data, record)

    def delete(self, datatype: str, ident: str) -> bool:
        """Delete a record, leaving a tombstone; False if there was none to delete."""
        with self._change(datatype) as data:
            if data["records"].pop(ident, None) is None:
                return False
            data["deleted"][ident] = self._stamp(data, {})
            return True

    def _stamp(self, data: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        data["version"] += 1
        record["version"] = data["version"]
        record["updated"] = self.clock().isoformat()
        return record

    @contextmanager
    def _change(self, datatype: str) -> Iterator[dict[str, Any]]:
        """Load, let the caller change, and replace the file atomically, all under the lock."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self.load(datatype)
            yield data
            file = self.file(datatype)
            tmp = file.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
            os.replace(tmp, file)
