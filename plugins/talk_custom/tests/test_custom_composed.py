"""Composed properties declared in talk.toml: several fields as one global property, and back.

A CRM keeps ``first_name`` and ``last_name`` where talk's human has one
``name``; a shop keeps ``street_1``..``street_3`` where talk has two address
lines; a PMS keeps one ``address`` text. ``map`` says so with a list.
"""

from __future__ import annotations

import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest

from talk_core import docs as dataflow
from talk_core.errors import ConfigError
from talk_core.mapping import NAME_PARTS
from talk_core.model import Entity
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.sync.settings import SyncSettings
from talk_custom import SPECS, create_database, instance
from talk_custom.layout import build_layout
from talk_custom.profiles import PROFILES

CRM_PEOPLE = {"global": "human", "table": "people",
              "fields": {"first_name": "string", "last_name": "string", "email": "string",
                         "street_1": "string", "street_2": "string", "street_3": "string"},
              "map": {"name": ["first_name", "last_name"], "email": "email",
                      "street_1": "address_line1",
                      "address_line2": ["street_2", "street_3"]}}
PMS_PERSON = {"global": "human", "table": "person",
              "fields": {"full_name": "string", "mail": "string", "address": "string"},
              "map": {"full_name": "name", "mail": "email",
                      "address": ["address_line1", "address_line2"]}}


def test_a_list_in_map_joins_fields_or_splits_one() -> None:
    crm = build_layout(PROFILES["customcrm"], {"contact": CRM_PEOPLE}, "crm", "sqlite")
    [mapping] = [m for m in crm.mappings if m.datatype == "contact"]
    joined = {c.system: (c.globals, c.composer.name) for c in mapping.composed}
    assert joined == {("first_name", "last_name"): (("name",), "first and last name"),
                      ("street_2", "street_3"): (("address_line2",), "2 address lines")}
    contact = crm.resource("contact").datatype
    row = Entity("1", {"first_name": "Anne Marie", "last_name": "Olsen", "email": "a@x.no",
                       "street_1": "Storgata 1", "street_2": "Bygg B", "street_3": "3. etasje"})
    assert mapping.to_global(row, contact) == {
        "name": "Anne Marie Olsen", "email": "a@x.no", "address_line1": "Storgata 1",
        "address_line2": "Bygg B\n3. etasje"}
    pms = build_layout(PROFILES["custompms"], {"person": PMS_PERSON}, "pms", "sqlite")
    [split] = [m for m in pms.mappings if m.datatype == "person"]
    [composed] = split.composed
    assert (composed.system, composed.globals) == (("address",),
                                                    ("address_line1", "address_line2"))
    labels = {pm.system for pm in split.pairs}
    assert "address" in labels and "full_name" in labels


def test_a_profile_datatype_takes_composed_fields_of_its_own() -> None:
    """A webshop customer with three street fields instead of one address text."""
    table = {"fields": {"address": ""},
             "extra": {"street_1": "string", "street_2": "string", "street_3": "string"},
             "map": {"street_1": "address_line1", "address_line2": ["street_2", "street_3"]}}
    layout = build_layout(PROFILES["customwebshop"], {"customer": table}, "shop", "sqlite")
    [org] = [m for m in layout.mappings
             if m.datatype == "customer" and m.global_type == "organisation"]
    assert [c.system for c in org.composed] == [("street_2", "street_3")]
    written = org.to_system({"address_line1": "Storgata 1",
                             "address_line2": "Bygg B\nOppgang 2"},
                            layout.resource("customer").datatype, creating=True)
    assert {k: written[k] for k in ("street_1", "street_2", "street_3")} == {
        "street_1": "Storgata 1", "street_2": "Bygg B", "street_3": "Oppgang 2"}
    assert "address" not in written


