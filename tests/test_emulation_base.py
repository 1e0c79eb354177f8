"""The WSGI emulator base: routes, JSON errors, capped bodies, faults, tap, admin surface."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from talk_core.emulation import (
    ApiError,
    EmulatorApp,
    Hangup,
    RandomFaults,
    TappedRequest,
    json_reply,
    route,
)
from talk_core.emulation_faults import DROPPED, RATE_LIMITED, SERVER_ERROR, TIMEOUT


class Things(EmulatorApp):
    """A tiny emulated API: a list of things, each with an id; key ``k`` when ``key`` is set."""

    name = "things"
    max_body = 1000

    def __init__(self, *, key: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.key = key
        self.things: dict[str, Any] = {}

    @route("/things", methods=["GET"])
    def list_things(self, request: Request) -> Response:
        return json_reply({"data": list(self.things.values())})

    @route("/things", methods=["POST"])
    def create(self, request: Request) -> Response:
        body = self.json(request)
        if not isinstance(body, dict) or "name" not in body:
            raise ApiError(422, "required", "'name' is required", "name")
        with self.lock:
            thing = {"id": str(len(self.things) + 1), "name": body["name"]}
            self.things[thing["id"]] = thing
        return json_reply(thing, 201)

    @route("/things/<ident>", methods=["GET"])
    def get(self, request: Request, ident: str) -> Response:
        if ident not in self.things:
            raise ApiError(404, "not_found", f"no thing {ident!r}")
        return json_reply(self.things[ident])

    @route("/things/<ident>", methods=["DELETE"])
    def delete(self, request: Request, ident: str) -> Response:
        self.things.pop(ident, None)
        return json_reply(None, 204)

    def rules(self) -> Iterator[Rule]:
        yield from super().rules()
        yield Rule("/boom", endpoint="boom")

    def boom(self, request: Request) -> Response:
        raise RuntimeError("a bug in the emulator")

    def authorise(self, request: Request) -> bool:
        return self.key is None or request.headers.get("X-Key") == self.key

    def snapshot(self) -> Any:
        return {"things": len(self.things)}

    def reset(self) -> None:
        super().reset()
        self.things.clear()


@pytest.fixture
def things() -> Iterator[Things]:
    with Things() as running:
        yield running


def test_routes_answer_json_and_a_handlers_error_in_the_apis_shape(things: Things) -> None:
    made = requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
    assert made.status_code == 201 and made.json() == {"id": "1", "name": "a"}
    assert made.headers["Content-Type"] == "application/json"
    assert requests.get(f"{things.url}/things/1", timeout=5).json()["name"] == "a"
    assert requests.get(f"{things.url}/things/", timeout=5).json() == {
        "data": [{"id": "1", "name": "a"}]}
    refused = requests.post(f"{things.url}/things", json={}, timeout=5)
    assert refused.status_code == 422
    assert refused.json() == {"error": {"code": "required", "message": "'name' is required",
                                        "field": "name"}}
    gone = requests.delete(f"{things.url}/things/1", timeout=5)
    assert gone.status_code == 204 and gone.content == b""


def test_no_route_is_a_404_and_a_wrong_method_a_405_in_json(things: Things) -> None:
    missing = requests.get(f"{things.url}/nothing/here", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert "/nothing/here" in missing.json()["error"]["message"]
    wrong = requests.put(f"{things.url}/things", json={}, timeout=5)
    assert wrong.status_code == 405
    assert wrong.json()["error"] == {"code": "method_not_allowed",
                                     "message": "PUT is not allowed on /things"}


def test_a_bug_in_a_handler_is_a_json_500_and_the_server_serves_on(things: Things) -> None:
    broken = requests.get(f"{things.url}/boom", timeout=5)
    assert broken.status_code == 500
    assert broken.json()["error"]["message"] == "the emulator failed: RuntimeError"
    assert requests.get(f"{things.url}/things", timeout=5).status_code == 200


def test_a_body_that_is_not_json_is_a_400_naming_the_problem(things: Things) -> None:
    bad = requests.post(f"{things.url}/things", data=b"{name: 1", timeout=5,
                        headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_json"
    assert bad.json()["error"]["message"].startswith("the body is not JSON: ")
    latin = requests.post(f"{things.url}/things", data=b'{"name": "\xe9"}', timeout=5)
    assert latin.status_code == 400
    assert things.things == {}


def test_a_body_above_the_cap_is_a_413_and_nothing_is_made(things: Things) -> None:
    big = requests.post(f"{things.url}/things", json={"name": "x" * 2000}, timeout=5)
    assert big.status_code == 413
    assert big.json()["error"] == {"code": "too_large",
                                   "message": "the body is larger than 1000 bytes"}
    assert things.things == {}
    assert requests.post(f"{things.url}/things", json={"name": "x" * 900},
                         timeout=5).status_code == 201


def test_credentials_are_checked_before_any_fail_rule() -> None:
    with Things(key="k") as things:
        things.fail(503, times=5)
        refused = requests.get(f"{things.url}/things", timeout=5)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        assert requests.get(f"{things.url}/things", headers={"X-Key": "k"},
                            timeout=5).status_code == 503
        assert things.faults[0].times == 4


def test_fail_rules_match_method_and_path_prefix_and_run_out(things: Things) -> None:
    things.fail(409, times=2, method="POST", path="things",
                body={"error": {"code": "busy", "message": "later"}}, headers={"X-Why": "t"})
    things.fail(502, path="/other", content_type="text/html", body="<h1>Bad gateway</h1>")
    assert requests.get(f"{things.url}/things", timeout=5).status_code == 200
    first = requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
    assert first.status_code == 409 and first.headers["X-Why"] == "t"
    assert first.json()["error"]["code"] == "busy"
    assert requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5
                         ).status_code == 409
    assert requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5
                         ).status_code == 201
    html = requests.get(f"{things.url}/other/page", timeout=5)
    assert html.status_code == 502 and html.text == "<h1>Bad gateway</h1>"
    assert html.headers["Content-Type"].startswith("text/html")
    assert len(things.things) == 1


def test_a_drop_rule_closes_the_connection_and_the_server_serves_on(things: Things) -> None:
    things.fail(drop=True, method="POST")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
    assert things.things == {}
    assert requests.post(f"{things.url}/things", json={"name": "b"}, timeout=5
                         ).status_code == 201


@pytest.mark.parametrize("kind", [RATE_LIMITED, SERVER_ERROR, DROPPED])
def test_random_faults_answer_in_the_apis_shape_or_drop(kind: str) -> None:
    with Things(random_faults=RandomFaults(rate=1.0, seed=3, kinds=(kind,),
                                           retry_after="7")) as things:
        if kind == DROPPED:
            with pytest.raises(requests.ConnectionError):
                requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
        else:
            answer = requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
            status = 429 if kind == RATE_LIMITED else 500
            assert answer.status_code == status
            assert answer.json()["error"]["code"] in ("rate_limited", "internal")
            if kind == RATE_LIMITED:
                assert answer.headers["Retry-After"] == "7"
        assert things.things == {}
        assert things.random_faults.injected[kind] == 1 and things.random_faults.served == 1


def test_a_late_answer_takes_effect_after_the_client_gave_up() -> None:
    faults = RandomFaults(rate=1.0, seed=1, kinds=(TIMEOUT,), delay=0.6)
    with Things(random_faults=faults) as things:
        with pytest.raises(requests.ReadTimeout):
            requests.post(f"{things.url}/things", json={"name": "late"}, timeout=0.2)
        faults.clear()
        faults.settle()
        assert [t["name"] for t in things.things.values()] == ["late"]


def test_the_tap_sees_each_request_arrive_and_be_answered_with_its_query(things: Things
                                                                         ) -> None:
    seen: list[TappedRequest] = []
    things.tap.hook = seen.append
    requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
    requests.get(f"{things.url}/things?page=2&q=a%2Fb", timeout=5)
    assert seen == [TappedRequest("received", "POST", "/things", 1),
                    TappedRequest("applied", "POST", "/things", 1),
                    TappedRequest("received", "GET", "/things?page=2&q=a%2Fb", 2),
                    TappedRequest("applied", "GET", "/things?page=2&q=a%2Fb", 2)]
    assert things.tap.count == 2
    assert things.requests == [("POST", "/things"), ("GET", "/things")]


def test_hanging_up_after_a_create_keeps_it_and_answers_nothing(things: Things) -> None:
    stages: list[str] = []

    def hook(request: TappedRequest) -> None:
        stages.append(request.stage)
        if request.stage == "applied" and request.method == "POST":
            raise Hangup

    things.tap.hook = hook
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{things.url}/things", json={"name": "kept"}, timeout=5)
    things.tap.hook = None
    assert stages == ["received", "applied"]
    assert [t["name"] for t in requests.get(f"{things.url}/things", timeout=5).json()["data"]
            ] == ["kept"]


def test_hanging_up_on_arrival_applies_nothing(things: Things) -> None:
    def hook(request: TappedRequest) -> None:
        if request.stage == "received":
            raise Hangup

    things.tap.hook = hook
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{things.url}/things", json={"name": "lost"}, timeout=5)
    things.tap.hook = None
    assert things.things == {}


def test_a_slow_hook_holds_only_its_own_request(things: Things) -> None:
    """The server is threaded: one request held in a hook does not hold the others."""
    release = threading.Event()

    def hold(request: TappedRequest) -> None:
        if request.stage == "applied" and request.method == "POST":
            release.wait(5)

    things.tap.hook = hold
    held = threading.Thread(target=requests.post, args=(f"{things.url}/things",),
                            kwargs={"json": {"name": "slow"}, "timeout": 10})
    held.start()
    try:
        assert requests.get(f"{things.url}/things", timeout=2).status_code == 200
    finally:
        release.set()
        held.join()


def test_the_admin_surface_shows_state_sets_faults_and_resets(things: Things) -> None:
    admin = f"{things.url}/_emulator"
    requests.post(f"{things.url}/things", json={"name": "a"}, timeout=5)
    state = requests.get(f"{admin}/state", timeout=5).json()
    assert state["requests"] == 1 and state["records"] == {"things": 1}
    added = requests.post(f"{admin}/faults", json={"status": 503, "times": 1,
                                                   "method": "GET"}, timeout=5)
    assert added.status_code == 201 and added.json()["status"] == 503
    assert requests.get(f"{things.url}/things", timeout=5).status_code == 503
    assert requests.get(f"{things.url}/things", timeout=5).status_code == 200
    bad = requests.post(f"{admin}/faults", json={"status": "soon"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "status"
    unknown = requests.post(f"{admin}/faults", json={"colour": 1}, timeout=5)
    assert unknown.status_code == 400 and "'colour'" in unknown.json()["error"]["message"]
    chance = requests.put(f"{admin}/faults/random", json={"rate": 1.0, "seed": 2,
                                                          "kinds": ["server_error"]}, timeout=5)
    assert chance.status_code == 200 and chance.json()["rate"] == 1.0
    assert requests.get(f"{things.url}/things", timeout=5).status_code == 500
    # the admin surface is no part of the API: no faults, no tap, not counted
    assert requests.get(f"{admin}/faults", timeout=5).json()["random"]["injected"] == {
        "server_error": 1}
    wrong = requests.put(f"{admin}/faults/random", json={"rate": 3}, timeout=5)
    assert wrong.status_code == 400 and "rate must be 0 to 1" in wrong.json()["error"]["message"]
    assert requests.post(f"{admin}/reset", timeout=5).status_code == 204
    assert requests.get(f"{things.url}/things", timeout=5).json() == {"data": []}
    assert things.requests == [("GET", "/things")]
    assert requests.get(f"{admin}/faults", timeout=5).json()["random"]["rate"] == 0.0


def test_the_admin_surface_needs_no_credentials_and_is_not_tapped() -> None:
    with Things(key="k") as things:
        seen: list[TappedRequest] = []
        things.tap.hook = seen.append
        assert requests.get(f"{things.url}/_emulator/state", timeout=5).status_code == 200
        assert requests.get(f"{things.url}/_emulator/nope", timeout=5).status_code == 404
        assert seen == [] and things.requests == []


def test_start_and_stop_free_the_port_and_url_needs_a_running_server() -> None:
    things = Things()
    with pytest.raises(RuntimeError, match="things is not running"):
        _ = things.url
    things.start()
    url, thread = things.url, things._running.thread if things._running else None
    assert url.startswith("http://127.0.0.1:") and things.port > 0
    assert requests.get(f"{url}/things", timeout=5).status_code == 200
    things.stop()
    assert thread is not None and not thread.is_alive() and thread.daemon
    assert not things.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/things", timeout=2)
    things.stop()  # twice is harmless


def test_a_fixed_port_is_served_on_127_0_0_1() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Things(port=port) as things:
        assert things.port == port
        assert requests.get(f"http://127.0.0.1:{port}/things", timeout=5).status_code == 200
