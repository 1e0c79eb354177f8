"""Crashed creates settled in one query on a SQLite backend with a key column."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from talk_core.connector import BatchRecovery, PendingCreate, recover_each
from talk_custom import create_database, instance
from talk_custom.sqlite_backend import KEYS_A_QUERY


def test_more_keys_than_one_query_takes_are_all_answered(tmp_path: Path) -> None:
    create_database(tmp_path / "shop.db", "customwebshop")
    conn = instance("shop", "customwebshop", backend="sqlite", database="shop.db",
                    base_dir=tmp_path).connector
    assert isinstance(conn, BatchRecovery)
    now = datetime.now(UTC)
    pending, made = [], {}
    for n in range(KEYS_A_QUERY + 20):
        props = {"name": f"Customer {n}", "email": f"c{n}@example.com"}
        pending.append(PendingCreate(f"key-{n}", props, now))
        if n % 3:
            made[f"key-{n}"] = conn.create("customer", props, key=f"key-{n}").id
    gone = next(iter(made))
    conn.delete("customer", made.pop(gone))  # made, then deleted: nothing to link
    found = conn.recover_many("customer", pending)
    assert {k: getattr(v, "id", None) for k, v in found.items()} == {
        c.key: made.get(c.key) for c in pending}
    each = recover_each(conn, "customer", pending)
    assert {k: getattr(v, "id", None) for k, v in each.items()} == {
        k: getattr(v, "id", None) for k, v in found.items()}
    conn.close()
