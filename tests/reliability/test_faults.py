"""Faults on the wire: talk over three emulators that fail a fifth of their requests.

Invoiced, Exact Online and a custom CRM are synced by ``talk sync`` through
an initial load, edits and deletes, once over clean emulators and once over
emulators that answer 20% of requests with a 429 (with ``Retry-After``), a
500, an answer later than the client waits, or a dropped connection. The
faulty run must end where the clean one did, in every system and in the
links, within the retry policy. Exact's daily budget is never overdrawn,
and a source that lists nothing, or a run that would delete too much,
stops before deleting anything and says why.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from pprint import pformat
from typing import Any

import _faults_support as support
import pytest
from _faults_support import HttpLog, Trio, differences, end_state, talk, talk_json

from talk_core.emulation import TappedRequest
from talk_core.emulation_faults import KINDS
from talk_core.store.sqlite import SQLiteStore

#: A phase over faulty emulators may take this many runs: the first, and retries of
#: what the retry policy gave up on (dead letters, retried with ``deadletters --retry``).
MAX_RUNS = 8
RETRIES = 5  # HttpClient's default: every logical request is sent at most 1 + RETRIES times


# -- the scenario, the same for the clean and the faulty run --------------------------------

def populate(t: Trio) -> None:
    """Each system's sample data and a few more records of every kind."""
    t.billing.seed()
    t.erp.seed()
    t.crm.seed()
    inv = t.billing.account
    for n in range(4):
        customer = inv.create_customer({
            "name": f"Fjellheim {n} AS", "type": "company", "email": f"post{n}@fjellheim.no",
            "city": "Tromsø", "postal_code": f"90{n:02d}", "country": "NO"})
        inv.create_contact(customer["id"], {"name": f"Siri Fjell {n}",
                                            "email": f"siri{n}@fjellheim.no"})
    inv.create_item({"id": "support-plan", "name": "Support plan", "unit_cost": 99,
                     "currency": "nok"})
    for n in range(3):
        account = t.erp.state.create("Accounts", {
            "Name": f"Groothandel {n} BV", "City": "Delft", "Postcode": f"26{n:02d} AA",
            "Country": "NL", "Email": f"info{n}@groothandel.nl"})
        t.erp.state.create("Contacts", {"Account": account["ID"], "FirstName": "Jan",
                                        "LastName": f"Bakker {n}",
                                        "Email": f"jan{n}@groothandel.nl"})
    t.erp.state.create("Items", {"Code": "SUI-300", "Description": "Suiker 5 kg",
                                 "CostPriceStandard": 6.4, "Unit": "pc"})
    for n in range(3):
        customer_id = t.crm.put("customer", {"name": f"Havbruk {n} AS", "city": "Bodø",
                                             "country": "NO",
                                             "email": f"firma{n}@havbruk.no"})["id"]
        t.crm.put("contact", {"name": f"Per Hav {n}", "email": f"per{n}@havbruk.no",
                              "customer": str(customer_id)})
    t.crm.put("product", {"code": "FSK-09", "name": "Fiskekake", "price": 35,
                          "currency": "NOK"})
    # Exact takes no line without an item: the sample's free-text line gets one
    # (without, it is a dead letter that asks for one; see tests/e2e/test_agreements.py)
    inv.create_item({"id": "setup-fee", "name": "Setup fee", "unit_cost": 2500,
                     "currency": "nok"})
    [setup] = [i for i in inv.invoices.values() if i["notes"] == "Thank you!"]
    inv.update_invoice(setup["id"], {"items": [{"id": setup["items"][0]["id"],
                                                "catalog_item": "setup-fee"}]})
    # the CRM sample's quote has no lines, so Exact would not take it: give it one
    [quote] = t.crm.records("quote")
    [cake] = [p for p in t.crm.records("product") if p["code"] == "FSK-09"]
    t.crm.put("quoteline", {"quote": str(quote["id"]), "product": str(cake["id"]),
                            "quantity": 40, "unit_price": 35})


