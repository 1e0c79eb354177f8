"""The REST transport base: authenticators, paginators, endpoints, error map, retries."""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from talk_core import interrupt
from talk_core.errors import (
    AbandonedInFlight,
    AccessDenied,
    BudgetExhausted,
    Interrupted,
    RecordError,
    StopRun,
    SystemUnavailable,
    TransientError,
)
from talk_core.rest import (
    ApiKeyHeader,
    BasicAuth,
    BearerToken,
    CredentialsRefused,
    Cursor,
    Endpoint,
    HttpClient,
    HttpStatusError,
    LinkHeader,
    MaintenancePage,
    OAuth2,
    ODataNext,
    Offset,
    RestStream,
    retry_after_seconds,
)
from talk_core.rest.errors import AnswerOutOfBounds

BASE = "https://api.example.com"


def client(**kwargs: Any) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    kwargs.setdefault("sleep", waits.append)
    return HttpClient(BASE, name="api", **kwargs), waits


# -- authenticators ----------------------------------------------------------------------

@responses.activate
@pytest.mark.parametrize(("auth", "header", "value"), [
    (BasicAuth("ann", "s3cret-pass"), "Authorization", "Basic YW5uOnMzY3JldC1wYXNz"),
    (BearerToken("tok-123456"), "Authorization", "Bearer tok-123456"),
    (ApiKeyHeader("key-abcdef", "Api-Key"), "Api-Key", "key-abcdef"),
    (OAuth2(lambda: "fresh-token-1"), "Authorization", "Bearer fresh-token-1"),
])
def test_each_authenticator_puts_its_credentials_on_the_request(
        auth: Any, header: str, value: str) -> None:
    responses.get(f"{BASE}/me", json={}, match=[matchers.header_matcher({header: value})])
    http, _ = client(auth=auth)
    assert http.get("me").status_code == 200
    assert "<redacted>" in repr(auth) and value.split()[-1] not in repr(auth)


@responses.activate
def test_an_api_that_quotes_the_key_back_never_shows_it() -> None:
    responses.get(f"{BASE}/me", status=400, json={"message": "bad key key-abcdef99 given"})
    http, _ = client(auth=ApiKeyHeader("key-abcdef99"))
    with pytest.raises(HttpStatusError) as raised:
        http.get("me")
    assert "key-abcdef99" not in str(raised.value) and "***" in str(raised.value)


@responses.activate
def test_oauth2_renews_once_after_a_401_then_the_credentials_are_refused() -> None:
    tokens = iter(["old-token-1", "new-token-2", "newer-token-3"])
    current = {"token": next(tokens)}
    renewed: list[str] = []

    def renew() -> None:
        current["token"] = next(tokens)
        renewed.append(current["token"])

    auth = OAuth2(lambda: current["token"], on_refused=renew)
    responses.get(f"{BASE}/me", status=401, json={"error": "expired"},
                  match=[matchers.header_matcher({"Authorization": "Bearer old-token-1"})])
    responses.get(f"{BASE}/me", json={"ok": 1},
                  match=[matchers.header_matcher({"Authorization": "Bearer new-token-2"})])
    http, waits = client(auth=auth)
    assert http.get("me").json() == {"ok": 1}
    assert renewed == ["new-token-2"] and waits == [0.0]

    responses.replace(responses.GET, f"{BASE}/me", status=401, json={"error": "revoked"})
    current["token"] = "old-token-1"
    with pytest.raises(CredentialsRefused, match="refused the credentials"):
        http.get("me")
    assert len(renewed) == 2, "one renewal per request, then the 401 is final"


# -- paginators --------------------------------------------------------------------------

