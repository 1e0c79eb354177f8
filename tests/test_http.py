from __future__ import annotations

import pytest
import requests
import responses

from talk_core.errors import (
    AccessDenied,
    BudgetExhausted,
    ConfigError,
    RecordError,
    StopRun,
    TransientError,
)
from talk_core.http import (
    CredentialsRefused,
    HttpClient,
    HttpStatusError,
    check_transport,
    is_loopback,
)

BASE = "https://api.example.com"


def client(**kw):  # type: ignore[no-untyped-def]
    waits: list[float] = []
    c = HttpClient(BASE, name="example", sleep=waits.append, retries=3, **kw)
    return c, waits


@responses.activate
def test_5xx_is_retried_then_succeeds() -> None:
    responses.get(f"{BASE}/things", status=503)
    responses.get(f"{BASE}/things", status=500)
    responses.get(f"{BASE}/things", json={"ok": True})
    c, waits = client()
    assert c.get("/things").json() == {"ok": True}
    assert len(waits) == 2 and waits[0] <= waits[1] * 2
    assert c.requests == 3


@responses.activate
def test_429_honours_retry_after_even_for_post() -> None:
    responses.post(f"{BASE}/things", status=429, headers={"Retry-After": "7"})
    responses.post(f"{BASE}/things", json={"id": 1}, status=201)
    c, waits = client()
    assert c.request("POST", "/things", json={}).status_code == 201
    assert waits and waits[0] >= 7


@responses.activate
def test_5xx_on_post_is_not_resent_without_an_idempotency_promise() -> None:
    responses.post(f"{BASE}/things", status=502)
    c, _waits = client()
    with pytest.raises(TransientError, match="example POST /things: 502"):
        c.request("POST", "/things", json={})
    assert c.requests == 1
    c2, _ = client()
    responses.post(f"{BASE}/things", json={}, status=201)
    assert c2.request("POST", "/things", json={}, retry=True).status_code == 201


@responses.activate
def test_4xx_is_not_retried_and_says_what_the_api_said() -> None:
    responses.post(f"{BASE}/customers", status=400,
                   json={"type": "invalid_request", "message": "Name is missing",
                         "param": "name"})
    c, waits = client()
    with pytest.raises(HttpStatusError) as info:
        c.request("POST", "/customers", json={})
    assert info.value.status == 400 and "Name is missing" in str(info.value)
    assert info.value.body["param"] == "name"
    assert isinstance(info.value, RecordError) and waits == [] and c.requests == 1


@responses.activate
def test_retries_run_out_into_a_transient_error() -> None:
    for _ in range(5):
        responses.get(f"{BASE}/x", status=500)
    c, waits = client()
    with pytest.raises(TransientError, match="500"):
        c.get("/x")
    assert len(waits) == 3


@responses.activate
def test_connection_errors_retry_idempotent_requests_only() -> None:
    responses.get(f"{BASE}/x", body=requests.ConnectionError("reset"))
    responses.get(f"{BASE}/x", json=[])
    c, _ = client()
    assert c.get("/x").json() == []
    responses.post(f"{BASE}/y", body=requests.ConnectionError("reset"))
    with pytest.raises(TransientError, match="ConnectionError after 1 attempt"):
        c.request("POST", "/y", json={})


@responses.activate
def test_budget_is_asked_before_and_told_after() -> None:
    calls: list[str] = []

    class Budget:
        def before_request(self) -> None:
            calls.append("before")
            if len(calls) > 2:
                raise BudgetExhausted("daily budget spent")

        def after_response(self, response: requests.Response) -> None:
            calls.append(f"after {response.headers.get('X-Left')}")

    responses.get(f"{BASE}/x", json=[], headers={"X-Left": "9"})
    c, _ = client(budget=Budget())
    c.get("/x")
    assert calls == ["before", "after 9"]
    with pytest.raises(BudgetExhausted):
        c.get("/x")


@responses.activate
def test_secrets_stay_out_of_errors() -> None:
    responses.get(f"{BASE}/x", status=401, json={"message": "bad key"})
    c, _ = client(auth=("sk_live_secret_key", ""))
    with pytest.raises(CredentialsRefused) as info:
        c.get("/x?api_key=sk_live_secret_key")
    assert "sk_live_secret_key" not in str(info.value) and "sk_live" not in repr(c)


@responses.activate
def test_a_401_stops_the_run_naming_the_system_and_what_to_check() -> None:
    responses.get(f"{BASE}/x", status=401, json={"message": "Invalid API key"})
    c, waits = client(auth=("sk_live_secret_key", ""), refused_hint="check the api_key")
    with pytest.raises(AccessDenied) as info:
        c.get("/x")
    assert isinstance(info.value, StopRun) and info.value.status == "auth"
    assert str(info.value) == ("example refused the credentials (401 Invalid API key on GET "
                               "/x); check the api_key")
    assert len(responses.calls) == 1 and waits == [], "a refusal is not retried"


@responses.activate
@pytest.mark.parametrize("headers", [{"X-API-Key": "key-4f1c9e2a"},
                                     {"Authorization": "Bearer key-4f1c9e2a"}])
def test_a_refused_key_quoted_back_by_the_api_is_not_repeated(headers: dict[str, str]
                                                              ) -> None:
    responses.get(f"{BASE}/x", status=401, json={"message": "unknown key key-4f1c9e2a"})
    c, _ = client(headers=headers)
    with pytest.raises(CredentialsRefused) as info:
        c.get("/x")
    assert "key-4f1c9e2a" not in str(info.value)
    assert "unknown key ***" in str(info.value)


@responses.activate
def test_a_client_that_handles_401_itself_gets_the_status() -> None:
    responses.get(f"{BASE}/x", status=401, json={"message": "token expired"})
    responses.get(f"{BASE}/y", status=403, json={"message": "not yours"})
    c, _ = client(refused_hint=None)
    with pytest.raises(HttpStatusError) as info:
        c.get("/x")
    assert info.value.status == 401 and not isinstance(info.value, StopRun)
    with pytest.raises(HttpStatusError) as forbidden:
        client()[0].get("/y")  # a 403 refuses one request, not the credentials
    assert forbidden.value.status == 403


def test_links_to_other_hosts_are_refused() -> None:
    c, _ = client()
    with pytest.raises(RecordError, match="another host"):
        c.url("https://evil.example.org/steal")
    assert c.url(f"{BASE}/a?page=2") == f"{BASE}/a?page=2"


@pytest.mark.parametrize(("url", "verify", "ok"), [
    ("https://api.example.com", True, True),
    ("http://api.example.com", True, False),
    ("https://api.example.com", False, False),
    ("http://127.0.0.1:8081", True, True),
    ("http://localhost:8081", False, True),
    ("http://[::1]:8081", True, True),
    ("ftp://example.com", True, False),
])
def test_transport_rules(url: str, verify: bool, ok: bool) -> None:
    if ok:
        check_transport(url, verify=verify)
    else:
        with pytest.raises(ConfigError):
            check_transport(url, verify=verify)


def test_is_loopback() -> None:
    assert is_loopback("http://127.0.0.5/") and not is_loopback("http://10.0.0.1/")

