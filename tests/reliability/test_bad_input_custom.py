"""Bad input from an in-house REST API: records that break the contract, and a page of HTML.

Bad customers, contacts and products are put straight into the custom CRM
emulator's store (past its own validation), among good ones; a sync must
dead-letter each bad one with a message naming system, datatype, id and
field where the reader can tell them (a missing name is refused by each
target instead, naming the field), sync every good one, and never crash.
A page of HTML instead of the listing's JSON (a proxy's or maintenance
page) is an outage: the run leaves the CRM alone with no dead letter
(exit 7), says so clearly, and a rerun after the API recovers converges.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from _faults_support import MISSING, ODD_TEXT, HttpLog, Trio, linked, sync_in_process, talk_json
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

#: (datatype, field, value, caught): ``caught`` says the reader refuses the value itself
#: (the letter names the record); otherwise a target that requires the field refuses it
#: (Exact an item without a code; Invoiced makes up an id for one, which is fine).
#: A broken updated stamp sorts after every real one: one that sorted before the
#: cursor would never be listed again, by this emulator or any keyset-paged API.
WRONG = st.sampled_from([
    ("customer", "name", 12345, True), ("customer", "name", ["a", "list"], True),
    ("customer", "name", None, False), ("customer", "name", MISSING, False),
    ("customer", "country", {"nested": 1}, True), ("customer", "city", "Oslo\ud800", True),
    ("customer", "postal_code", 3.5, True), ("customer", "updated_at", "yesterday", True),
    ("customer", "updated_at", "9999-99-99T99:99:99Z", True), ("customer", "id", None, True),
    ("customer", "id", {"x": 1}, True),
    ("contact", "customer", {"id": 1}, True), ("contact", "name", ["x"], True),
    ("contact", "email", 42, True),
    ("product", "price", "12,50", True), ("product", "price", math.nan, True),
    ("product", "price", True, True), ("product", "code", None, False),
    ("product", "currency", ["NOK"], True),
])
GLOBAL_TYPE = {"customer": "organisation", "contact": "human", "product": "product"}
COUNTER = itertools.count()


def _names(trio: Trio) -> dict[str, set[str]]:
    """Names of what Exact and Invoiced hold, by global datatype."""
    erp, inv = trio.erp.state.records, trio.billing.account
    return {
        "organisation": {a["Name"] for a in erp["Accounts"].values()}
        & {c["name"] for c in inv.customers.values()},
        "human": {c["FullName"] for c in erp["Contacts"].values()}
        & {c["name"] for c in inv.contacts.values()},
        "product": {i["Description"] for i in erp["Items"].values()}
        & {i["name"] for i in inv.items.values()},
    }


@settings(max_examples=28, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(wrong=("product", "price", math.nan, True), odd="nul\x00byte")  # not JSON
@example(wrong=("customer", "updated_at", "yesterday", True), odd="🦊")  # would move the cursor
@given(wrong=WRONG, odd=ODD_TEXT)
def test_bad_custom_records_are_dead_letters_and_good_ones_sync(
        trio: Trio, quick_http: HttpLog, wrong: tuple[str, str, Any, bool], odd: str) -> None:
    n = next(COUNTER)
    crm = trio.crm
    good = crm.put("customer", {"name": f"Good {n} AS", "city": "Oslo", "country": "NO"})
    crm.put("contact", {"name": f"Kari Good {n}", "customer": good["id"]})
    crm.put("product", {"code": f"GOOD-{n}", "name": f"Good product {n}", "price": 12.5})
    strange = crm.put("customer", {"name": f"Odd {n} AS", "address": odd})
    datatype, field, value, caught = wrong
    bad = crm.put(datatype, {
        "customer": {"name": f"Bad {n} AS"},
        "contact": {"name": f"Ola Bad {n}", "customer": good["id"]},
        "product": {"code": f"BAD-{n}", "name": f"Bad product {n}"},
    }[datatype])
    ident = bad["id"]
    table = crm.state.table(datatype)
    with crm.state.lock:  # behind the API's back, as a buggy in-house API would answer
        row = table.rows[ident]
        wire = table.resource.wire(field) if field in table.resource.datatype.property_names \
            else field
        if value is MISSING:
            row.pop(wire)
        else:
            row[wire] = value

    result = sync_in_process("organisation", "human", "product")

    assert result.status == "done", result.message
    held = _names(trio)
    assert {f"Good {n} AS", f"Odd {n} AS"} <= held["organisation"]
    assert f"Kari Good {n}" in held["human"]
    assert f"Good product {n}" in held["product"]
    taken_in = linked(trio.folder, "crm", datatype, GLOBAL_TYPE[datatype], ident)
    assert taken_in is not caught, "a bad record was taken in"
    errors = [d["error"] for d in result.dead_letters]
    if field == "id":  # no id to name: the letter names the listing and the id field
        assert any(f"crm {datatype}" in e and "'id'" in e for e in errors), errors
    elif caught:
        mine = [e for e in errors if f"crm {datatype} {ident}:" in e]
        assert mine and field in mine[0], errors
    else:  # taken in, then refused, field named, by each target that requires it
        refusals = [e for e in errors if field in e.lower() and "create failed" in e]
        assert refusals, errors
    assert not [e for e in errors if f"crm customer {strange['id']}:" in e], \
        "odd but valid text is data"
    with crm.state.lock:
        table.rows.pop(ident)  # the next example starts without it


def test_a_stamp_that_sorts_after_every_change_does_not_hide_later_records(
        trio: Trio, quick_http: HttpLog) -> None:
    """A cursor taken from an unreadable stamp would skip every change still to come."""
    crm = trio.crm
    broken = crm.put("customer", {"name": "Klokke AS"})
    with crm.state.lock:
        crm.state.table("customer").rows[broken["id"]]["updated_at"] = "yesterday"
    code, first = talk_json("sync", "--datatype", "organisation")
    assert code == 1 and any("'updated_at'" in d["error"] and "yesterday" in d["error"]
                             for d in first["dead_letters"]), first
    crm.put("customer", {"name": "Senere AS"})
    code, second = talk_json("sync", "--datatype", "organisation")
    assert "Senere AS" in {a["Name"] for a in trio.erp.state.records["Accounts"].values()}, \
        second


def test_a_page_of_html_is_an_outage_and_a_rerun_converges(
        trio: Trio, quick_http: HttpLog) -> None:
    trio.crm.put("customer", {"name": "Nettside AS", "city": "Bergen"})
    trio.crm.fail(200, method="GET", path="customers", content_type="text/html", times=1000,
                  body="<html><head><title>502 Bad Gateway</title></head>"
                       "<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>")
    code, broken = talk_json("sync", "--datatype", "organisation")
    assert code == 7 and broken["status"] == "unavailable", broken
    assert any("crm GET /customers" in e and "HTML page" in e and "502 Bad Gateway" in e
               for e in broken["unavailable"]), broken
    assert broken["dead_letters"] == [], broken
    assert "Nettside AS" not in {c["name"] for c in trio.billing.account.customers.values()}

    trio.crm.faults.clear()
    code, fixed = talk_json("sync", "--datatype", "organisation")
    assert code == 0, fixed
    assert "Nettside AS" in {c["name"] for c in trio.billing.account.customers.values()}
    assert "Nettside AS" in {a["Name"] for a in trio.erp.state.records["Accounts"].values()}
    code, quiet = talk_json("sync", "--datatype", "organisation")
    assert code == 0 and quiet["totals"]["create"] == 0, quiet
