"""The example synced end to end through talk's public API.

Two JSON folders configured in a talk.toml (the plugin found by the name
its entry point registers), and one folder beside an in-memory ERP built
in code: records matched, created, edited both ways, deleted, and values
converted between the folder's spelling and the ERP's.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import talk_core
from talk_core import DataType, Mapping, Property, PropertyType, SystemSpec, mapped
from talk_core.mapping import BOOLEAN, PropertyMapping
from talk_core.store.sqlite import SQLiteStore
from talk_core.testing import InMemoryConnector
from talk_jsonfile import JSONFILE, JsonFileConnector, JsonFolder

CONFIG = """
[state]
path = "state.db"

[systems.shop]
connector = "jsonfile"
folder = "shop"

[systems.office]
connector = "jsonfile"
folder = "office"
page_size = 1
"""


def fields(folder: JsonFolder, datatype: str) -> dict[str, dict[str, Any]]:
    return {ident: rec["fields"] for ident, rec in folder.load(datatype)["records"].items()}


def named(folder: JsonFolder, datatype: str, name: str) -> tuple[str, dict[str, Any]]:
    found = [(i, f) for i, f in fields(folder, datatype).items() if f["name"] == name]
    assert len(found) == 1, f"{name!r} in {datatype}: {found}"
    return found[0]


def test_two_folders_configured_in_toml_stay_in_sync(tmp_path: Path,
                                                      jsonfile_plugin: ModuleType) -> None:
    (tmp_path / "talk.toml").write_text(CONFIG)
    shop, office = JsonFolder(tmp_path / "shop"), JsonFolder(tmp_path / "office")
    acme, _ = shop.insert("companies", {"name": "Acme AS", "email": "post@acme.no",
                                        "country": "no", "status": "active"})
    shop.insert("contacts", {"name": "Kari Nordmann", "email": "kari@acme.no", "company": acme})
    office.insert("companies", {"name": "ACME AS", "email": "post@acme.no"})
    office.insert("companies", {"name": "Fjord AS", "email": "hei@fjord.no", "city": "Bergen"})

    config = talk_core.load_config(tmp_path / "talk.toml")
    with talk_core.Sync(config) as sync:
        first = sync.run()
        assert first.status == "done" and not first.dead_letters
        assert len(fields(shop, "companies")) == 2, "Acme matched by e-mail, Fjord created"
        assert len(fields(office, "companies")) == 2
        office_acme, _ = named(office, "companies", "ACME AS")
        kari_id, kari = named(office, "contacts", "Kari Nordmann")
        assert kari["company"] == office_acme, "the reference points at office's own Acme"
        assert named(shop, "companies", "Fjord AS")[1]["city"] == "Bergen"

        office.update("contacts", kari_id, {"title": "CFO"})
        shop.delete("companies", named(shop, "companies", "Fjord AS")[0])
        second = sync.run()
        assert named(shop, "contacts", "Kari Nordmann")[1]["title"] == "CFO"
        assert [f["name"] for f in fields(office, "companies").values()] == ["ACME AS"]
        assert second.total("update") == 1 and second.total("delete") == 1

        assert sync.run().writes == 0, "nothing changed, nothing written"


ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("Name", required=True), Property("Email"), Property("Country"),
    Property("Active", PropertyType.BOOLEAN),
))
ERP = SystemSpec(
    "erp", "ERP", (ACCOUNTS,),
    (Mapping("Accounts", "organisation", mapped([
        ("Name", "name"), ("Email", "email"), ("Country", "country"),
        PropertyMapping("Active", "active", BOOLEAN)])),),
    factory=lambda **_: InMemoryConnector([ACCOUNTS]),
)


def synced(tmp_path: Path) -> tuple[talk_core.Sync, JsonFolder, InMemoryConnector]:
    folder = JsonFolder(tmp_path / "files")
    erp = InMemoryConnector([ACCOUNTS], id_prefix="E")
    sync = talk_core.Sync(
        SQLiteStore(tmp_path / "state.db"),
        [talk_core.SystemInstance("files", JSONFILE, JsonFileConnector(folder)),
         talk_core.SystemInstance("erp", ERP, erp)],
        talk_core.SyncSettings(),
    )
    return sync, folder, erp


def test_converters_carry_values_between_the_folder_and_an_erp(tmp_path: Path) -> None:
    sync, folder, erp = synced(tmp_path)
    ident, _ = folder.insert("companies", {"name": "Nordlys AS", "country": "no",
                                           "status": "inactive"})
    erp.put("Accounts", {"Name": "Sol AB", "Country": "SE", "Active": True})
    with sync:
        sync.run()
        [(erp_id, account)] = [(i, a) for i, a in erp.records("Accounts").items()
                               if a["Name"] == "Nordlys AS"]
        assert account["Country"] == "NO" and account["Active"] is False
        assert named(folder, "companies", "Sol AB")[1] == {
            "name": "Sol AB", "country": "se", "status": "active"}

        erp.edit("Accounts", erp_id, Country="DK", Active=True)
        sync.run()
        assert fields(folder, "companies")[ident]["country"] == "dk"
        assert fields(folder, "companies")[ident]["status"] == "active"


def test_a_value_the_converter_refuses_is_a_dead_letter_naming_it(tmp_path: Path) -> None:
    sync, folder, erp = synced(tmp_path)
    folder.insert("companies", {"name": "Paused AS", "status": "paused"})
    folder.insert("companies", {"name": "Fine AS", "status": "active"})
    with sync:
        result = sync.run()
    assert [a["Name"] for a in erp.records("Accounts").values()] == ["Fine AS"]
    [letter] = result.dead_letters
    assert (letter["system"], letter["datatype"], letter["direction"]) == (
        "files", "companies", "read")
    assert letter["error"] == ("files companies 1: property 'status': cannot convert 'paused': "
                               'expected "active" or "inactive"')


@pytest.mark.parametrize(("option", "message"), [
    ("page_size = 0", r"\[systems.shop\] page_size: expected 1 or more, got 0"),
    ('colour = "red"', r"\[systems.shop\] colour: unknown option; this connector takes: "
                       r"folder, page_size"),
])
def test_bad_options_are_named_with_file_and_table(tmp_path: Path, jsonfile_plugin: ModuleType,
                                                   option: str, message: str) -> None:
    (tmp_path / "talk.toml").write_text(CONFIG.replace('folder = "shop"',
                                                       f'folder = "shop"\n{option}'))
    with pytest.raises(talk_core.errors.ConfigError, match=message):
        talk_core.Sync(talk_core.load_config(tmp_path / "talk.toml")).close()
