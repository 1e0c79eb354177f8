"""Bad input from Exact Online: OData records Exact should never send, and a page of HTML.

Bad Accounts, Contacts and Items are put straight into the emulator's store
(past its own validation), among good ones; a sync must dead-letter each
bad one with a message naming system, entity, id and field, sync every good
one, and never crash. A page of HTML where the Sync API's JSON belongs
(a maintenance page) is an outage: the run says it was an HTML page,
leaves Exact alone with no dead letter (exit 7), and a rerun after Exact
answers again converges.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from _faults_support import MISSING, ODD_TEXT, HttpLog, Trio, linked, sync_in_process, talk_json
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

#: (entity, field, value): values no Exact field holds, each caught while reading.
WRONG = st.sampled_from([
    ("Accounts", "Name", 12345), ("Accounts", "Name", None), ("Accounts", "Name", MISSING),
    ("Accounts", "Name", ["a", "list"]), ("Accounts", "Country", {"nested": 1}),
    ("Accounts", "Country", 42),
    ("Accounts", "City", "Delft\ud800"), ("Accounts", "Postcode", 3.5),
    ("Accounts", "Blocked", "yes"), ("Accounts", "Code", {"x": 1}),
    ("Accounts", "Modified", "/Date(garbage)/"), ("Accounts", "Modified", 1_700_000_000),
    ("Accounts", "Modified", "/Date(99999999999999999999)/"), ("Accounts", "ID", None),
    ("Contacts", "Account", "not-a-guid"), ("Contacts", "Account", None),
    ("Contacts", "Email", False), ("Contacts", "FullName", 7),
    ("Items", "CostPriceStandard", "12,50"), ("Items", "CostPriceStandard", math.nan),
    ("Items", "Code", None), ("Items", "Description", ["x"]), ("Items", "IsSalesItem", "true"),
])
GLOBAL_TYPE = {"Accounts": "organisation", "Contacts": "human", "Items": "product"}
COUNTER = itertools.count()


@settings(max_examples=28, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(wrong=("Items", "CostPriceStandard", math.nan), odd="nul\x00byte")  # not JSON
@example(wrong=("Accounts", "Country", 42), odd="🦊")  # a target would take it as text
@given(wrong=WRONG, odd=ODD_TEXT)
def test_bad_exact_records_are_dead_letters_and_good_ones_sync(
        trio: Trio, quick_http: HttpLog, wrong: tuple[str, str, Any], odd: str) -> None:
    n = next(COUNTER)
    exact = trio.erp.state
    good = exact.create("Accounts", {"Name": f"Good {n} BV", "City": "Delft", "Country": "NL"})
    exact.create("Contacts", {"Account": good["ID"], "FirstName": "Jan", "LastName": f"Goed {n}"})
    exact.create("Items", {"Code": f"GOOD-{n}", "Description": f"Good item {n}",
                           "CostPriceStandard": 5})
    strange = exact.create("Accounts", {"Name": f"Odd {n} BV", "AddressLine2": odd})
    entity, field, value = wrong
    bad = exact.create(entity, {
        "Accounts": {"Name": f"Bad {n} BV", "City": "Delft"},
        "Contacts": {"Account": good["ID"], "FirstName": "Piet", "LastName": f"Fout {n}"},
        "Items": {"Code": f"BAD-{n}", "Description": f"Bad item {n}"},
    }[entity])
    ident = bad["ID"]
    with exact.lock:  # behind the API's back, as a buggy or hostile API would answer
        record = exact.records[entity][ident]
        if value is MISSING:
            record.pop(field)
        else:
            record[field] = value

    result = sync_in_process("organisation", "human", "product")

    assert result.status == "done", result.message
    crm_customers = {c["name"] for c in trio.crm.records("customer")}
    billing_customers = {c["name"] for c in trio.billing.account.customers.values()}
    assert {f"Good {n} BV", f"Odd {n} BV"} <= crm_customers & billing_customers
    assert f"Jan Goed {n}" in {c["name"] for c in trio.crm.records("contact")}
    assert f"Good item {n}" in {p["name"] for p in trio.crm.records("product")}
    assert f"Good item {n}" in {i["name"] for i in trio.billing.account.items.values()}
    taken_in = linked(trio.folder, "erp", entity, GLOBAL_TYPE[entity], ident)
    assert not taken_in, "a bad record was taken in"
    errors = [d["error"] for d in result.dead_letters]
    if field == "ID":  # no id to name: the letter says which entity and what is missing
        assert any(f"erp {entity}" in e and "without ID" in e for e in errors), errors
    else:
        mine = [e for e in errors if f"erp {entity} {ident}" in e]
        assert mine and field in mine[0], errors
    assert not [e for e in errors if strange["ID"] in e], "odd but valid text is data"
    with exact.lock:
        exact.records[entity].pop(ident)  # the next example starts without it


def test_a_page_of_html_is_an_outage_said_as_such_and_a_rerun_converges(
        trio: Trio, quick_http: HttpLog) -> None:
    exact = trio.erp.state
    account = exact.create("Accounts", {"Name": "Bladzijde BV", "City": "Delft"})
    exact.create("Contacts", {"Account": account["ID"], "FirstName": "Els", "LastName": "Pagina"})
    trio.erp.fail("sync/CRM/Contacts", 200, content_type="text/html", times=1000,
                  body="<!DOCTYPE html><html><head><title>Onderhoud</title></head>"
                       "<body><h1>Exact Online is being maintained</h1></body></html>")
    code, broken = talk_json("sync", "--datatype", "organisation", "--datatype", "human")
    assert code == 7 and broken["status"] == "unavailable", broken
    assert any("Contacts" in e and "HTML page" in e and "Onderhoud" in e
               for e in broken["unavailable"]), broken
    assert broken["dead_letters"] == [], broken
    assert "Bladzijde BV" in {c["name"] for c in trio.crm.records("customer")}
    assert "Els Pagina" not in {c["name"] for c in trio.crm.records("contact")}

    trio.erp.faults.clear()
    code, fixed = talk_json("sync", "--datatype", "organisation", "--datatype", "human")
    assert code == 0, fixed
    assert "Bladzijde BV" in {c["name"] for c in trio.crm.records("customer")}
    assert "Els Pagina" in {c["name"] for c in trio.crm.records("contact")}
    code, letters = talk_json("deadletters")
    assert letters == []
    assert "Els Pagina" in {c["name"] for c in trio.billing.account.contacts.values()}
    code, quiet = talk_json("sync", "--datatype", "organisation", "--datatype", "human")
    assert code == 0 and quiet["totals"]["create"] == 0, quiet
