"""Customers that are persons: the people rule, its config, and persons flowing both ways."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_custom_invoiced_e2e import Pair

from talk_core.errors import ConfigError
from talk_core.model import Entity
from talk_custom import instance
from talk_custom.testing import StartEmulator
from talk_invoiced.emulator import InvoicedEmulator


def _facets(spec: Any) -> list[tuple[str, str]]:
    return [(m.global_type, m.facet) for m in spec.mappings if m.datatype == "customer"]


@pytest.mark.parametrize("kind", ["customcrm", "customwebshop", "custompms"])
def test_every_profile_has_persons_and_addresses(kind: str, tmp_path: Path) -> None:
    spec = instance("x", kind, base_url="http://127.0.0.1:1").connector.spec
    assert _facets(spec) == [("organisation", ""), ("human", "human data"),
                             ("location", "location data")]
    org, human, location = [m for m in spec.mappings if m.datatype == "customer"]
    person = Entity("1", {"name": "Kari", "customer_type": "person"})
    company = Entity("2", {"name": "Acme AS"})
    assert (human.accepts(person), org.accepts(person), location.accepts(person)) == (
        True, False, False)
    assert (human.accepts(company), org.accepts(company)) == (False, True)
    assert human.on_create == {"customer_type": "person"}
    assert org.on_create == {"customer_type": "company"}
    values = location.to_global(Entity("7", {"owner": "7", "address": "Storgata 1\nBygg B"}),
                                spec.datatype("customer"))
    assert (values["owner"], values["kind"], values["address_line2"]) == ("7", "invoice",
                                                                            "Bygg B")


def test_config_can_take_a_customer_without_org_number_for_a_person() -> None:
    spec = instance("x", "customwebshop", base_url="http://127.0.0.1:1", datatypes={
        "customer": {"people": {"field": "org_number", "when": "empty"}}}).connector.spec
    org, human, _location = [m for m in spec.mappings if m.datatype == "customer"]
    assert human.accepts(Entity("1", {"name": "Kari", "org_number": " "}))
    assert org.accepts(Entity("2", {"name": "Acme", "org_number": "912345678"}))
    assert human.on_create == {"org_number": None} and org.on_create == {}


def test_config_can_say_every_customer_is_a_company() -> None:
    spec = instance("x", "custompms", base_url="http://127.0.0.1:1",
                    datatypes={"customer": {"people": False}}).connector.spec
    assert _facets(spec) == [("organisation", ""), ("location", "location data")]


@pytest.mark.parametrize(("people", "message"), [
    ({"field": "kind"}, "datatypes.customer.people.field: Customer has no property 'kind'"),
    ({"field": "name"}, "'name' cannot tell persons from companies"),
    ({"person": "p"}, "datatypes.customer.people.field: missing"),
    ({"field": "customer_type", "colour": 1}, "datatypes.customer.people.colour: unknown key"),
    ({"field": "org_number", "when": "empty", "person": "x"},
     'datatypes.customer.people.person: not with when = "empty"'),
    ({"field": "customer_type", "when": "maybe"}, "people.when: expected \"equals\" or"),
    ({"field": "customer_type", "person": "x", "company": "x"},
     "people.company: the same value as person"),
    ("person", "datatypes.customer.people: expected a table"),
])
def test_a_bad_people_rule_names_the_key(people: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        instance("shop", "customwebshop", base_url="http://127.0.0.1:1",
                 datatypes={"customer": {"people": people}})
    assert message in str(caught.value) and "[systems.shop]" in str(caught.value)


def test_a_table_made_before_persons_reads_every_customer_as_a_company(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "pms.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, "
                   "phone TEXT, address TEXT, city TEXT, postal_code TEXT, country TEXT, "
                   "org_number TEXT, vat_number TEXT, updated_at TEXT, deleted_at TEXT, "
                   "talk_key TEXT)")
    db.close()
    system = instance("pms", "custompms", backend="sqlite", database=str(tmp_path / "pms.db"))
    assert _facets(system.spec) == [("organisation", ""), ("location", "location data")]
    # nor projects and tasks, which came later: the file is used without them
    assert [dt.name for dt in system.spec.datatypes] == ["customer"]
    made = system.connector.create("customer", {"name": "Acme AS"}, key="k")
    assert made.properties["owner"] == made.id
    # a rule the config names must find its column
    with pytest.raises(ConfigError, match=r"people\.field|no column 'customer_type'"):
        instance("pms", "custompms", backend="sqlite", database=str(tmp_path / "pms.db"),
                 datatypes={"customer": {"people": {"field": "customer_type"}}})


@pytest.fixture(params=[("customwebshop", "rest"), ("custompms", "sqlite")])
def pair(request: pytest.FixtureRequest, tmp_path: Path, custom_emulator: StartEmulator,
         invoiced_emulator: InvoicedEmulator) -> Pair:
    kind, backend = request.param
    return Pair.on(backend, kind, tmp_path, custom_emulator, invoiced_emulator)


def test_persons_flow_both_ways_with_their_addresses(pair: Pair) -> None:
    shop, acc = pair.custom, pair.account
    ola = shop.put("customer", {"name": "Ola Hansen", "customer_type": "person",
                                "email": "ola@example.no", "address": "Lia 2\nOppgang B",
                                "city": "Oslo", "country": "NO"})["id"]
    acme = shop.put("customer", {"name": "Acme AS", "email": "post@acme.no",
                                 "address": "Storgata 1", "city": "Oslo"})["id"]
    kari = acc.create_customer({"name": "Kari Nordmann", "type": "person",
                                "email": "kari@example.no", "address1": "Bakken 3",
                                "address2": "2. etg", "city": "Bergen"})
    pair.settle()

    # a person customer is an Invoiced person, its address lines as one text and back
    ola_inv = pair.customer("Ola Hansen")
    assert (ola_inv["type"], ola_inv["email"], ola_inv["address1"], ola_inv["address2"],
            ola_inv["city"]) == ("person", "ola@example.no", "Lia 2", "Oppgang B", "Oslo")
    assert pair.customer("Acme AS")["type"] == "company"
    kari_shop = pair.one("customer", name="Kari Nordmann")
    assert (kari_shop["customer_type"], kari_shop["address"], kari_shop["city"]) == (
        "person", "Bakken 3\n2. etg", "Bergen")

    # edits on either side, one of them to one line of a two-line address
    acc.update_customer(kari["id"], {"address2": "3. etg"})
    shop.edit("customer", ola, email="ola@hansen.no")
    shop.edit("customer", acme, address="Storgata 1\nBakgården")
    pair.settle()
    assert pair.one("customer", id=kari_shop["id"])["address"] == "Bakken 3\n3. etg"
    assert pair.customer("Ola Hansen")["email"] == "ola@hansen.no"
    assert pair.customer("Acme AS")["address2"] == "Bakgården"

    # deletes on either side
    acc.delete_customer(kari["id"])
    shop.remove("customer", ola)
    results = pair.settle()
    assert results[0].total("delete") == 2
    assert sorted(r["name"] for r in shop.records("customer")) == ["Acme AS"]
    assert sorted(c["name"] for c in acc.customers.values()) == ["Acme AS"]
    assert pair.run().writes == 0
