"""The state file's schema, as a list of forward-only migrations.

``PRAGMA user_version`` holds how many migrations a file has had, so a file
from an older talk is brought up to date on open and a file from a newer talk
is refused instead of being misread. ``PRAGMA application_id`` marks the file
as talk's, so that pointing talk at some other program's SQLite database
fails loudly instead of adding tables to it.
"""

from __future__ import annotations

import sqlite3

from talk_core.errors import StateError

__all__ = ["APPLICATION_ID", "MIGRATIONS", "check", "migrate"]

#: "talk" in ASCII.
APPLICATION_ID = 0x74616C6B

_V1: list[str] = [
    f"PRAGMA application_id = {APPLICATION_ID}",
    """CREATE TABLE globals (
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        "values" TEXT NOT NULL,
        parent_id TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (global_type, global_id)
    )""",
    "CREATE INDEX globals_parent ON globals (global_type, parent_id)",
    """CREATE TABLE match_keys (
        global_type TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        global_id TEXT NOT NULL,
        PRIMARY KEY (global_type, global_id, key)
    )""",
    "CREATE INDEX match_keys_lookup ON match_keys (global_type, key, value, global_id)",
    """CREATE TABLE links (
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        external_id TEXT NOT NULL,
        hash TEXT,
        "values" TEXT NOT NULL,
        UNIQUE (global_type, system, datatype, external_id),
        UNIQUE (global_type, global_id, system)
    )""",
    "CREATE INDEX links_external ON links (system, datatype, external_id)",
    """CREATE TABLE detached (
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        system TEXT NOT NULL,
        PRIMARY KEY (global_type, global_id, system)
    )""",
    """CREATE TABLE cursors (
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        cursor TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (system, datatype)
    )""",
    """CREATE TABLE inbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        global_type TEXT NOT NULL,
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        external_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT,
        global_id TEXT,
        deferred TEXT
    )""",
    # Serves inbox_unresolved (global_id IS NULL, by seq), inbox_groups
    # (global_id ranges, by global_id then seq) and inbox_count per type.
    "CREATE INDEX inbox_type_gid ON inbox (global_type, global_id, seq)",
    # Deferred rows are few: a partial index keeps listing and clearing them cheap.
    "CREATE INDEX inbox_deferred ON inbox (seq) WHERE deferred IS NOT NULL",
    """CREATE TABLE seen (
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        external_id TEXT NOT NULL,
        PRIMARY KEY (system, datatype, external_id)
    )""",
    """CREATE TABLE journal (
        key TEXT PRIMARY KEY,
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER,
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        property TEXT NOT NULL,
        "values" TEXT NOT NULL,
        winner TEXT NOT NULL,
        policy TEXT NOT NULL,
        created_at TEXT NOT NULL
    )""",
    """CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        direction TEXT NOT NULL CHECK (direction IN ('read', 'write')),
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        external_id TEXT NOT NULL,
        global_type TEXT NOT NULL,
        global_id TEXT,
        error TEXT NOT NULL,
        payload TEXT,
        attempts INTEGER NOT NULL,
        next_attempt TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    # The two identities of a dead letter (see StateStore.put_dead_letter).
    """CREATE UNIQUE INDEX dead_letters_read ON dead_letters
        (direction, system, datatype, external_id) WHERE direction = 'read'""",
    """CREATE UNIQUE INDEX dead_letters_write ON dead_letters
        (direction, system, global_type, global_id) WHERE direction = 'write'""",
    "CREATE INDEX dead_letters_due ON dead_letters (next_attempt)",
    "CREATE INDEX conflicts_entity ON conflicts (global_type, global_id, property)",
    """CREATE TABLE tokens (
        system TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        summary TEXT NOT NULL
    )""",
    """CREATE TABLE lock (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        owner TEXT NOT NULL,
        pid INTEGER NOT NULL,
        since TEXT NOT NULL
    )""",
]

# Version 2, for the initial sync's write cost. Every lookup by external id
# names its global types, so the unique (global_type, system, datatype,
# external_id) index serves it; a second index on those columns only cost
# each link write a b-tree. Match keys are found by their primary key or
# their lookup index, never by rowid: without one, each key is a b-tree
# entry less.
_V2: list[str] = [
    "DROP INDEX IF EXISTS links_external",
    # Columns in primary-key order: SQLite 3.40's integrity check misreads a
    # WITHOUT ROWID table whose key columns are not its first ones.
    """CREATE TABLE match_keys_v2 (
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (global_type, global_id, key)
    ) WITHOUT ROWID""",
    "INSERT INTO match_keys_v2 (global_type, key, value, global_id) "
    "SELECT global_type, key, value, global_id FROM match_keys",
    "DROP TABLE match_keys",
    "ALTER TABLE match_keys_v2 RENAME TO match_keys",
    "CREATE INDEX match_keys_lookup ON match_keys (global_type, key, value, global_id)",
]

# Version 3, also for the write cost of each record. The journal is found by
# its key and listed by time, never by rowid; without one, each entry is a
# b-tree write less on the way in and out. Only lines have a parent, so the
# index of parents leaves out the rows that have none.
_V3: list[str] = [
    """CREATE TABLE journal_v3 (
        key TEXT PRIMARY KEY,
        global_type TEXT NOT NULL,
        global_id TEXT NOT NULL,
        system TEXT NOT NULL,
        datatype TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID""",
    "INSERT INTO journal_v3 (key, global_type, global_id, system, datatype, payload, created_at) "
    "SELECT key, global_type, global_id, system, datatype, payload, created_at FROM journal",
    "DROP TABLE journal",
    "ALTER TABLE journal_v3 RENAME TO journal",
    "DROP INDEX IF EXISTS globals_parent",
    "CREATE INDEX globals_parent ON globals (global_type, parent_id) WHERE parent_id IS NOT NULL",
]

# Version 4: JSON text that may hold an integer beyond 64 bits starts with
# ``serialize.SLOW_MARK``, so that the fast decoder is used for the rest (see
# ``serialize.loads``). Text written before the mark existed is marked here
# when it has a run of 19 digits (2**63 has 19), whether in a number or in a
# string: a false mark only costs the slower decoder.
_JSON_COLUMNS = (("globals", '"values"'), ("links", '"values"'), ("inbox", "payload"),
                 ("journal", "payload"), ("conflicts", '"values"'),
                 ("dead_letters", "payload"), ("runs", "summary"), ("tokens", "token"))
_LONG_DIGITS = "*" + "[0-9]" * 19 + "*"
_V4: list[str] = [
    f"UPDATE {table} SET {column} = ' ' || {column} "
    f"WHERE {column} GLOB '{_LONG_DIGITS}' AND substr({column}, 1, 1) != ' '"
    for table, column in _JSON_COLUMNS
]

# Version 5: a merge batch's journal entries are one row (see
# ``SQLiteJournal``): a JSON list of [key, global type, global id, system,
# datatype, payload, created at]; ``created_at`` is the oldest entry's.
_V5: list[str] = [
    """CREATE TABLE journal_batches (
        id INTEGER PRIMARY KEY,
        created_at TEXT NOT NULL,
        entries TEXT NOT NULL
    )""",
]

# Version 6: plugins' durable facts are notes, keyed by (instance, name) (see
# ``NoteStore``). The tokens table held them under one key: a system's OAuth
# token under its name, anything else under "name#kind" (Exact's budget,
# Invoiced's replacements). A token becomes the note "token" of its instance.
# The value text moves as it is, ``SLOW_MARK`` included.
_V6: list[str] = [
    """CREATE TABLE notes (
        instance TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (instance, name)
    ) WITHOUT ROWID""",
    "INSERT OR REPLACE INTO notes (instance, name, value, updated_at) "
    "SELECT CASE WHEN instr(system, '#') > 0 THEN substr(system, 1, instr(system, '#') - 1) "
    "ELSE system END, "
    "CASE WHEN instr(system, '#') > 0 THEN substr(system, instr(system, '#') + 1) "
    "ELSE 'token' END, token, updated_at FROM tokens",
    "DROP TABLE tokens",
]

#: Migration ``n`` (0-based) takes a file from version ``n`` to ``n + 1``.
#: Only ever append: a released migration is never edited.
MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6]


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check(conn: sqlite3.Connection, path: str) -> int:
    """The file's version, after making sure it is a talk file this code can read."""
    version = _version(conn)
    known = len(MIGRATIONS)
    if version == 0:
        if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
            raise StateError(
                f"{path} is a SQLite database of some other program, not a talk state "
                "file; point [state] path elsewhere"
            )
        return version
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    if app_id != APPLICATION_ID:
        raise StateError(
            f"{path} is a SQLite database of some other program (application id "
            f"{app_id:#x}), not a talk state file; point [state] path elsewhere"
        )
    if version > known:
        raise StateError(
            f"{path} was written by a newer talk (state version {version}; this talk "
            f"knows versions up to {known}); upgrade talk to use it"
        )
    return version


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the file up to the newest version in one transaction; return that version.

    The version is read again under the write lock so two processes opening
    an old file at once do not both migrate it. A failing migration leaves
    the file exactly as it was.
    """
    target = len(MIGRATIONS)
    if check(conn, path) == target:
        return target
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = check(conn, path)
        for number in range(current, target):
            for statement in MIGRATIONS[number]:
                try:
                    conn.execute(statement)
                except sqlite3.Error as exc:
                    raise StateError(
                        f"migrating {path} from state version {number} to {number + 1} "
                        f"failed ({exc}); the file was left unchanged"
                    ) from exc
        conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return target