@responses.activate
def test_link_header_paging_follows_rel_next_until_there_is_none() -> None:
    responses.get(f"{BASE}/items", json=[{"id": 1}, {"id": 2}],
                  headers={"Link": f'<{BASE}/items?page=2&per_page=2>; rel="next"'},
                  match=[matchers.query_param_matcher({"per_page": "2"})])
    responses.get(f"{BASE}/items", json=[{"id": 3}],
                  headers={"Link": f'<{BASE}/items?page=1>; rel="first"'},
                  match=[matchers.query_param_matcher({"page": "2", "per_page": "2"})])
    http, _ = client()
    stream = RestStream(http, Endpoint("items", "items", records="",
                                       paginator=LinkHeader(page_size=2)))
    assert [r["id"] for r in stream.records()] == [1, 2, 3]


@responses.activate
def test_odata_next_in_the_d_envelope() -> None:
    responses.get(f"{BASE}/odata/Accounts", json={"d": {
        "results": [{"ID": "a"}], "__next": f"{BASE}/odata/Accounts?$skiptoken=x"}},
        match=[matchers.query_param_matcher({})])
    responses.get(f"{BASE}/odata/Accounts", json={"d": {"results": [{"ID": "b"}]}},
                  match=[matchers.query_param_matcher({"$skiptoken": "x"})])
    http, _ = client()
    stream = RestStream(http, Endpoint("Accounts", "odata/Accounts", id_field="ID",
                                       records="d.results", record="d",
                                       paginator=ODataNext()))
    assert [r["ID"] for r in stream.records()] == ["a", "b"]


@responses.activate
def test_offset_paging_stops_on_a_short_page_or_has_more_false() -> None:
    responses.get(f"{BASE}/rows", json={"data": [{"id": 1}, {"id": 2}], "has_more": True},
                  match=[matchers.query_param_matcher({"limit": "2", "offset": "0"})])
    responses.get(f"{BASE}/rows", json={"data": [{"id": 3}, {"id": 4}], "has_more": False},
                  match=[matchers.query_param_matcher({"limit": "2", "offset": "2"})])
    http, _ = client()
    stream = RestStream(http, Endpoint("rows", "rows", paginator=Offset(page_size=2)))
    assert [r["id"] for r in stream.records()] == [1, 2, 3, 4]


@responses.activate
def test_page_number_paging_counts_pages_not_rows() -> None:
    responses.get(f"{BASE}/rows", json={"data": [{"id": 1}, {"id": 2}]},
                  match=[matchers.query_param_matcher({"size": "2", "page": "1"})])
    responses.get(f"{BASE}/rows", json={"data": [{"id": 3}]},
                  match=[matchers.query_param_matcher({"size": "2", "page": "2"})])
    http, _ = client()
    pager = Offset(page_size=2, size_param="size", offset_param="page", by_page=True)
    stream = RestStream(http, Endpoint("rows", "rows", paginator=pager))
    assert [r["id"] for r in stream.records()] == [1, 2, 3]


@responses.activate
def test_cursor_paging_sends_the_token_back_and_a_cursor_that_does_not_move_is_refused(
        ) -> None:
    responses.get(f"{BASE}/rows", json={"data": [{"id": 1}], "next_cursor": "c2"},
                  match=[matchers.query_param_matcher({"limit": "1"})])
    responses.get(f"{BASE}/rows", json={"data": [{"id": 2}], "next_cursor": "c2"},
                  match=[matchers.query_param_matcher({"limit": "1", "cursor": "c2"})])
    http, _ = client()
    stream = RestStream(http, Endpoint("rows", "rows", paginator=Cursor(page_size=1)))
    seen: list[int] = []
    with pytest.raises(AnswerOutOfBounds, match="asks again for a page already read"):
        for row in stream.records():
            seen.append(row["id"])
    assert seen == [1, 2]


# -- endpoints -----------------------------------------------------------------------------

