"""The SQLite store passes the store contract, on a file and in memory.

The hook for earlier versions builds a file as each released version left
it: the migrations up to that version, then ``OldSample`` written the way
that version wrote it (JSON without the mark for long digits before version
4, tokens in their own table before version 6).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from talk_core.serialize import dumps, format_datetime
from talk_core.store import schema
from talk_core.store.base import StateStore
from talk_core.store.sqlite import SQLiteStore
from talk_core.testing import StoreContract
from talk_core.testing.store_contract import OldSample

WHEN = "2026-01-01T00:00:00.000000Z"


def _json(version: int, value: object) -> str:
    """JSON text as state version ``version`` wrote it."""
    return dumps(value) if version >= 4 else json.dumps(value, separators=(",", ":"))


def build_version(path: Path, version: int) -> None:
    """A state file at ``version`` holding ``OldSample``."""
    s = OldSample
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for migration in schema.MIGRATIONS[:version]:
            for statement in migration:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO globals VALUES (?, ?, ?, NULL, ?)",
                     (s.global_type, s.global_id, _json(version, s.values), WHEN))
        conn.execute("INSERT INTO match_keys (global_type, key, value, global_id) "
                     "VALUES (?, ?, ?, ?)", (s.global_type, *s.match_key, s.global_id))
        lk = s.link
        conn.execute('INSERT INTO links (global_type, global_id, system, datatype, external_id, '
                     'hash, "values") VALUES (?, ?, ?, ?, ?, ?, ?)',
                     (lk.global_type, lk.global_id, lk.system, lk.datatype, lk.external_id,
                      lk.hash, _json(version, lk.values)))
        conn.execute("INSERT INTO cursors VALUES (?, ?, ?, ?)", (*s.cursor, WHEN))
        e = s.journal
        assert e.created_at is not None
        conn.execute("INSERT INTO journal (key, global_type, global_id, system, datatype, "
                     "payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (e.key, e.global_type, e.global_id, e.system, e.datatype,
                      _json(version, e.payload), format_datetime(e.created_at)))
        for key, token in s.tokens.items():
            if version < 6:
                conn.execute("INSERT INTO tokens VALUES (?, ?, ?)",
                             (key, _json(version, token), WHEN))
            else:
                instance, _, name = key.partition("#")
                conn.execute("INSERT INTO notes VALUES (?, ?, ?, ?)",
                             (instance, name or "token", _json(version, token), WHEN))
        conn.execute("COMMIT")
    finally:
        conn.close()


class TestSQLiteFileStore(StoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path) -> Callable[[], StateStore]:
        return lambda: SQLiteStore(tmp_path / "state" / "state.db")

    @pytest.fixture
    def child_store_code(self, tmp_path: Path) -> str:
        return ("from talk_core.store.sqlite import SQLiteStore\n"
                f"store = SQLiteStore({str(tmp_path / 'state' / 'state.db')!r})\n")

    @pytest.fixture
    def state_files(self, tmp_path: Path) -> Callable[[], list[Path]]:
        return lambda: sorted((tmp_path / "state").iterdir())

    @pytest.fixture
    def old_versions(self) -> list[int]:
        return list(range(1, len(schema.MIGRATIONS)))

    @pytest.fixture
    def old_state(self, tmp_path: Path) -> Callable[[int], Callable[[], StateStore]]:
        def build(version: int) -> Callable[[], StateStore]:
            path = tmp_path / f"v{version}" / "state.db"
            path.parent.mkdir()
            build_version(path, version)
            return lambda: SQLiteStore(path)

        return build


class TestSQLiteMemoryStore(StoreContract):
    @pytest.fixture
    def open_store(self) -> Callable[[], StateStore]:
        return SQLiteStore.memory

    @pytest.fixture
    def shares_state(self) -> bool:
        return False

