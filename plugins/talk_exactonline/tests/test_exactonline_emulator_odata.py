"""The emulator's OData as Exact Online speaks it: $filter, $top, $select, POST answers, paging."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.emulator.filter import (
    FilterError,
    compared_literals,
    filtered_fields,
    parse_filter,
)

RECORDS = [
    {"Name": "O'Brien", "Status": "C", "City": None, "Count": 3, "Blocked": False,
     "ID": "5e9ec63d-1e6e-4920-b799-bd636a6055c9", "Modified": "/Date(1704067200000)/"},
    {"Name": "Alpha", "Status": "P", "City": "Utrecht", "Count": 10, "Blocked": True,
     "ID": "aaaaaaaa-1e6e-4920-b799-bd636a6055c9", "Modified": "/Date(1725148800000)/"},
]


def names(text: str) -> list[str]:
    predicate = parse_filter(text)
    return [r["Name"] for r in RECORDS if predicate(r)]


@pytest.mark.parametrize(("text", "expected"), [
    ("Name eq 'O''Brien'", ["O'Brien"]),
    ("(Status eq 'C') and Name eq 'O''Brien'", ["O'Brien"]),
    ("Status eq 'C' or Status eq 'P' and City eq 'Nowhere'", ["O'Brien"]),  # and binds tighter
    ("(Status eq 'C' or Status eq 'P') and City eq 'Nowhere'", []),
    ("not (Status eq 'C')", ["Alpha"]),
    ("not Blocked", ["O'Brien"]),
    ("City eq null", ["O'Brien"]),
    ("City ne null and Count ge 10L", ["Alpha"]),
    ("Count gt 2.5M and Count lt 4", ["O'Brien"]),
    ("substringof('bri', Name)", ["O'Brien"]),
    ("startswith(Name, 'Al') or endswith(Name, 'en')", ["O'Brien", "Alpha"]),
    ("tolower(City) eq 'utrecht' and length(Name) eq 5", ["Alpha"]),
    ("ID eq guid'5E9EC63D-1E6E-4920-B799-BD636A6055C9'", ["O'Brien"]),
    ("Modified ge datetime'2024-06-01T00:00:00'", ["Alpha"]),
    ("year(Modified) eq 2024 and month(Modified) eq 1", ["O'Brien"]),
    ("Blocked eq true", ["Alpha"]),
    ("City gt 'A'", ["Alpha"]),  # null orders against nothing
    ("trim(Name) eq 'Alpha'", ["Alpha"]),
])
def test_filters_select_what_odata_says(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(("text", "complaint"), [
    ("(Name eq 'x'", "expected ')'"),
    ("Name eq", "expected a value"),
    ("Name eq 'x' Status eq 'C'", "expected 'and', 'or' or the end"),
    ("frobnicate(Name)", "unknown function"),
    ("Count add 1 eq 2", "arithmetic"),
    ("ID eq guid'nope'", "not a guid"),
    ("Modified gt datetime'yesterday'", "not a datetime"),
    ("", "empty"),
    ("Name eq 'unterminated", "cannot parse"),
])
def test_filters_that_do_not_parse_say_where(text: str, complaint: str) -> None:
    with pytest.raises(FilterError, match=re.escape(complaint)):
        parse_filter(text)


def test_filtered_fields_are_the_members_named() -> None:
    assert filtered_fields("(A eq 1 or substringof('x', B)) and not C eq null") == {"A", "B", "C"}
    assert compared_literals("(A eq 1 or 'x' ne B) and C eq guid'" + "0" * 8 + "-0000-0000-"
                             "0000-000000000000' and trim(D) eq 'y'") == [
        ("A", "eq", "Edm.Decimal"), ("B", "ne", "Edm.String"), ("C", "eq", "Edm.Guid")]


def test_guid_properties_take_guid_literals_only(call: Any, emu: ExactEmulator) -> None:
    account = next(iter(emu.state.records["Accounts"]))
    text = call("GET", f"crm/Contacts?$filter=Account eq '{account}'")
    assert text.status_code == 400
    assert "incompatible" in text.json()["error"]["message"]["value"]
    assert call("GET", f"crm/Contacts?$filter=FirstName eq guid'{account}'").status_code == 400
    found = call("GET", f"crm/Contacts?$filter=Account eq guid'{account}' or Account eq null")
    assert [r["FirstName"] for r in found.json()["d"]["results"]] == ["Anna"]


@pytest.fixture
def emu() -> Iterator[ExactEmulator]:
    with ExactEmulator(minutely_limit=10_000, daily_limit=100_000) as emulator:
        emulator.seed()
        yield emulator


@pytest.fixture
def call(emu: ExactEmulator) -> Any:
    token = requests.post(f"{emu.url}/api/oauth2/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": emu.refresh_token(),
        "client_id": emu.state.client_id,
        "client_secret": emu.state.client_secret}).json()["access_token"]

    def do(method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{emu.url}/api/v1/{emu.state.division}/{path}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json",
                   **kwargs.pop("headers", {})}
        return requests.request(method, url, headers=headers, timeout=10, **kwargs)

    return do


def test_post_answers_the_record_and_prefer_adds_what_exact_works_out(
        call: Any, emu: ExactEmulator) -> None:
    account = next(iter(emu.state.records["Accounts"]))
    plain = call("POST", "crm/Contacts", json={"Account": account, "FirstName": "Eva"})
    assert plain.status_code == 201
    made = plain.json()["d"]
    assert made["ID"] in emu.state.records["Contacts"]
    assert made["FirstName"] == "Eva" and made["Account"] == account
    assert "AccountName" not in made and "FullName" not in made
    full = call("POST", "crm/Contacts", json={"Account": account, "LastName": "Bos"},
                headers={"Prefer": "return=representation"}).json()["d"]
    assert full["FullName"] == "Bos" and full["AccountName"] == "Bakkerij de Gouden Korst"
    assert full["Code"] == "1".rjust(18) and full["Email"] is None  # every property, null ones too


def test_post_of_a_document_answers_its_lines_with_their_ids(
        call: Any, emu: ExactEmulator) -> None:
    item = next(iter(emu.state.records["Items"]))
    account = next(iter(emu.state.records["Accounts"]))
    order = call("POST", "salesorder/SalesOrders", json={
        "OrderedBy": account, "SalesOrderLines": [{"Item": item, "Quantity": 2}]}).json()["d"]
    lines = order["SalesOrderLines"]["results"]
    assert [line["ID"] in emu.state.records["SalesOrderLines"] for line in lines] == [True]
    assert order["OrderID"] in emu.state.records["SalesOrders"]


def test_top_caps_the_whole_result_and_skip_moves_past(call: Any, emu: ExactEmulator) -> None:
    for n in range(100):
        emu.state.create("Accounts", {"Name": f"Veel {n:03}", "Status": "S"})
    capped = call("GET", "crm/Accounts?$filter=Status eq 'S'&$top=2&$orderby=Name").json()["d"]
    assert [r["Name"] for r in capped["results"]] == ["Veel 000", "Veel 001"]
    assert "__next" not in capped
    first = call("GET", "crm/Accounts?$filter=Status eq 'S'&$top=70&$skip=5"
                        "&$orderby=Name&$inlinecount=allpages").json()["d"]
    assert len(first["results"]) == 60 and first["__count"] == "70"
    assert first["results"][0]["Name"] == "Veel 005"
    rest = call("GET", first["__next"]).json()["d"]
    assert [r["Name"] for r in rest["results"]] == [f"Veel {n:03}" for n in range(65, 75)]
    assert "__next" not in rest


def test_select_and_filter_of_unknown_properties_are_400(call: Any) -> None:
    for path in ("crm/Contacts?$select=ID,Shoesize", "crm/Accounts?$filter=Shoesize eq 3",
                 "crm/Accounts?$filter=Name eq 'x'&$orderby=Shoesize"):
        answer = call("GET", path)
        assert answer.status_code == 400, path
        assert "Shoesize" in answer.json()["error"]["message"]["value"]
    ok = call("GET", "crm/Contacts?$select=ID,Code,AccountName,AccountIsCustomer,Division")
    assert ok.status_code == 200
    first = ok.json()["d"]["results"][0]
    assert set(first) == {"__metadata", "ID", "Code", "AccountName", "AccountIsCustomer",
                          "Division"}


def test_filters_reach_properties_exact_works_out(call: Any) -> None:
    found = call("GET", "crm/Contacts?$filter=AccountName eq 'Brasserie Lumière'"
                        "&$select=FirstName").json()["d"]["results"]
    assert [r["FirstName"] for r in found] == ["Chloé"]


def test_divisions_and_me(call: Any, emu: ExactEmulator) -> None:
    for path in ("hrm/Divisions", "system/Divisions?$select=Code,Description"):
        listed = call("GET", path).json()["d"]["results"]
        assert [(d["Code"], d["Description"]) for d in listed] == [
            (emu.state.division, "Emulated administration")]
    assert call("POST", "system/Divisions", json={}).status_code == 405
    assert call("GET", "hrm/Divisions?$select=Nope").status_code == 400
    me = call("GET", f"{emu.url}/api/v1/current/Me?$select=CurrentDivision,UserName").json()
    assert me["d"]["results"][0]["CurrentDivision"] == emu.state.division
    assert call("GET", f"{emu.url}/api/v1/current/Me?$select=Shoesize").status_code == 400


def test_keys_must_be_guids_and_lines_hang_under_their_document(
        call: Any, emu: ExactEmulator) -> None:
    assert call("GET", "crm/Accounts(guid'nope')").status_code == 400
    quote = next(iter(emu.state.records["Quotations"]))
    lines = call("GET", f"crm/Quotations(guid'{quote}')/QuotationLines").json()["d"]
    assert [line["LineNumber"] for line in lines["results"]] == [1, 2]
    assert call("GET", f"crm/Quotations(guid'{quote}')/Nothing").status_code == 404
    missing = "00000000-0000-0000-0000-000000000001"
    assert call("GET", f"crm/Quotations(guid'{missing}')/QuotationLines").status_code == 404


def test_sync_api_pages_by_timestamp(call: Any, emu: ExactEmulator) -> None:
    emu.sync_page_size = 1000
    for n in range(2300):
        emu.state.create("Items", {"Code": f"S{n}", "Description": f"Sync {n}"})
    url = "sync/Logistics/Items?$filter=Timestamp gt 1L&$select=ID,Timestamp"
    pages, stamps = 0, []
    while url:
        d = call("GET", url).json()["d"]
        pages += 1
        stamps += [r["Timestamp"] for r in d["results"]]
        assert len(d["results"]) == (1000 if "__next" in d else len(stamps) - 2000)
        url = d.get("__next")
    assert pages == 3 and len(stamps) == len(emu.state.records["Items"])
    assert stamps == sorted(set(stamps))
    assert call("GET", "sync/Logistics/Items?$select=ID").status_code == 400  # no Timestamp


def test_admin_surface_steers_the_division(call: Any, emu: ExactEmulator) -> None:
    state = requests.get(f"{emu.url}/_emulator/state", timeout=10).json()
    assert state["records"]["Accounts"] == 3 and state["records"]["Deleted"] == 0
    path = f"/api/v1/{emu.state.division}/crm/Contacts"
    added = requests.post(f"{emu.url}/_emulator/faults", timeout=10,
                          json={"status": 503, "path": path, "body": {"error": "busy"}})
    assert added.status_code == 201
    assert call("GET", "crm/Accounts?$filter=Status eq 'C'").status_code == 200
    busy = call("GET", "crm/Contacts")
    assert busy.status_code == 503 and busy.json() == {"error": "busy"}
    assert busy.headers["X-RateLimit-Remaining"]  # served after the budget, as Exact's are
    assert call("GET", "crm/Contacts").status_code == 200
    assert requests.post(f"{emu.url}/_emulator/reset", timeout=10).status_code == 204
    assert emu.state.records["Accounts"] == {}
    assert call("GET", "crm/Accounts?$filter=Status eq 'C'").json()["d"]["results"] == []