@responses.activate
def test_an_endpoint_says_how_each_write_is_sent() -> None:
    responses.post(f"{BASE}/things", json={"thing": {"id": "7", "name": "A"}}, status=201)
    responses.put(f"{BASE}/things/7", json={"thing": {"id": "7", "name": "B"}})
    responses.delete(f"{BASE}/things/7", status=204)
    responses.delete(f"{BASE}/things/8", status=404, json={"message": "no such thing"})
    responses.get(f"{BASE}/things/9", status=410, json={})
    http, _ = client()
    things = RestStream(http, Endpoint("things", "things", record="thing", update="PUT"))
    assert things.create({"name": "A"}) == {"id": "7", "name": "A"}
    assert things.one(things.update("7", {"name": "B"}), "PUT") == {"id": "7", "name": "B"}
    assert things.delete("7") is True and things.delete("8") is False
    assert things.fetch("9") is None
    with pytest.raises(RecordError, match="cannot be a record id"):
        things.fetch("..")
    read_only = RestStream(http, Endpoint("logs", "logs", create=None))
    with pytest.raises(RecordError, match="has no create"):
        read_only.create({})


@responses.activate
def test_an_answer_without_the_records_or_not_json_names_the_request() -> None:
    responses.get(f"{BASE}/rows", json={"items": []})
    responses.get(f"{BASE}/other", body="not json", content_type="text/plain")
    http, _ = client()
    with pytest.raises(RecordError, match=r"api GET /rows: expected a list at 'data'"):
        list(RestStream(http, Endpoint("rows", "rows")).records())
    with pytest.raises(RecordError, match=r"api GET /other: the answer is not JSON"):
        list(RestStream(http, Endpoint("other", "other")).records())


# -- error map -----------------------------------------------------------------------------

@responses.activate
@pytest.mark.parametrize(("status", "kind"), [
    (400, HttpStatusError), (404, HttpStatusError), (422, HttpStatusError),
    (401, CredentialsRefused), (503, SystemUnavailable), (429, TransientError),
])
def test_the_default_error_for_each_status(status: int, kind: type[Exception]) -> None:
    responses.post(f"{BASE}/things", status=status, json={"message": "no"})
    http, _ = client(retries=0)
    with pytest.raises(kind) as raised:
        http.request("POST", "things", json={})
    assert "api" in str(raised.value) and "POST /things" in str(raised.value)


@responses.activate
def test_a_connector_maps_a_status_to_a_stop() -> None:
    responses.get(f"{BASE}/a", status=403, json={"message": "key revoked"})
    responses.get(f"{BASE}/b", status=402, json={"message": "plan expired"})
    http, _ = client(errors={403: AccessDenied, 402: StopRun})
    with pytest.raises(AccessDenied, match="key revoked"):
        http.get("a")
    with pytest.raises(StopRun, match="plan expired"):
        http.get("b")


# -- retries -------------------------------------------------------------------------------