def edit(t: Trio) -> None:
    """One edit per system and kind, none of them on the same property twice."""
    inv = t.billing.account
    [fjell] = [c for c in inv.customers.values() if c["name"] == "Fjellheim 0 AS"]
    inv.update_customer(fjell["id"], {"city": "Alta", "postal_code": "9510"})
    [siri] = [c for c in inv.contacts.values() if c["name"] == "Siri Fjell 1"]
    inv.update_contact(siri["customer"], siri["id"], {"email": "siri.fjell@fjellheim.no"})
    inv.update_item("support-plan", {"name": "Support plan plus"})
    state = t.erp.state
    [groot] = [a for a in state.records["Accounts"].values()
               if a["Name"] == "Groothandel 1 BV"]
    state.update("Accounts", groot["ID"], {"City": "Leiden", "Postcode": "2311 AB"})
    [jan] = [c for c in state.records["Contacts"].values() if c["LastName"] == "Bakker 2"]
    state.update("Contacts", jan["ID"], {"Email": "jan.bakker@groothandel.nl"})
    [havbruk] = [c for c in t.crm.records("customer") if c["name"] == "Havbruk 2 AS"]
    t.crm.edit("customer", str(havbruk["id"]), city="Narvik")
    [cake] = [p for p in t.crm.records("product") if p["code"] == "FSK-09"]
    t.crm.edit("product", str(cake["id"]), name="Fiskekaker 6 stk")
    # a line of each system's own agreements: an invoice's, an order's, a quote's
    [setup] = [i for i in inv.invoices.values() if i["notes"] == "Thank you!"]
    inv.update_invoice(setup["id"], {"items": [{"id": setup["items"][0]["id"],
                                                "quantity": 2}]})
    [order] = [o for o in state.records["SalesOrders"].values()
               if o.get("Description") == "Wekelijkse levering"]
    [line] = [x for x in state.records["SalesOrderLines"].values()
              if x["OrderID"] == order["OrderID"] and x["LineNumber"] == 1]
    state.update("SalesOrderLines", line["ID"], {"Quantity": 8})
    [quote_line] = [x for x in t.crm.records("quoteline") if x["quantity"] == 40]
    t.crm.edit("quoteline", str(quote_line["id"]), quantity=45)


def delete(t: Trio) -> None:
    """A contact from each system, fewer than the circuit breaker allows."""
    inv = t.billing.account
    [siri] = [c for c in inv.contacts.values() if c["name"] == "Siri Fjell 3"]
    inv.delete_contact(siri["customer"], siri["id"])
    [jan] = [c for c in t.erp.state.records["Contacts"].values()
             if c["LastName"] == "Bakker 0"]
    t.erp.state.delete("Contacts", jan["ID"])
    [per] = [c for c in t.crm.records("contact") if c["name"] == "Per Hav 1"]
    t.crm.remove("contact", str(per["id"]))


def converge(t: Trio, limit: int) -> list[dict[str, Any]]:
    """Run talk until a run writes nothing and leaves no dead letter; answer the runs."""
    runs: list[dict[str, Any]] = []
    for _ in range(limit):
        _code, letters = talk_json("deadletters")
        command = ("deadletters", "--retry") if letters else ("sync",)
        code, result = talk_json(*command)
        t.settle()
        runs.append(result)
        assert code in (0, 1), result
        assert result["status"] == "done", result
        _code, left = talk_json("deadletters")
        writes = sum(result["totals"][k] for k in ("create", "update", "delete"))
        if code == 0 and writes == 0 and not left:
            return runs
    raise AssertionError(f"no quiet run in {limit}: last {runs[-1]['totals']}, "
                         f"{runs[-1]['dead_letters'][:3]} {runs[-1]['errors'][:3]}")


