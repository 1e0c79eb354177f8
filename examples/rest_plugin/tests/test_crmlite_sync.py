"""CRM Lite synced end to end with a custom CRM, both served by their emulators.

Configured in a talk.toml as a user would (the plugin found by its entry
point name): records matched and created both ways, edits on either side,
a delete, and a rerun that writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import talk_core
from talk_crmlite import CrmLiteEmulator
from talk_custom import CustomEmulator

CONFIG = """
[state]
path = "state.db"

[systems.lite]
connector = "crmlite"
base_url = "{lite}"
api_key = "${{CRMLITE_API_KEY}}"
page_size = 1

[systems.crm]
connector = "customcrm"
base_url = "{crm}"
api_key = "${{CRM_API_KEY}}"
page_size = 2
"""


def named(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [r for r in records if r["name"] == name]
    assert len(found) == 1, f"{name!r}: {records}"
    return found[0]


def live(emulator: CrmLiteEmulator, datatype: str) -> list[dict[str, Any]]:
    return [r for r in emulator.records.changes(datatype, 0, 1000) if not r.get("deleted")]


@pytest.fixture
def crm() -> Any:
    with CustomEmulator("customcrm", api_key="crm-key") as running:
        yield running


def test_crmlite_and_a_custom_crm_stay_in_sync(tmp_path: Path, crmlite_plugin: ModuleType,
                                               emulator: CrmLiteEmulator,
                                               crm: CustomEmulator,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMLITE_API_KEY", emulator.api_key)
    monkeypatch.setenv("CRM_API_KEY", "crm-key")
    (tmp_path / "talk.toml").write_text(CONFIG.format(lite=emulator.url, crm=crm.url))
    acme = emulator.put("customers", name="Acme AS", email="post@acme.no", country="no")
    emulator.put("contacts", name="Kari Nordmann", email="kari@acme.no", customer_id=acme)
    crm.put("customer", {"name": "ACME AS", "email": "post@acme.no"})
    crm.put("customer", {"name": "Fjord AB", "email": "hej@fjord.se", "city": "Malmö"})

    with talk_core.Sync(talk_core.load_config(tmp_path / "talk.toml")) as sync:
        first = sync.run()
        assert first.status == "done" and not first.dead_letters, first.as_dict()
        assert len(live(emulator, "customers")) == 2, "Acme matched by e-mail, Fjord created"
        assert len(crm.records("customer")) == 2
        fjord = named(live(emulator, "customers"), "Fjord AB")
        assert fjord["city"] == "Malmö"
        crm_acme = named(crm.records("customer"), "ACME AS")
        kari = named(crm.records("contact"), "Kari Nordmann")
        assert kari["customer"] == crm_acme["id"], "the reference names the CRM's own Acme"
        assert crm_acme["country"] == "NO", "the country went through the UPPER converter"

        crm.edit("contact", kari["id"], title="CFO")
        emulator.records.update("customers", acme, {"phone": "+47 22 00 00 00"})
        emulator.records.delete("customers", fjord["id"])
        second = sync.run()
        assert second.status == "done" and not second.dead_letters, second.as_dict()
        assert named(live(emulator, "contacts"), "Kari Nordmann")["title"] == "CFO"
        assert named(crm.records("customer"), "ACME AS")["phone"] == "+47 22 00 00 00"
        assert [c["name"] for c in crm.records("customer")] == ["ACME AS"]
        assert second.total("update") == 2 and second.total("delete") == 1

        assert sync.run().writes == 0, "nothing changed, nothing written"
