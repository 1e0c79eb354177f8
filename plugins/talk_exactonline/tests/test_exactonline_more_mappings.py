"""How Exact's further datatypes are seen as global ones, and the options that change it.

The flows themselves run end to end in test_exactonline_people_e2e.py,
test_exactonline_salesinvoices_e2e.py and test_exactonline_divisions_e2e.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from talk_core.errors import ConfigError
from talk_core.mapping import Mapping
from talk_core.model import Entity
from talk_core.store.sqlite import SQLiteStore
from talk_core.system import SystemContext, SystemSpec
from talk_exactonline.connector import ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.mappings import mappings_for
from talk_exactonline.persons import parse_person_rule
from talk_exactonline.plugin import EXACT_ONLINE, instance_spec
from talk_exactonline.schema import BY_NAME
from talk_exactonline.testing import emulator_connector


def _mapping(spec: SystemSpec | tuple[Mapping, ...], datatype: str, global_type: str
             ) -> Mapping:
    mappings = spec.mappings if isinstance(spec, SystemSpec) else spec
    [found] = [m for m in mappings if (m.datatype, m.global_type) == (datatype, global_type)]
    return found


def _facets(mappings: tuple[Mapping, ...], record: dict[str, Any]) -> set[str]:
    entity = Entity("6e6e6e6e-0000-4000-8000-000000000001", record)
    return {m.global_type for m in mappings if m.datatype == "Accounts" and m.accepts(entity)}


def test_by_default_every_account_is_a_company() -> None:
    person_like = {"Name": "Pieter Jansen", "City": "Delft"}
    assert _facets(EXACT_ONLINE.mappings, person_like) == {"organisation", "location"}
    assert not _mapping(EXACT_ONLINE, "Accounts", "human").creates


def test_the_person_rule_picks_the_human_facet_and_what_a_new_person_gets() -> None:
    mappings = mappings_for("salesorders", "Status=P and VATNumber empty")
    assert _facets(mappings, {"Name": "Pieter", "Status": "p "}) == {"human"}
    assert _facets(mappings, {"Name": "Pieter", "Status": "P", "VATNumber": "NL1"}) == {
        "organisation", "location"}
    person = _mapping(mappings, "Accounts", "human")
    assert person.on_create == {"Status": "P"} and person.creates
    assert person.routes({"organisation": None}) and not person.routes({"organisation": "g1"})
    # a rule talk cannot meet on create never creates person accounts
    assert not _mapping(mappings_for("salesorders", "Email set"), "Accounts", "human").creates


@pytest.mark.parametrize(("rule", "says"), [
    ("Status=", "no value after '='"),
    ("Nickname=x", "'Nickname' is not a field"),
    ("CountryName=NL", "read-only"),
    ("Status maybe", "expected 'Field=value'"),
])
def test_a_bad_person_rule_is_refused_naming_the_term(rule: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_person_rule(rule, BY_NAME["Accounts"])


def test_a_bad_option_is_a_config_error_naming_the_instance_and_option(tmp_path: Path) -> None:
    context = SystemContext("erp", SQLiteStore(tmp_path / "s.db"))
    with pytest.raises(ConfigError, match=r"\[systems.erp\] person_accounts: term 'Foo=1'"):
        instance_spec("salesorders", context, person_accounts="Foo=1")
    with pytest.raises(ConfigError, match=r"\[systems.erp\] sales_journal: empty"):
        instance_spec("salesinvoices", context, sales_journal=" ")
    assert instance_spec("salesorders", context, company_data=True) is EXACT_ONLINE
    plain = instance_spec("salesorders", context)
    assert {m.datatype for m in EXACT_ONLINE.mappings} - {m.datatype for m in plain.mappings} \
        == {"Employees", "Departments", "Divisions"}


def test_an_employee_is_a_human_with_private_contacts_and_a_home(tmp_path: Path) -> None:
    with ExactEmulator() as emu:
        emu.state.create("Employees", {
            "ID": "6e6e6e6e-0000-4000-8000-000000000002", "FullName": "Jan de Boer",
            "BusinessEmail": "jan@work.nl", "Email": "jan@home.nl", "Phone": "+31 6 1",
            "BirthDate": "1985-04-12", "AddressStreet": "Kerkstraat",
            "AddressStreetNumber": "12", "City": "Utrecht", "Country": "nl"})
        store = SQLiteStore(tmp_path / "s.db")
        conn: ExactConnector = emulator_connector(emu, store)
        [page] = list(conn.read("Employees", None))
        [jan] = page.entities
        dt = BY_NAME["Employees"]
        human = _mapping(EXACT_ONLINE, "Employees", "human").to_global(jan, dt)
        assert (human["email"], human["private_email"], human["private_phone"],
                human["birth_date"], human["address_line1"], human["country"]) == (
            "jan@work.nl", "jan@home.nl", "+31 6 1", "1985-04-12", "Kerkstraat 12", "NL")
        home = _mapping(EXACT_ONLINE, "Employees", "location").to_global(jan, dt)
        assert (home["owner"], home["kind"], home["city"]) == (jan.id, "home", "Utrecht")
        # Exact lets employees be read only: the connector refuses to write them
        with pytest.raises(Exception, match="read only"):
            conn.update("Employees", jan.id, {"City": "Zeist"})
        conn.close()
        store.close()


def test_divisions_are_read_by_their_number_and_looked_up_by_it(tmp_path: Path) -> None:
    with ExactEmulator() as emu:
        emu.state.create("Divisions", {"Code": 4004, "Description": "Koffie BV",
                                       "Website": "koffie.example"})
        store = SQLiteStore(tmp_path / "s.db")
        conn = emulator_connector(emu, store)
        [page] = list(conn.read("Divisions", None))
        # the administration talk works in is always listed, as in Exact
        assert [(e.id, e.properties["Owner"]) for e in page.entities] == [
            (str(emu.state.division), str(emu.state.division)), ("4004", "4004")]
        found = conn.get("Divisions", "4004")
        assert found is not None and found.properties["Website"] == "koffie.example"
        assert conn.get("Divisions", "not-a-number") is None
        conn.close()
        store.close()