def link_shape(folder: Path) -> dict[str, Counter[tuple[tuple[str, str], ...]]]:
    """Per global type, how many entities are linked to which (system, datatype)s."""
    store = SQLiteStore(folder / "state.db")
    try:
        groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for link in store.iter_links():
            groups.setdefault((link.global_type, link.global_id), []).append(
                (link.system, link.datatype))
    finally:
        store.close()
    shape: dict[str, Counter[tuple[tuple[str, str], ...]]] = {}
    for (gtype, _gid), members in groups.items():
        shape.setdefault(gtype, Counter())[tuple(sorted(members))] += 1
    return shape


def play(t: Trio, limit: int) -> list[list[dict[str, Any]]]:
    populate(t)
    phases = [converge(t, limit)]
    edit(t)
    phases.append(converge(t, limit))
    delete(t)
    phases.append(converge(t, limit))
    return phases


# -- the tests ----------------------------------------------------------------------------

def test_a_faulty_run_ends_where_a_clean_run_ends(tmp_path: Path, quick_http: HttpLog,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clean").mkdir()
    clean = Trio(tmp_path / "clean", monkeypatch)
    try:
        clean_phases = play(clean, limit=4)
        clean_state, clean_links = end_state(clean), link_shape(clean.folder)
        clean_served = clean.served()
    finally:
        clean.stop()
    assert clean_phases[0][0]["totals"]["create"] > 40, "the dataset is too small to tell"
    assert not any(r["dead_letters"] for phase in clean_phases for r in phase)

    (tmp_path / "faulty").mkdir()
    faulty = Trio(tmp_path / "faulty", monkeypatch)
    faulty.inject(0.2, seed=20240917)
    calls_before, attempts_before = quick_http.calls, quick_http.attempts
    try:
        faulty_phases = play(faulty, limit=MAX_RUNS)
        faulty_state, faulty_links = end_state(faulty), link_shape(faulty.folder)
        served, injected = faulty.served(), faulty.injected()
        per_emulator = [f.injected for f in faulty.faults()]
        over_day = faulty.erp.limits.over_day
    finally:
        faulty.stop()

    for system in ("billing", "erp", "crm"):
        diff = differences(faulty_state[system], clean_state[system])
        assert not diff, f"{system}:\n{pformat(diff, width=100)}"
    assert faulty_links == clean_links
    # the faults were real: every kind, on every emulator, at about the rate asked for
    for counts in per_emulator:
        assert set(counts) == set(KINDS), counts
    assert 0.12 < sum(injected.values()) / served < 0.28, (injected, served)
    assert served > clean_served
    # within the retry policy: no request was sent more often than it allows
    calls = quick_http.calls - calls_before
    attempts = quick_http.attempts - attempts_before
    assert served <= attempts <= (1 + RETRIES) * calls, (served, attempts, calls)
    assert any(wait >= 1.0 for wait in quick_http.waits), "Retry-After was not honoured"
    assert all(len(phase) <= MAX_RUNS for phase in faulty_phases)
    assert over_day == 0


def test_a_create_whose_answer_was_lost_is_linked_and_its_letter_settled(
        trio: Trio, quick_http: HttpLog) -> None:
    """Exact never resends a POST; the next run finds the record and clears the letter."""
    trio.billing.account.create_customer({"name": "Lost Answer AS", "type": "company",
                                          "city": "Oslo", "country": "NO"})
    def late_create(request: TappedRequest) -> None:
        if request.stage == "applied" and request.method == "POST" and "Accounts" in request.path:
            time.sleep(support.LATE_ANSWER)  # made, and answered after the client gave up

    # only the create answers too late: an Exact whose every call did would be unavailable
    trio.erp.tap.hook = late_create
    code, first = talk_json("sync", "--datatype", "organisation")
    time.sleep(support.LATE_ANSWER)
    assert code == 1 and first["dead_letters"], first
    assert "ReadTimeout" in first["dead_letters"][0]["error"]
    made = [a for a in trio.erp.state.records["Accounts"].values()
            if a["Name"] == "Lost Answer AS"]
    assert len(made) == 1, "the late answer's create took effect on the server"
    trio.erp.tap.hook = None
    code, second = talk_json("deadletters", "--retry")
    assert code == 0, second
    _code, letters = talk_json("deadletters")
    assert letters == []
    assert len([a for a in trio.erp.state.records["Accounts"].values()
                if a["Name"] == "Lost Answer AS"]) == 1, "created twice"


def test_exact_daily_budget_is_never_overdrawn_and_the_next_day_finishes(
        trio: Trio, quick_http: HttpLog) -> None:
    populate(trio)
    trio.inject(0.2, seed=5)
    trio.erp.limits.daily = 40
    code, stopped = talk_json("sync")
    trio.settle()
    assert (code, stopped["status"]) == (5, "budget"), stopped
    assert "daily request budget is spent" in stopped["message"]
    assert trio.erp.limits.over_day == 0, "a call was sent after the budget was spent"
    trio.next_day()
    days = 1
    for _ in range(12):
        _code, letters = talk_json("deadletters")
        code, result = talk_json(*(("deadletters", "--retry") if letters else ("sync",)))
        trio.settle()
        assert trio.erp.limits.over_day == 0
        if result["status"] == "budget":
            assert code == 5
        if trio.erp.limits.used_day >= trio.erp.limits.daily:
            # the next run is on the next day (a run knows what an earlier one spent)
            trio.next_day()
            days += 1
            continue
        _code, left = talk_json("deadletters")
        writes = sum(result["totals"][k] for k in ("create", "update", "delete"))
        if code == 0 and writes == 0 and not left:
            break
    else:
        raise AssertionError("the sync did not finish within 12 runs")
    assert days > 2, "the budget was never tight"
    names = {a["Name"] for a in trio.erp.state.records["Accounts"].values()}
    assert {"Fjellheim 3 AS", "Havbruk 2 AS", "Nordlys AS"} <= names


def _deletes_seen(t: Trio) -> list[str]:
    """Every delete that reached an emulator, in any of the three."""
    seen = [f"billing {e['type']}" for e in t.billing.account.events
            if e["type"].endswith(".deleted")]
    seen += [f"billing item {i['id']}" for i in t.billing.account.items.values()
             if i.get("archived")]
    seen += [f"erp {path}" for method, path, _status in t.erp.calls if method == "DELETE"]
    seen += [f"crm {path}" for method, path in t.crm.requests if method == "DELETE"]
    return seen


def test_a_source_that_suddenly_lists_nothing_stops_before_any_delete(
        trio: Trio, quick_http: HttpLog) -> None:
    populate(trio)
    converge(trio, 4)
    items = trio.billing.account.items
    assert len(items) > 5
    hidden, items_kept = dict(items), items
    trio.billing.account.items = {}  # the listing comes back empty; nothing was deleted
    try:
        result = talk("sync")
    finally:
        trio.billing.account.items = items_kept
        items_kept.update(hidden)
    assert result.exit_code == 4, result.output
    assert "billing items: the listing came back empty" in result.output
    assert "nothing was deleted" in result.output
    assert _deletes_seen(trio) == []
    # the listing is back: the next run is quiet, and still nothing was deleted
    converge(trio, 2)
    assert _deletes_seen(trio) == []


def test_a_run_that_would_delete_too_much_stops_before_any_delete(
        trio: Trio, quick_http: HttpLog) -> None:
    trio.configure(max_delete_fraction=0.25, min_delete_count=2)
    populate(trio)
    converge(trio, 4)
    customers = [c for c in trio.crm.records("customer")]
    for customer in customers[:5]:
        trio.crm.remove("customer", str(customer["id"]))
    before = list(_deletes_seen(trio))
    assert len([p for p in before if p.startswith("crm")]) == 0  # removed behind talk's back
    result = talk("sync")
    assert result.exit_code == 4, result.output
    assert "crm would delete 5 of" in result.output
    assert "more than max_delete_fraction 0.25; nothing was deleted" in result.output
    assert _deletes_seen(trio) == before
