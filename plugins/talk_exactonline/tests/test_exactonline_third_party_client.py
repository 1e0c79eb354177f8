"""The emulator through a client talk did not write: the ``exactonline`` package (0.4.0).

A client written against the real Exact Online should not tell the
emulator from it. The package is configured as its README says (an ini
storage naming the auth, token and REST URLs), pointed at the emulator on
127.0.0.1; the one change is letting it speak plain http to loopback, since
it insists on https with a verified certificate.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from talk_exactonline.emulator import ExactEmulator

pytest.importorskip(
    "exactonline", reason="the third-party client `exactonline` (pip install exactonline==0.4.0, "
    "in talk-exactonline's [test] extra) is not installed")

from exactonline import rawapi
from exactonline.api import ExactApi
from exactonline.exceptions import MultipleObjectsReturned, ObjectDoesNotExist
from exactonline.http import HTTPError, Options
from exactonline.resource import DELETE, GET, POST, PUT
from exactonline.storage.ini import IniStorage

REDIRECT = "http://127.0.0.1:8765/callback"


class Clock:
    """The emulator's time, moved on by hand to reach the token's refresh window."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[ExactEmulator]:
    with ExactEmulator(clock=clock, minutely_limit=10_000, daily_limit=100_000) as emulator:
        emulator.seed()
        yield emulator


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The package refuses http; the emulator on 127.0.0.1 has no certificate."""
    plain = Options()
    plain.protocols = ("http", "https")
    monkeypatch.setattr(rawapi, "opt_secure", plain)


def _storage(tmp_path: Path, emu: ExactEmulator) -> IniStorage:
    ini = tmp_path / "exactonline.ini"
    ini.write_text(
        "[server]\n"
        f"auth_url = {emu.url}/api/oauth2/auth\n"
        f"rest_url = {emu.url}/api\n"
        f"token_url = {emu.url}/api/oauth2/token\n"
        "[application]\n"
        f"base_url = {REDIRECT}\n"
        f"client_id = {emu.state.client_id}\n"
        f"client_secret = {emu.state.client_secret}\n")
    return IniStorage(str(ini))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _authorise(api: ExactApi) -> str:
    """What the person does in the browser: open the package's link, come back with a code."""
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(api.create_auth_request_url(), timeout=10)
    assert answer.value.code == 302
    location = answer.value.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)["code"][0]


@pytest.fixture
def api(tmp_path: Path, emu: ExactEmulator, loopback: None) -> ExactApi:
    client = ExactApi(storage=_storage(tmp_path, emu))
    client.request_token(_authorise(client))
    client.set_division(emu.state.division)
    return client


def _error_of(exc: HTTPError) -> str:
    body = json.loads(exc.response)
    return str(body["error"]["message"]["value"])


# -- authorisation -------------------------------------------------------------------
def test_authorisation_code_flow_stores_tokens_and_the_code(
        tmp_path: Path, emu: ExactEmulator, loopback: None) -> None:
    storage = _storage(tmp_path, emu)
    api = ExactApi(storage=storage)
    code = _authorise(api)
    api.request_token(code)
    assert storage.get_code() == code
    assert storage.get_access_token() in emu.state.access_tokens
    assert storage.get_refresh_token() in emu.state.grants
    assert storage.get_access_expiry() > time.time() + 500
    # the file is written as the package goes: a second process reads the same tokens
    again = IniStorage(str(tmp_path / "exactonline.ini"))
    assert again.get_refresh_token() == storage.get_refresh_token()
    with pytest.raises(HTTPError) as reused:  # a code is good once
        api.request_token(code)
    assert reused.value.code == 400


def test_divisions_are_listed_and_one_is_chosen(
        tmp_path: Path, emu: ExactEmulator, loopback: None) -> None:
    storage = _storage(tmp_path, emu)
    api = ExactApi(storage=storage)
    api.request_token(_authorise(api))
    choices, current = api.get_divisions()  # current/Me, then hrm/Divisions
    assert current == emu.state.division
    assert choices == {emu.state.division: "Emulated administration"}
    api.set_division(current)  # probes crm/Accounts with Name+eq+'DOES_NOT_EXIST'
    assert storage.get_division() == emu.state.division
    every = api.rest(GET(f"v1/{current}/system/Divisions?$select=Code,Description,Main"))
    assert every == [{"__metadata": every[0]["__metadata"], "Code": current,
                      "Description": "Emulated administration", "Main": True}]


def test_refresh_before_expiry_rotates_the_refresh_token(
        api: ExactApi, emu: ExactEmulator, clock: Clock) -> None:
    old_access, old_refresh = api.storage.get_access_token(), api.storage.get_refresh_token()
    clock.offset += 580  # past Exact's 9.5 minutes; the client thinks 20 s are left
    api.storage.set_access_expiry(int(time.time()) + 20)
    assert api.relations.filter(relation_code="1")
    assert emu.state.refreshes == 1
    assert api.storage.get_refresh_token() != old_refresh
    assert api.storage.get_access_token() != old_access
    assert old_refresh in emu.state.old_refresh_tokens


