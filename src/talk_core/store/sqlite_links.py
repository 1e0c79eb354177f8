"""Which external record stands for which global entity, and which pairs were detached."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator

from talk_core.errors import StateError
from talk_core.model import Link
from talk_core.serialize import dumps, loads
from talk_core.store.sqlite_rows import LINK_COLS, MAX_PARAMS, chunks, decode_link, marks

__all__ = ["SQLiteLinks"]


class SQLiteLinks:
    """The links and detached tables of ``SQLiteStore``."""

    _conn: sqlite3.Connection

    # -- links -----------------------------------------------------------
    def get_link(
        self, system: str, datatype: str, external_id: str, global_type: str
    ) -> Link | None:
        row = self._conn.execute(
            f"SELECT {LINK_COLS} FROM links WHERE global_type = ? AND system = ? "
            "AND datatype = ? AND external_id = ?",
            (global_type, system, datatype, external_id),
        ).fetchone()
        return None if row is None else decode_link(row)

    def links_by_external(
        self, system: str, datatype: str, global_type: str, external_ids: Iterable[str]
    ) -> dict[str, Link]:
        wanted = list(external_ids)
        found: dict[str, Link] = {}
        execute = self._conn.execute
        for chunk in chunks(wanted, MAX_PARAMS - 3):
            rows = execute(
                f"SELECT {LINK_COLS} FROM links WHERE global_type = ? AND system = ? "
                f"AND datatype = ? AND external_id IN ({marks(len(chunk))})",
                (global_type, system, datatype, *chunk),
            )
            for row in rows:
                found[row[4]] = Link(
                    row[0], row[1], row[2], row[3], row[4], row[5], loads(row[6])
                )
        return found

    def link_ids(self, system: str, datatype: str, global_type: str,
                 external_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """external id -> (global id, hash), without decoding the links' values."""
        found: dict[str, tuple[str, str | None]] = {}
        for chunk in chunks(list(external_ids), MAX_PARAMS - 3):
            rows = self._conn.execute(
                "SELECT external_id, global_id, hash FROM links WHERE global_type = ? "
                f"AND system = ? AND datatype = ? AND external_id IN ({marks(len(chunk))})",
                (global_type, system, datatype, *chunk),
            )
            for ext, gid, digest in rows:
                found[ext] = (gid, digest)
        return found

    def find_links_many(self, system: str, datatype: str, external_ids: Iterable[str],
                        global_types: Iterable[str]) -> dict[str, str]:
        """external id -> global id for referenced records; the first type listed wins."""
        order = {t: i for i, t in enumerate(global_types)}
        best: dict[str, tuple[int, str]] = {}
        if not order:
            return {}
        for chunk in chunks(list(external_ids), MAX_PARAMS - 2 - len(order)):
            rows = self._conn.execute(
                "SELECT external_id, global_type, global_id FROM links WHERE system = ? "
                f"AND datatype = ? AND external_id IN ({marks(len(chunk))}) "
                f"AND global_type IN ({marks(len(order))})",
                (system, datatype, *chunk, *order),
            )
            for ext, gt, gid in rows:
                rank = order[gt]
                if ext not in best or rank < best[ext][0]:
                    best[ext] = (rank, gid)
        return {ext: gid for ext, (_rank, gid) in best.items()}

    def links_for_many(self, global_types: Iterable[str], global_ids: Iterable[str],
                       system: str) -> dict[str, str]:
        """global id -> external id in ``system``, over any of the global types."""
        types = list(global_types)
        found: dict[str, str] = {}
        for chunk in chunks(list(global_ids), MAX_PARAMS - 1 - len(types)):
            rows = self._conn.execute(
                "SELECT global_id, external_id FROM links WHERE system = ? "
                f"AND global_type IN ({marks(len(types))}) "
                f"AND global_id IN ({marks(len(chunk))})",
                (system, *types, *chunk),
            )
            for gid, ext in rows:
                found.setdefault(gid, ext)
        return found

    def find_link(
        self, system: str, datatype: str, external_id: str, global_types: Iterable[str]
    ) -> Link | None:
        """If the record is linked under several of the types, the first one listed wins."""
        order = {t: i for i, t in enumerate(global_types)}
        if not order:
            return None
        rows = self._conn.execute(
            f"SELECT {LINK_COLS} FROM links WHERE system = ? AND datatype = ? "
            f"AND external_id = ? AND global_type IN ({marks(len(order))})",
            (system, datatype, external_id, *order),
        ).fetchall()
        if not rows:
            return None
        return decode_link(min(rows, key=lambda r: order[r[0]]))

    def link_for(self, global_type: str, global_id: str, system: str) -> Link | None:
        row = self._conn.execute(
            f"SELECT {LINK_COLS} FROM links WHERE global_type = ? AND global_id = ? "
            "AND system = ?",
            (global_type, global_id, system),
        ).fetchone()
        return None if row is None else decode_link(row)

    def links_of(self, global_type: str, global_id: str) -> list[Link]:
        rows = self._conn.execute(
            f"SELECT {LINK_COLS} FROM links WHERE global_type = ? AND global_id = ? "
            "ORDER BY rowid",
            (global_type, global_id),
        )
        return [decode_link(r) for r in rows]

    def links_of_many(self, global_type: str, ids: Iterable[str]) -> dict[str, list[Link]]:
        """Every id asked for is a key, with an empty list when it has no links."""
        found: dict[str, list[Link]] = {global_id: [] for global_id in ids}
        wanted = list(found)
        for chunk in chunks(wanted, MAX_PARAMS - 1):
            rows = self._conn.execute(
                f"SELECT {LINK_COLS} FROM links WHERE global_type = ? "
                f"AND global_id IN ({marks(len(chunk))}) ORDER BY rowid",
                (global_type, *chunk),
            )
            for row in rows:
                found[row[1]].append(decode_link(row))
        return found

    def put_link(self, link: Link) -> None:
        """Upsert on the external identity; never silently drops another link.

        ``INSERT OR REPLACE`` would also delete a different link that clashes
        on (global_type, global_id, system), losing it without a word; here
        that clash is an error the caller has to resolve.
        """
        try:
            self._conn.execute(
                f"INSERT INTO links ({LINK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (global_type, system, datatype, external_id) DO UPDATE "
                'SET global_id = excluded.global_id, hash = excluded.hash, '
                '"values" = excluded."values"',
                (
                    link.global_type, link.global_id, link.system, link.datatype,
                    link.external_id, link.hash, dumps(link.values),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StateError(
                f"global {link.global_type} {link.global_id!r} is already linked to another "
                f"record in {link.system}; cannot also link {link.datatype} "
                f"{link.external_id!r} ({exc})"
            ) from exc

    def put_links(self, links: Iterable[Link]) -> None:
        """``put_link`` for many; a clash is an error as there."""
        try:
            self._conn.executemany(
                f"INSERT INTO links ({LINK_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (global_type, system, datatype, external_id) DO UPDATE "
                'SET global_id = excluded.global_id, hash = excluded.hash, '
                '"values" = excluded."values"',
                [(lk.global_type, lk.global_id, lk.system, lk.datatype, lk.external_id,
                  lk.hash, dumps(lk.values)) for lk in links],
            )
        except sqlite3.IntegrityError as exc:
            raise StateError(f"a global entity is already linked to another record in that "
                             f"system ({exc})") from exc

    def delete_link(self, link: Link) -> None:
        self._conn.execute(
            "DELETE FROM links WHERE global_type = ? AND system = ? AND datatype = ? "
            "AND external_id = ?",
            (link.global_type, link.system, link.datatype, link.external_id),
        )

    @staticmethod
    def _link_filter(**columns: str | None) -> tuple[str, tuple[str, ...]]:
        used = {name: value for name, value in columns.items() if value is not None}
        where = " AND ".join(f"{name} = ?" for name in used)
        return (f"WHERE {where}" if where else ""), tuple(used.values())

    def count_links(
        self, global_type: str | None = None, system: str | None = None,
        datatype: str | None = None,
    ) -> int:
        where, args = self._link_filter(global_type=global_type, system=system, datatype=datatype)
        return int(self._conn.execute(f"SELECT count(*) FROM links {where}", args).fetchone()[0])

    def link_counts(self) -> list[tuple[str, str, str, int]]:
        rows = self._conn.execute(
            "SELECT system, datatype, global_type, count(*) FROM links "
            "GROUP BY system, datatype, global_type ORDER BY system, datatype, global_type"
        )
        return [(s, d, g, int(n)) for s, d, g, n in rows]

    def iter_links(
        self, system: str | None = None, datatype: str | None = None,
        global_type: str | None = None, global_id: str | None = None,
    ) -> Iterator[Link]:
        """Pages by rowid so no cursor stays open while the caller writes between items."""
        where, args = self._link_filter(
            system=system, datatype=datatype, global_type=global_type, global_id=global_id
        )
        where = f"{where} AND rowid > ?" if where else "WHERE rowid > ?"
        last = -1
        while True:
            rows = self._conn.execute(
                f"SELECT rowid, {LINK_COLS} FROM links {where} ORDER BY rowid LIMIT 1000",
                (*args, last),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield decode_link(row[1:])
            last = rows[-1][0]

    def detach(self, global_type: str, global_id: str, system: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO detached (global_type, global_id, system) VALUES (?, ?, ?)",
            (global_type, global_id, system),
        )

    def detached_of(self, global_type: str, global_ids: Iterable[str]) -> set[tuple[str, str]]:
        """(global id, system) pairs among ``global_ids`` that must not be created again."""
        found: set[tuple[str, str]] = set()
        for chunk in chunks(list(global_ids), MAX_PARAMS - 1):
            rows = self._conn.execute(
                "SELECT global_id, system FROM detached WHERE global_type = ? "
                f"AND global_id IN ({marks(len(chunk))})",
                (global_type, *chunk),
            )
            found.update((gid, system) for gid, system in rows)
        return found

    def is_detached(self, global_type: str, global_id: str, system: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM detached WHERE global_type = ? AND global_id = ? AND system = ?",
            (global_type, global_id, system),
        ).fetchone()
        return row is not None
