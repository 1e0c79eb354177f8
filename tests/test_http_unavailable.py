"""What the HTTP client calls the system's failure rather than the request's, and stop requests.

A system that cannot be reached, or that keeps answering 5xx or nothing at
all after the retries, is ``SystemUnavailable`` (the run leaves it alone);
one failure of one request that may not be resent stays a plain
``TransientError``. Retries against a system that does not serve stop
after the patience; a stop request ends a wait at once.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
import responses

from talk_core import http, interrupt
from talk_core.errors import (
    Interrupted,
    NotSent,
    SystemUnavailable,
    TransientError,
    Unreachable,
)
from talk_core.http import HttpClient

BASE = "https://api.example.com/v1"


def client(**kw: object) -> tuple[HttpClient, list[float]]:
    waits: list[float] = []
    return HttpClient(BASE, name="example", sleep=waits.append, retries=3, **kw), waits  # type: ignore[arg-type]


def test_a_closed_port_is_unreachable_not_sent_and_names_the_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    c = HttpClient(f"http://127.0.0.1:{port}/api", name="closed", sleep=lambda _s: None,
                   retries=1)
    with pytest.raises(Unreachable) as raised:
        c.request("POST", "/things", json={})
    assert isinstance(raised.value, NotSent) and isinstance(raised.value, SystemUnavailable)
    assert raised.value.where == f"http://127.0.0.1:{port}/api/"


@responses.activate
def test_a_maintenance_page_is_the_systems_failure_even_for_a_post() -> None:
    responses.post(f"{BASE}/things", status=503, body="<html>Down for maintenance</html>",
                   content_type="text/html")
    c, _waits = client()
    with pytest.raises(SystemUnavailable, match="503 Down for maintenance") as raised:
        c.request("POST", "/things", json={})
    assert raised.value.where == BASE + "/"
    assert c.requests == 1


@responses.activate
def test_one_500_to_a_post_is_the_requests_own_but_500s_after_retries_are_the_systems() -> None:
    responses.post(f"{BASE}/things", status=500)
    c, _waits = client()
    with pytest.raises(TransientError) as once:
        c.request("POST", "/things", json={})
    assert not isinstance(once.value, SystemUnavailable)
    responses.get(f"{BASE}/things", status=500)
    with pytest.raises(SystemUnavailable):
        c.get("/things")
    assert c.requests == 1 + 4


@responses.activate
def test_a_read_timeout_after_retries_is_unavailable_once_is_not() -> None:
    responses.get(f"{BASE}/slow", body=requests.ReadTimeout("late"))
    responses.post(f"{BASE}/slow", body=requests.ReadTimeout("late"))
    c, _waits = client()
    with pytest.raises(SystemUnavailable, match="ReadTimeout after 4 attempt"):
        c.get("/slow")
    with pytest.raises(TransientError) as once:
        c.request("POST", "/slow", json={})  # may have been made; not the system's, yet
    assert not isinstance(once.value, SystemUnavailable)


@responses.activate
def test_retries_stop_at_the_patience() -> None:
    responses.get(f"{BASE}/x", status=503)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    c = HttpClient(BASE, name="example", sleep=sleep, retries=50, backoff=0.2, max_backoff=0.2,
                   patience=0.5)
    started = time.monotonic()
    with pytest.raises(SystemUnavailable):
        c.get("/x")
    assert time.monotonic() - started < 2.0
    assert 2 <= c.requests < 50
    assert sum(slept) <= 0.5 + 1e-6  # no wait goes past the patience


@responses.activate
def test_the_process_wide_patience_applies_to_clients_without_their_own() -> None:
    responses.get(f"{BASE}/x", status=503)
    c, _waits = client()
    c.retries = 50
    c.sleep = lambda s: time.sleep(min(s, 0.05))
    http.set_patience(0.2)
    try:
        with pytest.raises(SystemUnavailable):
            c.get("/x")
    finally:
        http.set_patience(http.DEFAULT_PATIENCE)
    assert c.requests < 50


def test_a_stop_request_ends_a_wait_at_once() -> None:
    interrupt.clear()
    timer = threading.Timer(0.2, interrupt.request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            interrupt.sleep(30)
        assert time.monotonic() - started < 2
        with pytest.raises(Interrupted):  # and no request is sent after it
            client()[0].get("/x")
    finally:
        timer.cancel()
        interrupt.clear()


@responses.activate
def test_the_backoff_between_retries_is_cut_short_by_a_stop_request() -> None:
    interrupt.clear()
    responses.get(f"{BASE}/x", status=503)
    c = HttpClient(BASE, name="example", retries=5, backoff=20, max_backoff=20)
    timer = threading.Timer(0.2, interrupt.request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            c.get("/x")
    finally:
        timer.cancel()
        interrupt.clear()
    assert time.monotonic() - started < 2
    assert c.requests == 1