def test_a_401_makes_the_client_refresh_and_retry(
        api: ExactApi, emu: ExactEmulator, clock: Clock) -> None:
    clock.offset += 700  # the access token died on the server; the client does not know
    found = api.relations.filter(relation_code="2")
    assert [r["Name"] for r in found] == ["Fietsenmakerij Van Dijk"]
    assert emu.state.refreshes == 1
    assert any(status == 401 for _method, _path, status in emu.calls)


def test_refreshing_too_early_is_refused_as_exact_does(api: ExactApi) -> None:
    with pytest.raises(HTTPError) as early:
        api.refresh_token()
    assert early.value.code == 400
    assert "not expired" in json.loads(early.value.response)["error_description"]


# -- relations (crm/Accounts) --------------------------------------------------------
def test_relations_by_code_are_padded_to_eighteen(api: ExactApi) -> None:
    found = api.relations.get(relation_code="1")
    assert found["Name"] == "Bakkerij de Gouden Korst"
    assert found["Code"] == "1".rjust(18)
    assert set(found) == {"__metadata", "ID", "Code", "Name"}  # the helper's $select
    with pytest.raises(ObjectDoesNotExist):
        api.relations.get(relation_code="404")


def test_relations_without_a_filter_meet_exacts_mandatory_filter(api: ExactApi) -> None:
    with pytest.raises(HTTPError) as refused:
        api.relations.all()
    assert refused.value.code == 400
    assert "mandatory filtering" in _error_of(refused.value)


def test_filters_with_parentheses_and_or(api: ExactApi, emu: ExactEmulator) -> None:
    # _filter_append wraps the caller's filter: "(A or B) and Code eq '...'"
    both = api.relations.filter(
        filter="Name eq 'Brasserie Lumière' or Name eq 'Bakkerij de Gouden Korst'")
    assert sorted(r["Name"] for r in both) == ["Bakkerij de Gouden Korst", "Brasserie Lumière"]
    one = api.relations.filter(
        filter="Name eq 'Brasserie Lumière' or Name eq 'Bakkerij de Gouden Korst'",
        relation_code="1")
    assert [r["Name"] for r in one] == ["Bakkerij de Gouden Korst"]
    customers = api.relations.filter(filter="(Status eq 'C') and not (City eq 'Utrecht')",
                                     select="Name,City,Status")
    assert [(r["Name"], r["City"]) for r in customers] == [
        ("Fietsenmakerij Van Dijk", "Groningen")]
    functions = api.relations.filter(
        filter="substringof('korst', Name) or startswith(Name, 'Fiets') "
               "or endswith(Email, '.be')")
    assert len(functions) == 3
    nulls = api.relations.filter(filter="VATNumber eq null and Status ne 'P'", select="Name")
    assert [r["Name"] for r in nulls] == ["Bakkerij de Gouden Korst"]
    created = api.relations.filter(
        filter=f"Created ge datetime'2000-01-01T00:00:00' and ID ne guid'{'0' * 8}-0000-"
               "0000-0000-000000000000'", select="ID")
    assert len(created) == len(emu.state.records["Accounts"])


def test_top_caps_the_result_so_get_sees_duplicates(api: ExactApi, emu: ExactEmulator) -> None:
    for _ in range(70):
        emu.state.create("Accounts", {"Name": "Dubbel BV", "Status": "C"})
    with pytest.raises(MultipleObjectsReturned):  # Manager.get asks $top=2
        api.relations.get(filter="Name eq 'Dubbel BV'")
    two = api.restv1(GET("crm/Accounts?$filter=Name+eq+'Dubbel+BV'&$top=2&$select=ID"))
    assert len(two) == 2  # and no __next: the client would have followed it
    many = api.relations.filter(filter="Name eq 'Dubbel BV'", top=65)
    assert len(many) == 65  # 60 on the first page, 5 on the next


def test_lists_page_through_next(api: ExactApi, emu: ExactEmulator) -> None:
    for n in range(130):
        emu.state.create("Accounts", {"Name": f"Klant {n:03}", "Status": "S"})
    found = api.relations.filter(filter="Status eq 'S'", orderby="Name desc")
    assert [r["Name"] for r in found] == [f"Klant {n:03}" for n in reversed(range(130))]
    pages = [path for method, path, status in emu.calls
             if method == "GET" and "Status" in path and status == 200]
    assert len(pages) == 3 and "$skiptoken" in pages[-1]


def test_sync_api_pages_a_thousand_at_a_time(api: ExactApi, emu: ExactEmulator) -> None:
    for n in range(2100):
        emu.state.create("Accounts", {"Name": f"Sync {n}"})
    total = len(emu.state.records["Accounts"])
    found = api.restv1(GET("sync/CRM/Accounts?$filter=Timestamp+gt+1L&$select=ID,Name,Timestamp"))
    stamps = [r["Timestamp"] for r in found]
    assert len(found) == total and stamps == sorted(set(stamps))
    pages = [path for method, path, _ in emu.calls if "sync/CRM/Accounts" in path]
    assert len(pages) == 3


