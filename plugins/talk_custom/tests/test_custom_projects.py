"""Custom PMS projects and their tasks, both ways with Invoiced invoices and line items."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from test_custom_invoiced_e2e import Pair, unix

from talk_custom import SPECS, CustomEmulator
from talk_custom.emulator.state import ApiError
from talk_custom.testing import StartEmulator
from talk_invoiced.emulator import InvoicedEmulator


def test_the_pms_profile_has_projects_and_tasks_of_a_project() -> None:
    spec = SPECS["custompms"]
    task = spec.datatype("task")
    assert task.child_of is not None and task.child_of.parent == "project"
    project = spec.mappings_of("project")[0]
    assert (project.global_type, project.defaults) == ("agreement", {"kind": "project"})
    assert project.routes({"kind": "project"}) and not project.routes({"kind": "invoice"})
    assert spec.mappings_of("task")[0].global_type == "agreementline"
    # a CRM's orders take no project: it has its own datatype in a PMS
    assert not SPECS["customcrm"].mappings_of("order")[0].routes({"kind": "project"})


def test_the_emulator_keeps_a_task_to_a_live_project_and_deletes_tasks_with_it() -> None:
    emulator = CustomEmulator("custompms")
    state = emulator.state
    acme, _ = state.create(state.table("customer"), {"name": "Acme"})
    with pytest.raises(ApiError, match="no project with id '99'"):
        state.create(state.table("task"), {"project": "99", "title": "Design"})
    project, _ = state.create(state.table("project"), {"name": "Web", "customer": acme["id"]})
    task, _ = state.create(state.table("task"), {"project": project["id"], "title": "Design",
                                                 "hours": 3})
    state.delete(state.table("project"), project["id"])
    with pytest.raises(ApiError, match="no task"):
        state.get(state.table("task"), task["id"])


@pytest.fixture(params=["rest", "sqlite"])
def pms(request: pytest.FixtureRequest, tmp_path: Path, custom_emulator: StartEmulator,
        invoiced_emulator: InvoicedEmulator) -> Pair:
    return Pair.on(request.param, "custompms", tmp_path, custom_emulator, invoiced_emulator,
                   "pms.db")


def test_projects_and_tasks_flow_both_ways(pms: Pair) -> None:
    custom, acc = pms.custom, pms.account
    acme = custom.put("customer", {"name": "Acme AS", "email": "post@acme.no"})["id"]
    web = custom.put("project", {"name": "New web shop", "number": "P-1", "customer": acme,
                                 "currency": "NOK", "start_date": "2024-09-02",
                                 "end_date": "2024-10-31", "status": "active"})["id"]
    design = custom.put("task", {"project": web, "title": "Design", "hours": 10,
                                 "rate": 1200})["id"]
    custom.put("task", {"project": web, "title": "Build", "hours": 40, "rate": 1000})
    # an invoice made in Invoiced is no project: it stays out of the PMS
    bolt = acc.create_customer({"name": "Bolt AB", "type": "company", "email": "hej@bolt.se"})
    acc.create_invoice({"customer": bolt["id"], "number": "INV-1", "currency": "sek",
                        "date": unix("2024-10-01"),
                        "items": [{"name": "Setup", "quantity": 1, "unit_cost": 10}]})
    pms.settle()

    invoice = pms.invoice("P-1")
    assert (invoice["customer"], invoice["currency"], invoice["date"], invoice["due_date"],
            invoice["name"]) == (int(pms.customer("Acme AS")["id"]), "nok",
                                 unix("2024-09-02"), unix("2024-10-31"), "New web shop")
    assert sorted((i["name"], Decimal(str(i["quantity"])), Decimal(str(i["unit_cost"])))
                  for i in invoice["items"]) == [("Build", 40, 1000), ("Design", 10, 1200)]
    assert [p["name"] for p in custom.records("project")] == ["New web shop"]
    assert len(custom.records("task")) == 2

    # edits on either side: a task's hours in the PMS, a line's rate and the due date in
    # Invoiced, and a line added there becomes a task
    custom.edit("task", design, hours=12)
    items = [{"id": i["id"], **({"unit_cost": 1100} if i["name"] == "Build" else {})}
             for i in invoice["items"]]
    acc.update_invoice(invoice["id"], {"due_date": unix("2024-11-30"), "items": [
        *items, {"name": "Hosting", "quantity": 1, "unit_cost": 500}]})
    pms.settle()
    invoice = pms.invoice("P-1")
    assert {i["name"]: Decimal(str(i["quantity"])) for i in invoice["items"]}["Design"] == 12
    assert pms.one("project", id=web)["end_date"] == "2024-11-30"
    tasks = {t["title"]: t for t in custom.records("task")}
    assert set(tasks) == {"Design", "Build", "Hosting"}
    assert Decimal(str(tasks["Build"]["rate"])) == 1100
    assert all(t["project"] == web for t in tasks.values())

    # a task deleted in the PMS, then the whole invoice deleted in Invoiced
    custom.remove("task", tasks["Hosting"]["id"])
    pms.settle()
    assert sorted(i["name"] for i in pms.invoice("P-1")["items"]) == ["Build", "Design"]
    acc.delete_invoice(invoice["id"])
    results = pms.settle()
    assert results[0].total("delete") >= 1
    assert custom.records("project") == [] and custom.records("task") == []
    assert pms.run().writes == 0
