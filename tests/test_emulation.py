"""The shared emulator life cycle: a tap sees every request twice and can hang up on it.

Served here in front of a bare WSGI app, not an ``EmulatorApp``: the tap and
``Background`` are the parts every emulator shares, and they must hold
without the rest of the base (tests/test_emulation_base.py covers that).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from talk_core.emulation import Background, Hangup, Tap, TappedRequest, serve_wsgi
from talk_core.emulation.tap import TapMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class Store:
    """A tiny emulator: POST /things stores the body, GET /things lists them."""

    def __init__(self) -> None:
        self.things: list[bytes] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        request = Request(environ)
        if request.method == "POST":
            self.things.append(request.get_data())
            answer = Response(b"stored", status=201)
        else:
            answer = Response(b",".join(self.things))
        return answer(environ, start_response)


@contextlib.contextmanager
def serve(tap: Tap) -> Iterator[Background]:
    running = Background(serve_wsgi(TapMiddleware(Store(), tap)), "store", tap=tap)
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


@pytest.mark.parametrize(("stage", "stored", "stages"), [
    ("applied", "kept", ["received", "applied"]),
    ("received", "", ["received"]),
])
def test_hanging_up_answers_nothing_and_keeps_only_what_was_applied(
        stage: str, stored: str, stages: list[str]) -> None:
    """Hung up once applied, the change stays; hung up on arrival, nothing is applied."""
    seen: list[TappedRequest] = []
    tap = Tap(_hang_up_on(stage, "POST", seen))
    with serve(tap) as running:
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{running.url}/things", data=b"kept", timeout=5)
        tap.hook = None
        # the server serves on; it stored the body only if it applied it before hanging up
        assert requests.get(f"{running.url}/things", timeout=5).text == stored
    assert [r.stage for r in seen] == stages


def test_background_server_serves_until_stopped() -> None:
    running = Background(serve_wsgi(Response(b"hi")), "hello")
    assert requests.get(running.url, timeout=5).text == "hi"
    running.stop()
    assert not running.thread.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url, timeout=2)
