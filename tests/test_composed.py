"""Composed properties: one global property from several system properties, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talk_core.mapping import (
    ADDRESS_LINES,
    NAME_PARTS,
    Composed,
    ConversionError,
    Mapping,
    lines_of,
    mapped,
    value_hash,
)
from talk_core.model import DataType, Entity, Property
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

WORD = st.text(alphabet=st.characters(categories=("L", "N"), include_characters="-'."),
               min_size=1, max_size=12)
NAME = st.lists(WORD, min_size=1, max_size=5).map(" ".join)
LINE = st.lists(WORD, min_size=1, max_size=4).map(" ".join)


@given(NAME)
def test_a_name_split_and_joined_again_is_the_name(name: str) -> None:
    first, last = NAME_PARTS.split(name)
    assert NAME_PARTS.join((first, last)) == name
    assert last is not None and " " not in last


@given(st.text(max_size=40))
def test_any_text_joined_from_its_split_is_its_normal_form(text: str) -> None:
    parts = NAME_PARTS.split(text)
    normal = " ".join(text.split()) or None
    assert NAME_PARTS.join(parts) == normal
    assert NAME_PARTS.split(NAME_PARTS.join(parts)) == parts


def test_an_ambiguous_name_is_split_at_its_last_space() -> None:
    assert NAME_PARTS.split("Anne Marie Olsen") == ("Anne Marie", "Olsen")
    assert NAME_PARTS.split("Ludwig van Beethoven") == ("Ludwig van", "Beethoven")
    assert NAME_PARTS.split("  Cher ") == (None, "Cher")
    assert NAME_PARTS.join(("  Kari ", None)) == "Kari"
    assert NAME_PARTS.join((None, None)) is None


@given(st.lists(LINE, min_size=1, max_size=5).map("\n".join))
def test_an_address_split_into_lines_and_joined_again_is_the_address(text: str) -> None:
    for composer in (ADDRESS_LINES, lines_of(3)):
        parts = composer.split(text)
        assert len(parts) == composer.parts
        assert composer.join(parts) == text


def test_address_lines_keep_every_line_in_the_last_part() -> None:
    assert ADDRESS_LINES.split("Storgata 1\r\nBygg B\n\n3. etasje") == (
        "Storgata 1", "Bygg B\n3. etasje")
    assert lines_of(3).split("Storgata 1") == ("Storgata 1", None, None)
    assert ADDRESS_LINES.join((None, "Bygg B")) == "Bygg B"


def test_one_side_must_be_one_property_and_the_parts_must_fit() -> None:
    with pytest.raises(ValueError, match="one side must be one property"):
        Composed(("a", "b"), ("c", "d"), NAME_PARTS)
    with pytest.raises(ValueError, match="has 2 parts, not 3"):
        Composed(("a", "b", "c"), ("name",), NAME_PARTS)


PEOPLE = DataType("people", "People", (
    Property("first_name"), Property("last_name"), Property("email"), Property("address"),
))
PEOPLE_MAPPING = Mapping("people", "human", mapped([("email", "email")]), composed=(
    Composed(("first_name", "last_name"), ("name",), NAME_PARTS),
    Composed(("address",), ("address_line1", "address_line2"), ADDRESS_LINES),
))


def test_a_mapping_reads_and_writes_composed_properties() -> None:
    entity = Entity("1", {"first_name": "Kari", "last_name": "Nordmann",
                          "address": "Storgata 1\nBygg B", "email": "k@x.no"})
    values = PEOPLE_MAPPING.to_global(entity, PEOPLE)
    assert values == {"email": "k@x.no", "name": "Kari Nordmann",
                      "address_line1": "Storgata 1", "address_line2": "Bygg B"}
    assert PEOPLE_MAPPING.to_system(values, PEOPLE, creating=True) == entity.properties
    assert PEOPLE_MAPPING.to_system({"name": "Ola"}, PEOPLE, creating=False) == {
        "first_name": None, "last_name": "Ola"}
    assert PEOPLE_MAPPING.to_system({"name": None}, PEOPLE, creating=False) == {
        "first_name": None, "last_name": None}
    assert PEOPLE_MAPPING.writable_globals(PEOPLE, creating=False) == {
        "email", "name", "address_line1", "address_line2"}
    assert PEOPLE_MAPPING.together(PEOPLE)["address_line2"] == {"address_line1",
                                                                "address_line2"}
    assert "name" not in PEOPLE_MAPPING.together(PEOPLE)
    assert {pm.system for pm in PEOPLE_MAPPING.pairs} >= {"first_name + last_name", "address"}


def test_hashing_and_edits_work_on_the_global_value() -> None:
    one = Entity("1", {"first_name": "Kari", "last_name": "Nordmann"})
    other = Entity("1", {"first_name": "Kari  ", "last_name": " Nordmann"})
    moved = Entity("1", {"first_name": "Kari Nordmann", "last_name": None})
    hashes = {value_hash(PEOPLE_MAPPING.to_global(e, PEOPLE)) for e in (one, other)}
    assert len(hashes) == 1  # the same full name, however its parts are spaced
    assert PEOPLE_MAPPING.to_global(moved, PEOPLE)["name"] == "Kari Nordmann"
    edited = Entity("1", {"first_name": "Kari", "last_name": "Hansen"})
    assert value_hash(PEOPLE_MAPPING.to_global(edited, PEOPLE)) not in hashes


def test_a_value_that_cannot_be_composed_names_the_properties() -> None:
    broken = Entity("1", {"first_name": {"x": 1}, "last_name": "Nordmann"})
    with pytest.raises(ConversionError, match="first_name \\+ last_name"):
        PEOPLE_MAPPING.to_global(broken, PEOPLE)


# -- a sync between a system of parts and a system of wholes ------------------------

CONTACTS = DataType("contacts", "Contacts", (
    Property("full_name"), Property("mail"), Property("street1"), Property("street2"),
))
PARTS = SystemSpec("parts", "Parts", (PEOPLE,), (PEOPLE_MAPPING,),
                   factory=lambda **_: InMemoryConnector([PEOPLE]))
WHOLES = SystemSpec("wholes", "Wholes", (CONTACTS,), (
    Mapping("contacts", "human", mapped([("full_name", "name"), ("mail", "email"),
                                          ("street1", "address_line1"),
                                          ("street2", "address_line2")])),),
    factory=lambda **_: InMemoryConnector([CONTACTS]))


class World:
    def __init__(self, root: Path) -> None:
        self.parts = InMemoryConnector([PEOPLE], id_prefix="p")
        self.wholes = InMemoryConnector([CONTACTS], id_prefix="w")
        self.store = SQLiteStore(root / "state.db")
        settings = SyncSettings(max_delete_fraction=1.0, datatypes={
            "human": DatatypeSettings(match_keys=(("email",),))})
        self.sync = Sync(self.store, [SystemInstance("parts", PARTS, self.parts),
                                      SystemInstance("wholes", WHOLES, self.wholes)], settings)

    def run(self) -> Any:
        result = self.sync.run()
        assert result.exit_code == 0, result.as_dict()
        return result

    def one(self, connector: InMemoryConnector, datatype: str) -> tuple[str, dict[str, Any]]:
        rows = connector.records(datatype)
        assert len(rows) == 1
        return next(iter(rows.items()))


def test_composed_properties_flow_both_ways_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.parts.create("people", {"first_name": "Anne Marie", "last_name": "Olsen",
                                  "email": "am@x.no", "address": "Storgata 1\nBygg B"},
                       key="k1")
    world.run()
    wid, contact = world.one(world.wholes, "contacts")
    assert contact == {"full_name": "Anne Marie Olsen", "mail": "am@x.no",
                       "street1": "Storgata 1", "street2": "Bygg B"}

    # an edit of one part of the whole: the whole name changes over there
    pid, _person = world.one(world.parts, "people")
    world.parts.update("people", pid, {"last_name": "Hansen"})
    world.run()
    assert world.one(world.wholes, "contacts")[1]["full_name"] == "Anne Marie Hansen"

    # an edit of one of two globals kept in one field: the field is written whole
    world.wholes.update("contacts", wid, {"street2": "Bygg C", "full_name": "Kari Nordmann"})
    world.run()
    person = world.one(world.parts, "people")[1]
    assert person["address"] == "Storgata 1\nBygg C"
    assert (person["first_name"], person["last_name"]) == ("Kari", "Nordmann")

    assert world.run().writes == 0

    world.wholes.delete("contacts", wid)
    world.run()
    assert world.parts.records("people") == {}
    assert world.run().writes == 0