def test_compose_can_be_named_and_a_name_of_three_parts_is_refused() -> None:
    table = {**PMS_PERSON, "map": {"mail": "email", "full_name": "name",
                                   "address": {"parts": ["address_line1", "address_line2"],
                                               "compose": "lines"}}}
    layout = build_layout(PROFILES["custompms"], {"person": table}, "pms", "sqlite")
    [mapping] = [m for m in layout.mappings if m.datatype == "person"]
    assert mapping.composed[0].composer.parts == 2
    crm = {**CRM_PEOPLE, "map": {"notes": {"parts": ["first_name", "last_name"],
                                           "compose": "name"}}}
    made = build_layout(PROFILES["customcrm"], {"contact": crm}, "crm", "sqlite")
    assert next(m for m in made.mappings if m.datatype == "contact").composed[0].composer \
        is NAME_PARTS


def _error(profile: str, name: str, table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        build_layout(PROFILES[profile], {name: table}, "crm", "sqlite")
    return str(caught.value)


def _crm_map(**mapping: Any) -> dict[str, Any]:
    return {**CRM_PEOPLE, "map": {"email": "email", **mapping}}


@pytest.mark.parametrize(("mapping", "key", "message"), [
    ({"name": ["first_name", "surname"]}, "map.name", "'surname' not a field declared here"),
    ({"street_1": ["address_line1", "nickname"]}, "map.street_1",
     "human has no property 'nickname'"),
    ({"name": ["first_name", "last_name", "street_1"]}, "map.name",
     'compose = "name" takes 2 parts'),
    ({"name": ["first_name"]}, "map.name", "at least two parts, got 1"),
    ({"name": ["first_name", "first_name"]}, "map.name", "'first_name' is listed twice"),
    ({"name": ["first_name", "last_name"], "first_name": "title"}, "map.first_name",
     "field 'first_name' is already mapped by datatypes.contact.map.name"),
    ({"notes": ["first_name", "last_name"]}, "map.notes", 'compose = "name" or "lines"'),
    ({"name": {"parts": ["first_name", "last_name"], "compose": "words"}}, "map.name.compose",
     "unknown composer 'words'; expected one of 'name', 'lines'"),
    ({"name": {"parts": ["first_name", "last_name"], "join": "name"}}, "map.name.join",
     "unknown key"),
    ({"name": {"compose": "name"}}, "map.name.parts", "missing"),
    ({"name": "first_name"}, "map.name", "'name' is not a field declared here"),
    ({"nobody": ["first_name", "last_name"]}, "map.nobody",
     "neither a field declared here"),
    ({"name": ["first_name", 3]}, "map.name", "expected a list of names"),
    ({"name": ["first_name", "last_name"], "street_1": "name"}, "map",
     "human.name is already carried by 'first_name + last_name'; leave 'street_1' out"),
])
def test_composed_config_errors_name_the_key(mapping: dict[str, Any], key: str,
                                             message: str) -> None:
    text = _error("customcrm", "contact", _crm_map(**mapping))
    assert f"[systems.crm] datatypes.contact.{key}" in text
    assert message in text


def test_only_text_fields_compose() -> None:
    table = {**CRM_PEOPLE, "fields": {**CRM_PEOPLE["fields"], "last_name": "integer"}}
    assert "'last_name' is integer; only text fields compose" in _error(
        "customcrm", "contact", table)


# -- end to end: a CRM of first and last names <-> a PMS of full names ----------------


class Side:
    """One custom system on SQLite, edited through its own connector."""

    def __init__(self, path: Path, kind: str, table: str, name: str,
                 layout: dict[str, Any], ddl: str) -> None:
        self.path = create_database(path, kind, seed=False)
        with sqlite3.connect(self.path) as db:
            db.execute(ddl)
        db.close()
        self.name, self.options = name, {"backend": "sqlite", "database": str(self.path),
                                         # customers are companies: people go to ``name``
                                         "datatypes": {name: layout,
                                                       "customer": {"people": False}}}
        self.kind = kind
        self.connector = instance("editor", kind, **self.options).connector

    def rows(self) -> list[dict[str, Any]]:
        return [{"id": e.id, **e.properties} for page in self.connector.read(self.name, None)
                for e in page.entities if not e.deleted]

    def one(self) -> dict[str, Any]:
        [row] = self.rows()
        return row


def _ddl(table: str, fields: dict[str, str]) -> str:
    columns = ", ".join(f"{f} TEXT" for f in fields)
    return (f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, {columns}, updated_at TEXT, "
            "deleted_at TEXT, talk_key TEXT)")


def test_a_crm_of_name_parts_and_a_pms_of_full_names_stay_in_sync(tmp_path: Path) -> None:
    crm = Side(tmp_path / "crm.db", "customcrm", "people", "contact", CRM_PEOPLE,
               _ddl("people", CRM_PEOPLE["fields"]))
    pms = Side(tmp_path / "pms.db", "custompms", "person", "person", PMS_PERSON,
               _ddl("person", PMS_PERSON["fields"]))
    sync = Sync(SQLiteStore(tmp_path / "state.db"),
                [instance("crm", "customcrm", **crm.options),
                 instance("pms", "custompms", **pms.options)], SyncSettings())

    def run() -> RunResult:
        result = sync.run()
        assert result.status == "done" and not result.dead_letters and not result.errors, \
            result.as_dict()
        return result

    crm.connector.create("contact", {"first_name": "Anne Marie", "last_name": "Olsen",
                                     "email": "am@x.no", "street_1": "Storgata 1",
                                     "street_2": "Bygg B", "street_3": "3. etasje"}, key="c1")
    pms.connector.create("person", {"full_name": "Ludwig van Beethoven", "mail": "lvb@x.de",
                                    "address": "Bonngasse 20\nHaus 1\nHinterhof"}, key="p1")
    run()
    people = {r["email"]: r for r in crm.rows()}
    persons = {r["mail"]: r for r in pms.rows()}
    assert persons["am@x.no"]["full_name"] == "Anne Marie Olsen"
    assert persons["am@x.no"]["address"] == "Storgata 1\nBygg B\n3. etasje"
    ludwig = people["lvb@x.de"]
    assert (ludwig["first_name"], ludwig["last_name"]) == ("Ludwig van", "Beethoven")
    assert (ludwig["street_1"], ludwig["street_2"], ludwig["street_3"]) == (
        "Bonngasse 20", "Haus 1", "Hinterhof")

    # one part edited on the CRM: the whole name changes in the PMS
    crm.connector.update("contact", people["am@x.no"]["id"], {"last_name": "Hansen"})
    # the whole name edited in the PMS: both parts change in the CRM
    pms.connector.update("person", persons["lvb@x.de"]["id"],
                         {"full_name": "Ludwig Beethoven"})
    run()
    assert {r["mail"]: r for r in pms.rows()}["am@x.no"]["full_name"] == "Anne Marie Hansen"
    ludwig = {r["email"]: r for r in crm.rows()}["lvb@x.de"]
    assert (ludwig["first_name"], ludwig["last_name"]) == ("Ludwig", "Beethoven")
    assert ludwig["street_3"] == "Hinterhof"
    assert run().writes == 0


def test_the_documented_example_is_a_valid_config() -> None:
    text = (Path(__file__).parents[3] / "docs" / "custom-rest-contract.md").read_text()
    section = text[text.index("### Composed properties in `map`"):]
    start = section.index("```toml\n") + 8
    block = section[start:section.index("\n```", start)]
    systems = tomllib.loads(block)["systems"]
    crm = build_layout(PROFILES["customcrm"], systems["crm"]["datatypes"], "crm", "rest")
    pms = build_layout(PROFILES["custompms"], systems["pms"]["datatypes"], "pms", "rest")
    assert {c.system for m in crm.mappings for c in m.composed} >= {
        ("first_name", "last_name"), ("street_2", "street_3")}
    assert {c.system for m in pms.mappings for c in m.composed} >= {("address",)}


def test_the_dataflow_document_shows_composed_fields_as_one_row() -> None:
    crm = build_layout(PROFILES["customcrm"], {"contact": CRM_PEOPLE}, "crm", "sqlite")
    pms = build_layout(PROFILES["custompms"], {"person": PMS_PERSON}, "pms", "sqlite")
    text = dataflow.render(crm.spec(SPECS["customcrm"]), pms.spec(SPECS["custompms"]),
                           fmt="md")
    assert "| `first_name + last_name` | `full_name` |" in text
    assert "| `street_2 + street_3` | `address` |" in text
