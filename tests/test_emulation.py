"""The shared emulator life cycle: a tap sees every request twice and can hang up on it."""

from __future__ import annotations

import contextlib
import http.server
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from talk_core.emulation import Background, Hangup, Tap, TappedRequest


class Store(http.server.BaseHTTPRequestHandler):
    """A tiny emulator: POST /things stores the body, GET /things lists them."""

    protocol_version = "HTTP/1.1"
    things: list[bytes] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.things.append(body)
        self._answer(201, b"stored")

    def do_GET(self) -> None:
        self._answer(200, b",".join(self.things))

    def _answer(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def serve(tap: Tap) -> Iterator[Background]:
    Store.things = []
    running = Background(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Store), "store",
                         tap=tap)
    try:
        yield running
    finally:
        running.stop()


def test_a_tap_sees_each_request_arrive_and_be_answered() -> None:
    seen: list[TappedRequest] = []
    with serve(Tap(seen.append)) as running, requests.Session() as session:
        assert session.post(f"{running.url}/things", data=b"a", timeout=5).status_code == 201
        assert session.get(f"{running.url}/things?page=2", timeout=5).text == "a"
        assert running.tap.count == 2
    assert seen == [TappedRequest("received", "POST", "/things", 1),
                    TappedRequest("applied", "POST", "/things", 1),
                    TappedRequest("received", "GET", "/things?page=2", 2),
                    TappedRequest("applied", "GET", "/things?page=2", 2)]


def _hang_up_on(stage: str, method: str, seen: list[TappedRequest]) -> Any:
    def hook(request: TappedRequest) -> None:
        seen.append(request)
        if request.stage == stage and request.method == method:
            raise Hangup

    return hook


def test_hanging_up_after_applying_keeps_the_change_and_answers_nothing() -> None:
    seen: list[TappedRequest] = []
    tap = Tap(_hang_up_on("applied", "POST", seen))
    with serve(tap) as running:
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{running.url}/things", data=b"kept", timeout=5)
        tap.hook = None
        # the server stored it although its client never heard back, and serves on
        assert requests.get(f"{running.url}/things", timeout=5).text == "kept"
    assert [r.stage for r in seen] == ["received", "applied"]


def test_hanging_up_on_arrival_applies_nothing() -> None:
    seen: list[TappedRequest] = []
    tap = Tap(_hang_up_on("received", "POST", seen))
    with serve(tap) as running:
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{running.url}/things", data=b"lost", timeout=5)
        tap.hook = None
        assert requests.get(f"{running.url}/things", timeout=5).text == ""
    assert [r.stage for r in seen] == ["received"]
