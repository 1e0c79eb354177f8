"""Bad input: records an API should never send, a page that is not JSON, broken files.

Bad records are put straight into an emulator's store (past its own
validation), among good ones; a sync must dead-letter each bad one with a
message naming system, datatype, id and property, sync every good one, and
never crash. A page of HTML where the API promises JSON is an outage
(Exact, Invoiced: the system is left alone, exit 7, no dead letter), and
a rerun after the API recovers converges. A damaged config or state file is
one line on stderr naming the file, exit code 2, no traceback.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from _faults_support import ODD_TEXT, HttpLog, Trio, sync_in_process, talk, talk_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: Values a customer field must never hold, and whether the reader itself must catch them
#: (the property is then named in the letter) or a target refuses them when written.
WRONG = st.sampled_from([
    ("name", 12345, "name"), ("name", None, None), ("name", ["a", "list"], "name"),
    ("metadata", "not an object", "metadata"),
    ("country", {"nested": 1}, "country"), ("city", "Oslo\ud800", "city"),
    ("email", "\udfff@example.no", "email"), ("postal_code", 3.5, None),
])
COUNTER = itertools.count()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wrong=WRONG, odd=ODD_TEXT)
def test_bad_invoiced_records_are_dead_letters_and_good_ones_sync(
        trio: Trio, quick_http: HttpLog, wrong: tuple[str, Any, str | None], odd: str) -> None:
    n = next(COUNTER)
    inv = trio.billing.account
    good = inv.create_customer({"name": f"Good {n} AS", "type": "company", "country": "NO"})
    strange = inv.create_customer({"name": f"Odd {n} AS", "type": "company",
                                   "notes": odd, "address2": odd[:200]})
    bad = inv.create_customer({"name": f"Bad {n} AS", "type": "company"})
    field, value, named = wrong
    bad[field] = value  # behind the API's back, as a buggy or hostile API would answer
    for event in inv.events:  # the change feed answers it so too
        if event["type"].startswith("customer.") and event["data"]["object"]["id"] == bad["id"]:
            event["data"]["object"][field] = value
    # (a bad updated_at is left out: the emulator's own updated_after filter would fail)
    result = sync_in_process("organisation")
    assert result.status == "done", result.message
    crm_names = {c["name"] for c in trio.crm.records("customer")}
    assert f"Good {n} AS" in crm_names and good["id"]
    assert f"Odd {n} AS" in crm_names  # odd but valid text is data, not an error
    assert f"Bad {n} AS" not in crm_names
    errors = [d["error"] for d in result.dead_letters]
    if named is not None:
        mine = [e for e in errors if f"billing customers {bad['id']}" in e]
        assert mine and named in mine[0], errors
    else:
        assert any(field in e for e in errors), errors
    assert strange["id"] not in {d["id"] for d in result.dead_letters}
    inv.customers.pop(bad["id"])  # the next example starts without it


def _a_rerun_converges(trio: Trio, name: str) -> None:
    """Once the outage is over, one run brings ``name`` across with no letter; the next is quiet."""
    code, fixed = talk_json("sync", "--datatype", "organisation")
    assert code == 0, fixed
    assert name in {c["name"] for c in trio.crm.records("customer")}
    code, letters = talk_json("deadletters")
    assert letters == []
    code, quiet = talk_json("sync", "--datatype", "organisation")
    assert code == 0 and quiet["totals"]["create"] == 0, quiet


def test_a_page_of_html_is_an_outage_and_a_rerun_after_recovery_converges(
        trio: Trio, quick_http: HttpLog) -> None:
    trio.erp.state.create("Accounts", {"Name": "Pagina AS", "City": "Delft", "Country": "NL"})
    trio.erp.fail("sync/CRM/Accounts", 200, content_type="text/html", times=1000,
                  body="<html><body><h1>Service Unavailable</h1></body></html>")
    code, broken = talk_json("sync", "--datatype", "organisation")
    text = " ".join(broken["unavailable"] + [broken["message"]])
    assert code == 7 and broken["status"] == "unavailable", broken
    assert "sync/CRM/Accounts" in text and "HTML page" in text \
        and "Service Unavailable" in text, broken
    assert broken["dead_letters"] == [], "an outage costs no record a letter"
    assert "Pagina AS" not in {c["name"] for c in trio.crm.records("customer")}
    trio.erp.faults.clear()
    _a_rerun_converges(trio, "Pagina AS")


def test_a_page_of_html_from_invoiced_is_an_outage_and_a_rerun_converges(
        trio: Trio, quick_http: HttpLog) -> None:
    trio.billing.account.create_customer({"name": "Nettsted AS", "type": "company"})
    trio.billing.fail(200, path="/customers", content_type="text/html", times=1000,
                      body="<html><head><title>Scheduled maintenance</title></head>"
                           "<body><h1>We'll be back soon</h1></body></html>")
    code, broken = talk_json("sync", "--datatype", "organisation")
    assert code == 7 and broken["status"] == "unavailable", broken
    [outage] = broken["unavailable"]
    assert outage.startswith("billing is unavailable") and "Invoiced GET /customers" in outage \
        and "HTML page" in outage and "Scheduled maintenance" in outage, broken
    assert broken["dead_letters"] == [], "an outage costs no record a letter"
    assert "Nettsted AS" not in {c["name"] for c in trio.crm.records("customer")}
    code, letters = talk_json("deadletters")
    assert letters == [], "an outage is no page's fault: nothing is dead-lettered"
    trio.billing.faults.clear()
    _a_rerun_converges(trio, "Nettsted AS")

# -- files --------------------------------------------------------------------------------

def _one_line_error(result: Any, path: Path, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert str(path) in lines[0] or path.name in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(("damage", "words"), [
    ("truncated", ("damaged",)),
    ("text", ("not a talk state file", "move it away")),
])
def test_a_damaged_state_file_is_one_clear_line(trio: Trio, quick_http: HttpLog, damage: str,
                                                 words: tuple[str, ...]) -> None:
    trio.billing.account.create_customer({"name": "Stat AS", "type": "company"})
    assert talk("sync").exit_code == 0
    state = trio.folder / "state.db"
    data = state.read_bytes()
    for extra in ("-wal", "-shm"):
        (trio.folder / f"state.db{extra}").unlink(missing_ok=True)
    if damage == "truncated":
        state.write_bytes(data[: len(data) // 3 + 100])
    else:
        state.write_text("customers:\n  - Stat AS\n" * 40)
    _one_line_error(talk("sync"), state, *words)
    _one_line_error(talk("status"), state, *words)


def test_a_zero_byte_state_file_is_a_new_state(trio: Trio, quick_http: HttpLog) -> None:
    (trio.folder / "state.db").write_bytes(b"")
    trio.billing.account.create_customer({"name": "Tom AS", "type": "company"})
    result = talk("sync")
    assert result.exit_code == 0, result.output
    assert "Tom AS" in {c["name"] for c in trio.crm.records("customer")}


@pytest.mark.parametrize(("edit", "words"), [
    (("page_size = 5", "page_size = 'five'"), ("[systems.crm] page_size", "int")),
    (("[sync]\n", "[sync]\ncolour = 'red'\n"), ("[sync]", "colour")),
    (("[systems.erp]\n", "[systems.erp]\nshoe_size = 44\n"), ("[systems.erp] shoe_size",
                                                              "unknown option")),
    (("[state]\n", "[state\n"), ("not valid TOML",)),
])
def test_a_malformed_config_is_one_clear_line(trio: Trio, quick_http: HttpLog,
                                              edit: tuple[str, str],
                                              words: tuple[str, ...]) -> None:
    config = trio.folder / "talk.toml"
    text = config.read_text()
    assert edit[0] in text
    config.write_text(text.replace(edit[0], edit[1], 1))
    _one_line_error(talk("sync"), config, *words)
