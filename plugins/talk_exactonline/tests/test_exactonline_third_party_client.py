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
from datetime import date
from decimal import Decimal
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
from exactonline.elements.invoice import ExactInvoice, UnknownLedgerCodes
from exactonline.elements.relation import ExactCustomer
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


# -- sales entries (the `invoices` helper) -------------------------------------------
def _by_key(api: ExactApi, emu: ExactEmulator, path: str) -> dict[str, Any]:
    """One record by its key: ``{"d": {...}}``, which the package's unwrapping cannot read."""
    request = urllib.request.Request(
        f"{emu.url}/api/v1/{emu.state.division}/{path}",
        headers={"Authorization": f"Bearer {api.storage.get_access_token()}",
                 "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        record: dict[str, Any] = json.loads(answer.read())["d"]
    return record


def _entry_lines(api: ExactApi, codes_and_amounts: list[tuple[str, str]]) -> list[dict[str, Any]]:
    ledgers = {r["Code"]: r["ID"] for r in api.ledgeraccounts.filter(
        code__in=[code for code, _ in codes_and_amounts])}
    return [{"GLAccount": ledgers[code], "AmountFC": amount, "VATCode": "2  ",
             "Description": f"regel {code}"} for code, amount in codes_and_amounts]


def test_invoices_by_your_ref_with_their_lines(api: ExactApi, emu: ExactEmulator) -> None:
    entry = api.invoices.get(invoice_number="GK-2024-09")  # YourRef eq '...'
    assert entry["CustomerName"] == "Bakkerij de Gouden Korst"
    assert (entry["AmountFC"], entry["VATAmountFC"]) == (165.92, 25.92)  # 140 + 21% / 9% VAT
    assert entry["Journal"] == "70" and entry["JournalDescription"] == "Verkoopboek"
    assert entry["EntryDate"] == "/Date(1727654400000)/"  # 2024-09-30
    assert (entry["ReportingYear"], entry["ReportingPeriod"]) == (2024, 9)
    lines = entry["SalesEntryLines"]  # fetched by the helper from __deferred.uri
    assert [(x["LineNumber"], x["GLAccountCode"], x["VATAmountFC"]) for x in lines] == [
        (1, "8000", 23.31), (2, "8010", 2.61)]
    with pytest.raises(ObjectDoesNotExist):
        api.invoices.get(invoice_number="NIET-BESTAAND")
    narrow = api.invoices.get(invoice_number="GK-2024-09", select="EntryID,InvoiceNumber")
    assert set(narrow) == {"__metadata", "EntryID", "InvoiceNumber"}
    expanded = api.restv1(GET("salesentry/SalesEntries?$filter=YourRef+eq+'GK-2024-09'"
                              "&$expand=SalesEntryLines&$select=EntryID,SalesEntryLines/AmountFC"))
    assert [x["AmountFC"] for x in expanded[0]["SalesEntryLines"]["results"]] == [111.0, 29.0]


def test_invoices_created_with_lines_filtered_and_mapped(
        api: ExactApi, emu: ExactEmulator) -> None:
    customer = api.relations.get(relation_code="2")
    made = api.invoices.create({
        "Customer": customer["ID"], "Journal": "70", "EntryDate": "2024-10-15T00:00:00Z",
        "YourRef": "VD-0001", "Description": "Onderhoud", "InvoiceNumber": 500,
        "AmountFC": "999",  # Exact works the header's amounts out from the lines
        "SalesEntryLines": _entry_lines(api, [("8000", "100.00"), ("8000", "50.00")])})
    assert made["EntryID"] in emu.state.records["SalesEntries"]
    assert made["InvoiceNumber"] == 500  # the hint is taken: above the last, unused
    assert made["AmountFC"] == 181.5  # sent, so answered: as Exact worked it out
    kept = api.invoices.get(invoice_number="VD-0001", select="DueDate,ReportingPeriod")
    assert kept["DueDate"] == "/Date(1731542400000)/" and kept["ReportingPeriod"] == 10
    assert len(made["SalesEntryLines"]["results"]) == 2
    again = api.invoices.create({
        "Customer": customer["ID"], "Journal": "70", "YourRef": "VD-0002",
        "InvoiceNumber": 3, "SalesEntryLines": _entry_lines(api, [("8010", "10")])})
    assert again["InvoiceNumber"] == 501  # a hint below the last is passed over
    both = api.invoices.filter(invoice_number__in=["VD-0001", "VD-0002", "GEEN"],
                               select="YourRef,InvoiceNumber")
    assert sorted((r["YourRef"], r["InvoiceNumber"]) for r in both) == [
        ("VD-0001", 500), ("VD-0002", 501)]
    october = api.invoices.filter(reporting_period=date(2024, 10, 1), select="YourRef")
    assert [r["YourRef"] for r in october] == ["VD-0001"]
    assert api.invoices.map_exact2foreign_invoice_numbers() == {
        1: "GK-2024-09", 500: "VD-0001", 501: "VD-0002"}
    assert api.invoices.map_exact2foreign_invoice_numbers([500, 404]) == {
        500: "VD-0001", 404: None}
    assert api.invoices.map_foreign2exact_invoice_numbers(["VD-0002", "GEEN"]) == {
        "VD-0002": 501, "GEEN": None}
    assert api.invoices.update(made["EntryID"], {"Description": "Onderhoud oktober"}) is None
    assert api.invoices.get(invoice_number="VD-0001")["Description"] == "Onderhoud oktober"
    assert api.invoices.delete(made["EntryID"]) is None
    assert made["EntryID"] not in emu.state.records["SalesEntries"]
    assert not [x for x in emu.state.records["SalesEntryLines"].values()
                if x["EntryID"] == made["EntryID"]]


def test_an_invoice_of_the_packages_model_is_committed_twice(
        api: ExactApi, emu: ExactEmulator) -> None:
    """``ExactInvoice.commit``: create, then replace the lines and update the header."""

    class Customer(ExactCustomer):
        def get_code(self) -> str:
            return "3"

        def get_name(self) -> str:
            return "Brasserie Lumière"

    class Invoice(ExactInvoice):
        amounts = [Decimal("200.00")]

        def get_customer(self) -> ExactCustomer:
            return Customer(api=api)

        def get_created_date(self) -> date:
            return date(2024, 11, 4)

        def get_exact_journal(self) -> str:
            return "70"

        def get_invoice_number(self) -> str:
            return "LUM-F-17"

        def hint_exact_invoice_number(self) -> int:
            return 1000

        def get_ledger_lines(self) -> Iterator[dict[str, Any]]:
            for amount in self.amounts:
                yield {"code": "8000", "vat_percentage": 21, "description": "Koffie",
                       "total_amount_excl_vat": amount, "month": date(2024, 10, 1)}

        def get_total_amount_incl_vat(self) -> Decimal:
            return sum(self.amounts, Decimal(0)) * Decimal("1.21")

        def get_total_vat(self) -> Decimal:
            return sum(self.amounts, Decimal(0)) * Decimal("0.21")

    invoice = Invoice(api=api)
    made = invoice.commit()
    assert made["InvoiceNumber"] == 1000 and invoice.get_guid() == made["EntryID"]
    assert made["AmountFC"] == 242.0
    line = api.invoices.get(invoice_number="LUM-F-17")["SalesEntryLines"][0]
    assert line["From"] == "/Date(1727740800000)/" and line["To"] == "/Date(1730332800000)/"
    invoice.amounts = [Decimal("150.00"), Decimal("25.00")]
    assert invoice.commit() is None  # new lines posted, old ones deleted, header PUT
    entry = api.invoices.get(invoice_number="LUM-F-17")
    assert entry["EntryID"] == made["EntryID"]  # the entry outlived its old line
    assert [x["AmountFC"] for x in entry["SalesEntryLines"]] == [150.0, 25.0]
    assert entry["AmountFC"] == 211.75 and entry["InvoiceNumber"] == 1000
    with pytest.raises(UnknownLedgerCodes):
        invoice.get_ledger_code_to_guid_map(["8000", "9999"])


def test_deleting_the_last_line_removes_the_entry(api: ExactApi, emu: ExactEmulator) -> None:
    entry = api.invoices.get(invoice_number="GK-2024-09")
    first, second = entry["SalesEntryLines"]
    api.restv1(DELETE(f"salesentry/SalesEntryLines(guid'{first['ID']}')"))
    left = api.invoices.get(invoice_number="GK-2024-09")
    assert (left["AmountFC"], left["VATAmountFC"]) == (31.61, 2.61)
    api.restv1(DELETE(f"salesentry/SalesEntryLines(guid'{second['ID']}')"))
    assert api.invoices.filter(invoice_number="GK-2024-09") == []


# -- ledger accounts, VAT codes, receivables, bank accounts -----------------------------
def test_ledgeraccounts_by_code(api: ExactApi) -> None:
    found = api.ledgeraccounts.filter(code__in=["1300", "8000", "9999"])
    assert sorted(r["Code"] for r in found) == ["1300", "8000"]
    assert set(found[0]) == {"__metadata", "ID", "Code"}  # the helper's $select
    revenue = api.ledgeraccounts.filter(code__in=["8000"], select="Description,Type,"
                                        "TypeDescription,BalanceType,VATCode")
    assert revenue[0]["Description"] == "Omzet hoog" and revenue[0]["Type"] == 110
    assert revenue[0]["TypeDescription"] == "Omzet" and revenue[0]["BalanceType"] == "W"
    assert len(api.ledgeraccounts.all()) == 8
    with pytest.raises(HTTPError) as read_only:
        api.ledgeraccounts.create({"Code": "8100", "Description": "Omzet export"})
    assert read_only.value.code == 405


def test_vatcodes_by_code_and_percentage(api: ExactApi) -> None:
    assert sorted(r["Code"] for r in api.vatcodes.all()) == ["1", "2"]
    high = api.vatcodes.get(vat_code="2")
    assert set(high) == {"__metadata", "ID", "Code", "Percentage"}
    assert api.vatcodes.get_percentage(vat_code="1") == 0.09
    with pytest.raises(ObjectDoesNotExist):
        api.vatcodes.get(vat_code="7")


def test_receivables_are_the_open_entries(api: ExactApi, emu: ExactEmulator) -> None:
    customer = api.relations.get(relation_code="1")
    owed = api.receivables.filter(relation_id=customer["ID"])
    assert [(r["YourRef"], r["Amount"], r["AccountName"]) for r in owed] == [
        ("GK-2024-09", 165.92, "Bakkerij de Gouden Korst")]
    assert owed[0]["DueDate"] == "/Date(1730246400000)/"  # 30 days after 2024-09-30
    assert "Created" not in owed[0] and "Division" not in owed[0]
    assert api.receivables.filter(duedate__lt=date(2024, 10, 30)) == []
    assert len(api.receivables.filter(duedate__gte=date(2024, 10, 30))) == 1
    other = api.relations.get(relation_code="2")
    assert api.receivables.filter(relation_id=other["ID"]) == []


def test_bankaccounts_of_an_account(api: ExactApi, emu: ExactEmulator) -> None:
    customer = api.relations.get(relation_code="1")
    found = api.bankaccounts.filter(account_id=customer["ID"])
    assert [(r["BankAccount"], r["BICCode"], r["AccountName"], r["Main"]) for r in found] == [
        ("NL91ABNA0417164300", "ABNANL2A", "Bakkerij de Gouden Korst", True)]
    assert found[0]["TypeDescription"] == "Relatie"
    made = api.bankaccounts.create({"Account": customer["ID"], "BankAccount": "NL02RABO0123456789",
                                    "BICCode": "RABONL2U", "Main": False})
    assert made["ID"] in emu.state.records["BankAccounts"]
    assert api.bankaccounts.update(made["ID"], {"Description": "Spaarrekening"}) is None
    assert len(api.bankaccounts.filter(account_id=customer["ID"])) == 2
    assert api.bankaccounts.delete(made["ID"]) is None
    assert len(api.bankaccounts.all()) == 2
    with pytest.raises(HTTPError) as missing:
        api.bankaccounts.create({"Account": customer["ID"]})
    assert missing.value.code == 400 and "BankAccount" in _error_of(missing.value)


# -- quotations' dates ----------------------------------------------------------------
def test_quotation_dates_exact_fills_and_closedate_null_as_in_exact(
        api: ExactApi, emu: ExactEmulator) -> None:
    account = api.relations.get(relation_code="2")
    item = next(iter(emu.state.records["Items"]))
    made = api.quotations.create({"OrderAccount": account["ID"],
                                  "QuotationLines": [{"Item": item, "Quantity": 1}]})
    raw = _by_key(api, emu, f"crm/Quotations(guid'{made['QuotationID']}')")
    assert raw["QuotationDate"] and raw["Created"] and raw["Modified"]  # Exact fills these
    assert raw["CloseDate"] is None  # set when the customer accepts or rejects: not yet
    with pytest.raises(TypeError):  # the package parses every date it finds, null or not
        api.quotations.filter(filter=f"QuotationID eq guid'{made['QuotationID']}'")
    narrow = api.quotations.filter(filter=f"QuotationID eq guid'{made['QuotationID']}'",
                                   select="QuotationID,QuotationDate,Created,Modified")
    assert narrow[0]["QuotationDate"].date() == narrow[0]["Created"].date()
    assert narrow[0]["Modified"] >= narrow[0]["Created"]
    # get() parses the one record as if it were a list of them: it iterates the
    # record's keys, and a key named after a date (Modified) fails on a text
    with pytest.raises(TypeError):
        api.quotations.get(filter=f"QuotationID eq guid'{made['QuotationID']}'",
                           select="QuotationID,Modified")
    one = api.quotations.get(filter=f"QuotationID eq guid'{made['QuotationID']}'",
                             select="QuotationID,QuotationNumber,Status")
    assert one["QuotationNumber"] == 2 and one["Status"] == 20


# -- raw REST on the bookkeeping entity sets -------------------------------------------
@pytest.mark.parametrize(("path", "key", "text", "values"), [
    ("salesentry/SalesEntries", "EntryID", "YourRef", ["GK-2024-09"]),
    ("financial/GLAccounts", "ID", "Code", ["1300", "8000"]),
    ("crm/BankAccounts", "ID", "BICCode", ["ABNANL2A", "INGBNL2A"]),
    ("salesentry/SalesEntryLines", "ID", "Description", ["Koffiebonen, 6 kg"]),
])
def test_bookkeeping_sets_answer_odata(api: ExactApi, emu: ExactEmulator, path: str, key: str,
                                       text: str, values: list[str]) -> None:
    ored = " or ".join(f"{text} eq '{v}'" for v in values)
    found = api.restv1(GET(f"{path}?$filter=({ored}) and {text} ne 'x'&$select={key},{text}"
                           .replace(" ", "+")))
    assert sorted(r[text] for r in found) == values
    assert all(set(r) == {"__metadata", key, text} for r in found)
    assert len(api.restv1(GET(f"{path}?$top=1&$select={key}"))) == 1
    one = _by_key(api, emu, f"{path}(guid'{found[0][key]}')")
    assert one[key] == found[0][key] and one["__metadata"]["uri"].endswith(
        f"{path}(guid'{found[0][key]}')")
    with pytest.raises(HTTPError) as missing:
        api.restv1(GET(f"{path}(guid'00000000-0000-0000-0000-00000000abcd')"))
    assert missing.value.code == 404
    with pytest.raises(HTTPError) as unknown:
        api.restv1(GET(f"{path}?$select={key},Nonsense"))
    assert unknown.value.code == 400 and "Nonsense" in _error_of(unknown.value)


def test_receivables_list_answers_odata_but_no_key(api: ExactApi) -> None:
    found = api.restv1(GET("read/financial/ReceivablesList?$filter=(YourRef+eq+'GK-2024-09'"
                           "+or+YourRef+eq+'x')+and+Amount+gt+100&$select=HID,YourRef"))
    assert [r["YourRef"] for r in found] == ["GK-2024-09"]
    assert found[0]["__metadata"]["uri"].endswith(f"ReceivablesList({found[0]['HID']}L)")
    assert len(api.restv1(GET("read/financial/ReceivablesList?$top=1"))) == 1
    for bad, status in ((f"read/financial/ReceivablesList({found[0]['HID']}L)", 404),
                        ("read/financial/ReceivablesList?$select=Created", 400)):
        with pytest.raises(HTTPError) as refused:
            api.restv1(GET(bad))
        assert refused.value.code == status
    with pytest.raises(HTTPError) as read_only:
        api.restv1(POST("read/financial/ReceivablesList", {"Amount": 1}))
    assert read_only.value.code == 405