def test_unknown_properties_in_select_are_refused(api: ExactApi) -> None:
    with pytest.raises(HTTPError) as refused:
        api.relations.filter(relation_code="1", select="ID,Nonsense")
    assert refused.value.code == 400
    assert "Nonsense" in _error_of(refused.value)


def test_create_answers_with_the_record_update_and_delete(
        api: ExactApi, emu: ExactEmulator) -> None:
    made = api.relations.create({"Name": "Nieuwe Klant BV", "City": "Delft", "Status": "C"})
    ident = made["ID"]
    assert ident in emu.state.records["Accounts"]  # the new GUID is in the answer
    assert made["Name"] == "Nieuwe Klant BV" and made["City"] == "Delft"
    assert made["__metadata"]["uri"].endswith(f"crm/Accounts(guid'{ident}')")
    assert api.relations.update(ident, {"City": "Leiden"}) is None  # 204, empty
    again = api.restv1(GET(f"crm/Accounts?$filter=ID+eq+guid'{ident}'&$select=City,Modified"))
    assert again[0]["City"] == "Leiden"
    assert api.relations.delete(ident) is None
    with pytest.raises(HTTPError) as gone:
        api.restv1(GET(f"crm/Accounts(guid'{ident}')"))
    assert gone.value.code == 404
    deleted = api.restv1(GET("sync/Deleted?$filter=Timestamp+gt+1L+and+EntityType+eq+2"
                             "&$select=EntityKey,EntityType"))
    assert [r["EntityKey"] for r in deleted] == [ident]


def test_missing_records_answer_404(api: ExactApi) -> None:
    missing = "00000000-0000-0000-0000-00000000abcd"
    for call in (lambda: api.relations.update(missing, {"City": "Nergens"}),
                 lambda: api.relations.delete(missing),
                 lambda: api.contacts.delete(missing),
                 lambda: api.restv1(GET(f"crm/Contacts(guid'{missing}')"))):
        with pytest.raises(HTTPError) as refused:
            call()
        assert refused.value.code == 404
        assert missing in _error_of(refused.value)


# -- contacts ------------------------------------------------------------------------
def test_contacts_carry_their_accounts_code(api: ExactApi, emu: ExactEmulator) -> None:
    everyone = api.contacts.all()  # $select=ID,Code,FirstName,MiddleName,LastName
    assert sorted(c["FirstName"] for c in everyone) == ["Anna", "Chloé", "Pieter"]
    of_account_two = api.contacts.filter(relation_code="2")
    assert [(c["FirstName"], c["Code"]) for c in of_account_two] == [("Pieter", "2".rjust(18))]
    account = api.relations.get(relation_code="3")
    made = api.contacts.create({"Account": account["ID"], "FirstName": "Lotte",
                                "LastName": "Janssens"})
    assert made["ID"] in emu.state.records["Contacts"]
    full = api.restv1(GET(f"crm/Contacts?$filter=ID+eq+guid'{made['ID']}'"))
    assert full[0]["FullName"] == "Lotte Janssens"
    assert full[0]["AccountName"] == "Brasserie Lumière"
    assert full[0]["Code"] == "3".rjust(18)
    assert full[0]["Division"] == emu.state.division


# -- quotations ------------------------------------------------------------------------
def test_quotation_with_its_lines_through_the_deferred_link(
        api: ExactApi, emu: ExactEmulator) -> None:
    quote = api.quotations.get(filter="YourRef eq 'LUM-2024-07'",
                               select="QuotationID,QuotationNumber,QuotationLines")
    lines = quote["QuotationLines"]  # fetched by the helper from __deferred.uri
    assert [line["LineNumber"] for line in lines] == [1, 2]
    assert [line["ItemCode"].strip() for line in lines] == ["MOL-200", "KOF-001"]
    dated = api.quotations.filter(filter="QuotationNumber eq 1",
                                  select="QuotationID,QuotationDate,Modified")
    assert dated[0]["QuotationDate"].year == 2024  # the helper reads /Date(ms)/


# -- raw REST ------------------------------------------------------------------------
def test_raw_rest_calls(api: ExactApi, emu: ExactEmulator) -> None:
    item = api.restv1(POST("logistics/Items", {"Code": "RAW-1", "Description": "Rauw"}))
    assert item["Code"] == "RAW-1".rjust(18) and item["ID"] in emu.state.records["Items"]
    assert api.restv1(PUT(f"logistics/Items(guid'{item['ID']}')",
                          {"Description": "Gekookt"})) is None
    found = api.restv1(GET("logistics/Items?$filter=trim(Code)+eq+'RAW-1'"
                           "&$select=ID,Description"))
    assert [r["Description"] for r in found] == ["Gekookt"]
    assert api.restv1(DELETE(f"logistics/Items(guid'{item['ID']}')")) is None
    assert api.restv1(GET("logistics/Items?$filter=trim(Code)+eq+'RAW-1'")) == []
    me = api.rest(GET("v1/current/Me?$select=CurrentDivision,FullName"))
    assert me[0]["CurrentDivision"] == emu.state.division
    with pytest.raises(HTTPError) as bad:
        api.restv1(GET("crm/Accounts?$filter=(Name+eq+'x'"))
    assert bad.value.code == 400
