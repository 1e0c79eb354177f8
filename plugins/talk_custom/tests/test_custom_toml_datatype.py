"""A datatype declared only in talk.toml, synced through the config path the CLI uses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import talk_core
from talk_custom import create_database

CONFIG = """
[systems.shop]
connector = "customwebshop"
backend = "sqlite"
database = "shop.db"

[systems.pms]
connector = "custompms"
backend = "sqlite"
database = "pms.db"

[systems.pms.datatypes.project]
label = "Project"
table = "project"
global = "product"
fields = { title = "string", budget = "decimal" }
map = { title = "name", budget = "unit_price" }
"""


def test_a_toml_declared_datatype_syncs_with_a_text_key(tmp_path: Path) -> None:
    create_database(tmp_path / "shop.db", "customwebshop", seed=True)
    create_database(tmp_path / "pms.db", "custompms", seed=False)
    with sqlite3.connect(tmp_path / "pms.db") as db:
        # a TEXT primary key: SQLite assigns nothing (and would even take NULL)
        db.execute("CREATE TABLE project (id TEXT PRIMARY KEY, title TEXT, budget TEXT, "
                   "updated_at TEXT, deleted_at TEXT)")
    (tmp_path / "talk.toml").write_text(CONFIG)
    config = talk_core.load_config(tmp_path / "talk.toml")
    with talk_core.Sync(config) as sync:
        first = sync.run()
        again = sync.run()
    assert first.status == "done" and first.dead_letters == []
    assert first.total("create") >= 2
    with sqlite3.connect(tmp_path / "pms.db") as db:
        projects = db.execute("SELECT id, title FROM project ORDER BY title").fetchall()
        shop = sqlite3.connect(tmp_path / "shop.db")
        products = [r[0] for r in shop.execute("SELECT name FROM products ORDER BY name")]
        shop.close()
    assert [title for _id, title in projects] == products
    assert all(ident for ident, _title in projects)
    assert again.writes == 0
