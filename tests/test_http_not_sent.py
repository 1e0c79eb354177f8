"""A request that never left the machine is told apart from one that may have arrived.

A create that failed before a connection was made cannot have made a
record, so its journal entry needs no lookup; one that failed after (a
read timeout, a reset, a 5xx) may have, and stays a ``TransientError``.
"""

from __future__ import annotations

import socket

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from talk_core.errors import NotSent, TransientError
from talk_core.http import HttpClient, never_sent

BASE = "https://api.example.com/v1"
KEY = "sk_live_0123456789abcdef"


def client(retries: int = 2) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    return HttpClient(BASE, name="example", sleep=waits.append, retries=retries,
                      headers={"X-API-Key": KEY}), waits


def _refused() -> requests.ConnectionError:
    """What requests raises when nothing listens: refused, inside urllib3's wrappers."""
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        try:
            raise NewConnectionError(None, "Failed to establish a new connection") from cause
        except NewConnectionError as inner:
            return requests.ConnectionError(MaxRetryError(None, "/v1/x", inner))


def _no_such_host() -> requests.ConnectionError:
    inner = NameResolutionError("api.example.com", None, socket.gaierror(-2, "not known"))
    return requests.ConnectionError(MaxRetryError(None, "/v1/x", inner))


@pytest.mark.parametrize(("failure", "cause"), [
    (_refused, "the connection was refused"),
    (_no_such_host, "the host name does not resolve"),
    (lambda: requests.ConnectTimeout("connect timed out"), "the connection timed out"),
])
@responses.activate
def test_a_request_that_never_left_is_not_sent_after_its_retries(failure, cause) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        responses.post(f"{BASE}/x", body=failure())
    c, waits = client()
    with pytest.raises(NotSent) as raised:
        c.request("POST", "/x", json={"name": "Acme"})
    message = str(raised.value)
    assert cause in message
    assert "https://api.example.com/v1/" in message and "3 attempt(s)" in message
    assert KEY not in message
    # never sent, so safe to send again even without an idempotency key
    assert c.requests == 3 and len(waits) == 2
    assert isinstance(raised.value, TransientError)


@responses.activate
def test_a_request_sent_again_after_a_refusal_succeeds() -> None:
    url = f"{BASE}/x"
    responses.post(url, body=_refused())
    responses.post(url, json={"id": 1})
    c, _ = client()
    assert c.request("POST", "/x", json={}).json() == {"id": 1}


@pytest.mark.parametrize("failure", [
    lambda: requests.ReadTimeout("read timed out"),
    lambda: requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
    lambda: requests.ConnectionError("Connection aborted."),
])
@responses.activate
def test_a_failure_after_connecting_stays_transient_and_a_post_is_not_resent(failure) -> None:  # type: ignore[no-untyped-def]
    responses.post(f"{BASE}/x", body=failure())
    c, _ = client()
    with pytest.raises(TransientError) as raised:
        c.request("POST", "/x", json={})
    assert not isinstance(raised.value, NotSent)
    assert c.requests == 1


@responses.activate
def test_a_5xx_stays_transient() -> None:
    responses.get(f"{BASE}/x", status=503)
    c, _ = client(retries=0)
    with pytest.raises(TransientError) as raised:
        c.get("/x")
    assert not isinstance(raised.value, NotSent)


def test_a_closed_loopback_port_is_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = HttpClient(f"http://127.0.0.1:{port}/api", name="local", sleep=lambda _s: None,
                   retries=1, timeout=2.0)
    with pytest.raises(NotSent, match=r"refused \(http://127\.0\.0\.1:\d+/api/, 2 attempt"):
        c.request("POST", "things", json={"name": "x"})
    assert c.requests == 2


def test_never_sent_reads_only_connect_failures() -> None:
    assert never_sent(_refused()) == "the connection was refused"
    assert never_sent(requests.ReadTimeout("x")) is None
    assert never_sent(requests.ConnectionError("reset")) is None