def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(" 1.5 ") == 1.5
    now = 1_700_000_000.0
    later = email.utils.formatdate(now + 42, usegmt=True)
    assert retry_after_seconds(later, now=lambda: now) == pytest.approx(42)
    assert retry_after_seconds(email.utils.formatdate(now - 60, usegmt=True),
                               now=lambda: now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("-3") is None


@responses.activate
def test_a_429_waits_as_long_as_its_http_date_retry_after_says() -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    responses.get(f"{BASE}/x", status=429, headers={"Retry-After": when})
    responses.get(f"{BASE}/x", json={"ok": True})
    http, waits = client()
    assert http.get("x").json() == {"ok": True}
    assert len(waits) == 1 and 17 <= waits[0] <= 20.5


@responses.activate
def test_the_budget_is_asked_before_every_attempt_and_may_stop_the_run() -> None:
    class Budget:
        def __init__(self) -> None:
            self.asked = 0
            self.answers: list[int] = []

        def before_request(self) -> None:
            self.asked += 1
            if self.asked > 2:
                raise BudgetExhausted("daily budget spent")

        def after_response(self, response: requests.Response) -> None:
            self.answers.append(response.status_code)

    responses.get(f"{BASE}/x", status=503)
    budget = Budget()
    http, waits = client(budget=budget, patience=1000)
    with pytest.raises(BudgetExhausted):
        http.get("x")
    assert budget.asked == 3 and budget.answers == [503, 503] and len(waits) == 2


@responses.activate
def test_a_stop_request_ends_the_backoff_wait_at_once() -> None:
    responses.get(f"{BASE}/x", status=503, headers={"Retry-After": "60"})
    http = HttpClient(BASE, name="api", patience=1000)  # the real, interruptible sleep
    interrupt.clear()
    timer = threading.Timer(0.3, interrupt.request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            http.get("x")
    finally:
        timer.cancel()
        interrupt.clear()
    assert time.monotonic() - started < 2


# -- a maintenance page ----------------------------------------------------------------------

@responses.activate
def test_an_html_page_with_status_200_is_an_outage_for_an_api_that_answers_json() -> None:
    page = "<html><head><title>Down for maintenance</title></head><body>back soon</body></html>"
    responses.get(f"{BASE}/rows", status=200, body=page, content_type="text/html")
    responses.post(f"{BASE}/rows", status=200, body=page, content_type="text/html")
    http, waits = client(answers_json=True, patience=1000)
    with pytest.raises(MaintenancePage, match="Down for maintenance") as raised:
        http.get("rows")
    assert isinstance(raised.value, SystemUnavailable) and raised.value.where == f"{BASE}/"
    assert len(waits) == http.retries, "retried like a 503 first"
    waits.clear()
    with pytest.raises(MaintenancePage):
        http.request("POST", "rows", json={})
    assert waits == [], "a write is not sent twice"


@responses.activate
def test_a_write_whose_answer_comes_within_the_grace_is_not_abandoned() -> None:
    def slow(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        time.sleep(0.6)
        return 201, {}, '{"id": "1"}'

    responses.add_callback("POST", f"{BASE}/things", callback=slow)
    http = HttpClient(BASE, name="api")
    interrupt.clear()
    timer = threading.Timer(0.1, interrupt.request_stop)
    timer.start()
    try:
        assert http.request("POST", "things", json={}).json() == {"id": "1"}
    finally:
        timer.cancel()
        interrupt.clear()


@responses.activate
def test_an_html_page_passes_for_a_client_that_does_not_promise_json() -> None:
    responses.get(f"{BASE}/page", body="<html>hello</html>", content_type="text/html")
    http, _ = client()
    assert http.get("page").text == "<html>hello</html>"


@responses.activate
def test_a_stream_refuses_an_html_page_as_an_outage_too() -> None:
    responses.get(f"{BASE}/rows", body="<!DOCTYPE html><html><h1>Onderhoud</h1></html>",
                  content_type="text/plain")
    http, _ = client()
    with pytest.raises(MaintenancePage, match="Onderhoud"):
        list(RestStream(http, Endpoint("rows", "rows")).records())


# -- a request in flight -------------------------------------------------------------------

def _hanging(release: threading.Event) -> Any:
    def callback(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        release.wait(30)
        return 200, {}, "{}"
    return callback


@responses.activate
@pytest.mark.parametrize(("method", "made"), [("GET", False), ("POST", True)])
def test_a_stop_request_abandons_a_request_in_flight(method: str, made: bool) -> None:
    release = threading.Event()
    responses.add_callback(method, f"{BASE}/slow", callback=_hanging(release))
    http = HttpClient(BASE, name="api")
    interrupt.clear()
    timer = threading.Timer(0.3, interrupt.request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(AbandonedInFlight) as raised:
            http.request(method, "slow", json={} if method == "POST" else None)
        seconds = time.monotonic() - started
    finally:
        timer.cancel()
        interrupt.clear()
        release.set()
    assert seconds < (0.3 + 0.75 + 0.5 if made else 0.3 + 0.5), "a write gets 0.75 s more"
    assert raised.value.may_have_been_made is made
    assert f"api {method} /slow" in str(raised.value)
