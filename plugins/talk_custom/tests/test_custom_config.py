"""Bad config and bad answers: each error says what is wrong and where, and nothing is lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from talk_core.config import parse_config
from talk_core.errors import AccessDenied, ConfigError, RecordError
from talk_core.model import PropertyType
from talk_custom import SPECS, CustomEmulator, create_database, instance


def shop(tmp_path: Path, **options: Any) -> Any:
    create_database(tmp_path / "shop.db", "customwebshop")
    return instance("shop", "customwebshop", backend="sqlite", database="shop.db",
                    base_dir=tmp_path, **options)


@pytest.mark.parametrize(("datatypes", "message"), [
    ({"customer": {"table": "clients"}},
     "[systems.shop] datatypes.customer.table: no table 'clients' in shop.db"),
    ({"customer": {"fields": {"email": "mail"}}},
     "[systems.shop] datatypes.customer.fields.email: no column 'mail' in table 'customers'"),
    ({"customer": {"updated_field": "changed"}},
     "[systems.shop] datatypes.customer.updated_field: no column 'changed'"),
    ({"customer": {"fields": {"nickname": "nick"}}},
     "[systems.shop] datatypes.customer.fields.nickname: Customer has no property 'nickname'"),
    ({"customer": {"fields": {"name": ""}}},
     "datatypes.customer.fields.name: 'name' is required by talk"),
    ({"customer": {"colour": "red"}},
     "[systems.shop] datatypes.customer.colour: unknown key"),
    ({"customer": {"extra": {"vat": "money"}}},
     "datatypes.customer.extra.vat: unknown type 'money'"),
    ({"customer": {"extra": {"vat": "string"}, "map": {"vat": "vat_number"}}},
     "datatypes.customer.map.vat: organisation.vat_number is already carried by 'vat_number'"),
    ({"project": {"fields": {"title": "string"}, "map": {"title": "name"}}},
     "datatypes.project.global: missing"),
    ({"project": {"global": "deal", "fields": {"title": "string"}}},
     "datatypes.project.global: unknown global datatype 'deal'"),
    ({"project": {"global": "agreement", "fields": {"client": "reference:client"}}},
     "datatypes.project.fields.client: reference to unknown datatype 'client'"),
    ({"project": {"global": "agreement", "fields": {"budget": "decimal"},
                  "map": {"budget": "customer"}}},
     "datatypes.project.map.budget: 'budget' is decimal but agreement.customer is reference"),
    ({"project": {"global": "agreement", "fields": {"title": "string"},
                  "map": {"title": "headline"}}},
     "datatypes.project.map.title: agreement has no property 'headline'"),
    ({"customer": "clients"}, "[systems.shop] datatypes.customer: expected a table"),
])
def test_config_errors_name_the_table_and_key(tmp_path: Path, datatypes: dict[str, Any],
                                              message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        shop(tmp_path, datatypes=datatypes)
    assert message in str(caught.value)


def test_backend_and_location_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[systems.x\] backend: expected"):
        instance("x", "custompms", backend="postgres")
    with pytest.raises(ConfigError, match=r"\[systems.x\] base_url: missing"):
        instance("x", "custompms")
    with pytest.raises(ConfigError, match="plain http would send credentials"):
        instance("x", "custompms", base_url="http://crm.example.com")
    with pytest.raises(ConfigError, match=r"database: no such file"):
        instance("x", "custompms", backend="sqlite", database=str(tmp_path / "none.db"))
    (tmp_path / "junk.db").write_text("not a database" * 100)
    with pytest.raises(ConfigError, match=r"junk\.db is not a SQLite database"):
        instance("x", "custompms", backend="sqlite", database=str(tmp_path / "junk.db"))


def test_a_talk_toml_with_a_dict_option_and_a_secret_from_the_environment() -> None:
    raw = {"systems": {"crm": {
        "connector": "customcrm", "base_url": "http://127.0.0.1:9", "token": "${CRM_TOKEN}",
        "datatypes": {"customer": {"path": "clients", "fields": {"name": "company"}}},
    }}}
    config = parse_config(raw, env={"CRM_TOKEN": "s3cret"}, systems=SPECS)
    options = config.systems["crm"].options
    made = instance("crm", "customcrm", **options)
    assert made.connector.layout.resource("customer").wire("name") == "company"
    assert "s3cret" not in repr(made.connector) and "s3cret" not in repr(options)


def test_a_datatype_of_your_own_syncs_without_python(tmp_path: Path) -> None:
    """A projects table declared in TOML only: types checked, mapped to global agreement."""
    path = create_database(tmp_path / "crm.db", "customcrm")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE projects (id INTEGER PRIMARY KEY, title TEXT, budget NUMERIC, "
                   "client INTEGER, starts TEXT, updated_at TEXT, deleted_at TEXT)")
    db.close()
    layout = {"project": {"label": "Project", "global": "agreement", "required": ["title"],
                          "fields": {"title": "string", "budget": "decimal",
                                     "client": "reference:customer", "starts": "date"},
                          "map": {"title": "number", "client": "customer", "starts": "date"},
                          "defaults": {"kind": "order"}, "creates": False}}
    made = instance("crm", "customcrm", backend="sqlite", database=str(path), datatypes=layout)
    project = made.spec.datatype("project")
    assert project.property("client").type is PropertyType.REFERENCE
    mapping = made.spec.mappings_of("project")[0]
    assert (mapping.global_type, mapping.creates) == ("agreement", False)
    conn = made.connector
    acme = conn.create("customer", {"name": "Acme"}, key="k1")
    created = conn.create("project", {"title": "P-1", "client": acme.id, "starts": "2024-01-02",
                                      "budget": 1200}, key="k2")
    assert mapping.to_global(created, project) == {"number": "P-1", "customer": acme.id,
                                                   "date": "2024-01-02"}
    with pytest.raises(RecordError, match="field 'budget': expected a number"):
        conn.create("project", {"title": "P-2", "budget": "lots"}, key="k3")
    with pytest.raises(RecordError, match="'title' is required"):
        conn.create("project", {"budget": 1}, key="k4")


def test_a_row_of_the_wrong_type_is_rejected_with_its_field_and_kept(tmp_path: Path) -> None:
    made = shop(tmp_path)
    conn = made.connector
    conn.create("product", {"code": "OK", "price": 1}, key="a")
    with sqlite3.connect(tmp_path / "shop.db") as db:
        db.execute("INSERT INTO products (code, price, updated_at) VALUES "
                   "('BAD', 'twelve', '2030-01-01T00:00:00.000000Z')")
    db.close()
    pages = list(conn.read("product", None))
    rejects = [r for p in pages for r in p.rejects]
    assert [e.properties["code"] for p in pages for e in p.entities] == ["OK"]
    assert len(rejects) == 1 and "field 'price': expected a number" in rejects[0].error
    assert rejects[0].payload["code"] == "BAD"


def test_rest_answers_that_break_the_contract(tmp_path: Path) -> None:
    with CustomEmulator("custompms") as emulator:
        conn = instance("pms", "custompms", base_url=emulator.url).connector
        emulator.put("customer", {"name": "Good"})
        emulator.fail(200, path="customers", method="GET", body={"records": []})
        with pytest.raises(RecordError, match=r'pms GET /customers: expected \{"data"'):
            list(conn.read("customer", None))
        emulator.fail(200, path="customers", method="GET",
                      body={"data": [{"id": "9", "name": 5,
                                      "updated_at": "2024-01-01T00:00:00Z"},
                                     {"name": "no id"}], "has_more": False})
        page = next(iter(conn.read("customer", None)))
        errors = {r.external_id: r.error for r in page.rejects}
        assert "pms GET /customers 9: field 'name': expected text, got 5" in errors["9"]
        assert "a record without a usable 'id'" in errors[""]
        emulator.fail(422, method="POST", body={"error": {"code": "invalid", "message":
                                                         "name is taken", "field": "name"}})
        with pytest.raises(RecordError, match=r"422 name is taken \(field 'name'\)"):
            conn.create("customer", {"name": "Dup"}, key="k")
        emulator.fail(503, times=2, method="GET", path="customers/1")
        conn.http.sleep = lambda _s: None
        assert conn.get("customer", "1").properties["name"] == "Good"
        assert [e.properties["name"] for p in conn.read("customer", None)
                for e in p.entities] == ["Good"]


def test_rest_auth_is_sent_and_refused_without_it() -> None:
    with CustomEmulator("custompms", api_key="right") as emulator:
        wrong = instance("pms", "custompms", base_url=emulator.url, api_key="wrong").connector
        with pytest.raises(AccessDenied, match="refused the credentials"):
            wrong.get("customer", "1")
        right = instance("pms", "custompms", base_url=emulator.url, api_key="right").connector
        assert right.get("customer", "1") is None


def test_a_full_listing_with_a_broken_row_stops_instead_of_deleting(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "pms.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, "
                   "phone TEXT, address TEXT, city TEXT, postal_code TEXT, country TEXT, "
                   "org_number TEXT, vat_number TEXT)")
        db.execute("INSERT INTO customers (name, email) VALUES ('A', 'a@x'), ('B', x'00ff')")
    db.close()
    conn = instance("pms", "custompms", backend="sqlite", database=str(tmp_path / "pms.db"))
    with pytest.raises(RecordError, match=r"field 'email'.*nothing of customer was synced"):
        list(conn.connector.read("customer", None))
