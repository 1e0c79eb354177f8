"""A stateful Exact Online on 127.0.0.1, for tests and for trying talk without an account.

It speaks the parts of the REST API the connector uses, with Exact's habits:
the OData envelope, 60 records a page (1000 on the Sync API), mandatory
filters, ``/Date(ms)/`` dates, padded codes, 10-minute rotating tokens,
minutely and daily budgets with their headers and 429s, and the error
envelope. Faults can be injected to see how talk copes: scripted per path
(``fail``) or at a seeded rate (``random_faults``).

This module is the HTTP side, on ``talk_core.emulation``'s ``EmulatorApp``:
the OAuth endpoints, then for ``/api/v1/``: the access token, the division,
the rate budget, a random fault, a scripted fault, and the resource itself
(``service.py``), in the order Exact meets them.

Run it with ``talk emulate exactonline --port N --seed`` or
``python -m talk_exactonline.emulator --port N --seed``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

import attrs
from werkzeug.wrappers import Request, Response

from talk_core.emulation import ApiError, EmulatorApp, Fault, RandomFaults, route
from talk_core.emulation.faults import DROPPED, RATE_LIMITED, SERVER_ERROR
from talk_core.emulation.tap import hang_up, request_target
from talk_exactonline.emulator.seed import seed_sample
from talk_exactonline.emulator.service import ServiceCall
from talk_exactonline.emulator.state import ExactState, Refused

log = logging.getLogger("talk.exactonline.emulator")

API_METHODS = ("GET", "POST", "PUT", "DELETE")
INJECTED = '{"error": {"code": "", "message": {"lang": "", "value": "Injected fault"}}}'


@attrs.define
class ExactFault(Fault):
    """A scripted answer for API requests whose target (path and query) contains a text.

    ``body`` is sent as written (JSON text, or an XML or HTML page with its
    ``content_type``), with the rate-limit headers of the call it replaces.
    """

    contains: str = ""
    body: Any = INJECTED
    content_type: str | None = "application/json"

    def matches_target(self, method: str, target: str) -> bool:
        return self.contains in target and self.method in (None, method)


@attrs.define
class RateLimits:
    """Exact's two budgets per division: calls a minute and calls a day."""

    minutely: int = 60
    daily: int = 5000
    minute_seconds: float = 60.0
    used_minute: int = 0
    minute_start: float = 0.0
    used_day: int = 0
    day_reset: float = 0.0
    over_day: int = 0  # calls that came after the day's budget was spent


class ExactEmulator(EmulatorApp):
    """The emulator: ``start()``, ``url``, ``state``, ``faults``, ``limits``, ``stop()``."""

    name = "exactonline-emulator"

    def __init__(self, *, division: int = 1234567, minutely_limit: int = 60,
                 daily_limit: int = 5000, minute_seconds: float = 60.0, page_size: int = 60,
                 sync_page_size: int = 1000, token_lifetime: float = 600.0,
                 min_refresh_age: float = 570.0, clock: Callable[[], float] = time.time,
                 client_id: str = "talk-emulator", client_secret: str = "emulator-secret"
                 ) -> None:
        # The base's fault middleware draws before anything else; Exact's draw comes
        # after the token endpoints, the access check and the budget (``_checked``), so the
        # middleware gets a roller that never fires and the emulator keeps its own.
        super().__init__(random_faults=RandomFaults())
        self.random_faults = RandomFaults()  # seeded faults at a rate, see talk_core
        self.state = ExactState(division=division, token_lifetime=token_lifetime,
                                min_refresh_age=min_refresh_age, clock=clock,
                                client_id=client_id, client_secret=client_secret)
        self.limits = RateLimits(minutely_limit, daily_limit, minute_seconds)
        self.limits.day_reset = clock() + 86400
        self.page_size = page_size
        self.sync_page_size = sync_page_size
        self.clock = clock
        self.token_delay = 0.0  # seconds the token endpoint takes: widens refresh races
        self.calls: list[tuple[str, str, int]] = []

    # -- lifecycle ----------------------------------------------------------------
    def start(self, port: int | None = None) -> ExactEmulator:
        if port is not None and not self.running:
            self._port = port
        super().start()
        return self

    def error_body(self, error: ApiError) -> Any:
        """Exact's error envelope, for what the base answers itself (a 500, a 413)."""
        return _error(error.message)

    def inject(self, request: Request) -> Response | None:
        """None: fault rules are served in Exact's order, after the budget (``_answer_api``)."""
        return None

    def snapshot(self) -> Any:
        """How many records of each entity set, and deletions, the division holds."""
        with self.state.lock:
            counts = {name: len(records) for name, records in self.state.records.items()}
            return {**counts, "Deleted": len(self.state.deleted)}

    def reset(self) -> None:
        """An empty division, fresh budgets and no faults; tokens stay valid."""
        with self.state.lock:
            for records in self.state.records.values():
                records.clear()
            self.state.deleted.clear()
            self.state.add_own_division()
        with self.lock:
            self.calls.clear()
        self.new_day()
        super().reset()

    # -- test helpers ---------------------------------------------------------------
    def seed(self) -> dict[str, list[str]]:
        """Realistic sample data; answers the ids made, per entity."""
        return seed_sample(self.state)

    def refresh_token(self) -> str:
        """A refresh token as a person's authorisation would leave it."""
        return self.state.authorize()

    def fail(self, contains: str, status: int = 500, *,  # type: ignore[override]
             body: str | None = None,
             content_type: str = "application/json", method: str | None = None,
             times: int = 1) -> ExactFault:
        """The next ``times`` API requests whose target contains ``contains`` get this answer.

        The text to find comes first (unlike the base's ``fail``), as every
        Exact test writes it; the fault is served after the access check and
        the rate budget, where a real failure of the resource would be.
        """
        fault = ExactFault(status=status, times=times, method=method, path=None,
                           content_type=content_type, contains=contains)
        if body is not None:
            fault.body = body
        with self.lock:
            self.faults.append(fault)
        return fault

    def new_day(self) -> None:
        """The daily budget resets (and so does the minute)."""
        self.limits.used_day = 0
        self.limits.used_minute = 0
        self.limits.day_reset = self.clock() + 86400

    def writes(self) -> list[tuple[str, str, int]]:
        return [c for c in self.calls if c[0] in ("POST", "PUT", "DELETE")
                and "/oauth2/" not in c[1]]

    # -- rate limits ------------------------------------------------------------------
    def _charge(self) -> tuple[int, dict[str, str]]:
        """Count one call; answer 0 and headers, or 429 and the headers of the spent budget."""
        limits, now = self.limits, self.clock()
        with self.state.lock:
            if now >= limits.minute_start + limits.minute_seconds:
                limits.minute_start = now - (now % limits.minute_seconds)
                limits.used_minute = 0
            minute_reset = limits.minute_start + limits.minute_seconds
            minutely = {"X-RateLimit-Minutely-Limit": str(limits.minutely),
                        "X-RateLimit-Minutely-Reset": str(math.ceil(minute_reset * 1000))}
            daily = {"X-RateLimit-Limit": str(limits.daily),
                     "X-RateLimit-Reset": str(math.ceil(limits.day_reset * 1000))}
            if limits.used_day >= limits.daily:
                limits.over_day += 1
                return 429, {**daily, "X-RateLimit-Remaining": "0"}
            if limits.used_minute >= limits.minutely:
                return 429, {**minutely, "X-RateLimit-Minutely-Remaining": "0"}
            limits.used_minute += 1
            limits.used_day += 1
            return 0, {**daily, "X-RateLimit-Remaining": str(limits.daily - limits.used_day),
                       **minutely, "X-RateLimit-Minutely-Remaining":
                       str(limits.minutely - limits.used_minute)}

    def _fault(self, method: str, target: str, path: str) -> Fault | None:
        """The first fault rule left that matches: Exact's by text, the admin's by path."""
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and (fault.matches_target(method, target)
                                        if isinstance(fault, ExactFault)
                                        else fault.matches(method, path)):
                    fault.times -= 1
                    return fault
        return None


    # -- routes ---------------------------------------------------------------------
    @route("/api/oauth2/token", methods=["POST"])
    def token_endpoint(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(self.body(request).decode()).items()}
        time.sleep(self.token_delay)
        return self._reply(request, *self._guarded(lambda: (200, self.state.token(form))))

    @route("/api/oauth2/auth", methods=["GET"])
    def authorize_endpoint(self, request: Request) -> Response:
        """Stands in for the person who logs in and approves: redirects with a code at once."""
        query = _query(request)

        def answer() -> tuple[int, Any]:
            if query.get("client_id") != self.state.client_id:
                raise Refused(400, f"invalid_client: unknown client_id "
                                   f"{query.get('client_id')!r}")
            redirect = query.get("redirect_uri", "")
            if not self.state.redirect_allowed(redirect):
                # an open redirect would hand the code to whoever wrote the link
                raise Refused(400, f"invalid_request: redirect_uri {redirect!r} is not "
                                   f"registered for client {self.state.client_id!r}")
            return 302, None

        status, body, headers = self._guarded(answer)
        if status == 302:
            headers = {"Location": query["redirect_uri"] + "?" + urlencode(
                {"code": self.state.new_code(), "state": query.get("state", "")})}
        return self._reply(request, status, body, headers)

    @route("/api/v1/<path:rest>", methods=API_METHODS)
    def api(self, request: Request, rest: str) -> Response:
        return self._reply(request, *self._checked(request, rest.strip("/")))

    @route("/", methods=API_METHODS)
    @route("/<path:other>", methods=API_METHODS)
    def elsewhere(self, request: Request, other: str = "") -> Response:
        return self._reply(request, 404, _error(f"no such resource: /{other.strip('/')}"))

    # -- answering -----------------------------------------------------------------
    def _guarded(self, answer: Callable[[], tuple[int, Any]]
                 ) -> tuple[int, Any, dict[str, str]]:
        try:
            status, body = answer()
        except Refused as exc:
            return exc.status, exc.body or _error(exc.message), {}
        return status, body, {}

    def _reply(self, request: Request, status: int, body: Any = None,
               headers: dict[str, str] | None = None, content_type: str = "application/json"
               ) -> Response:
        raw = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)
                                        ).encode()
        response = Response(raw, status=status)
        response.headers.pop("Content-Type", None)
        if raw:
            response.headers["Content-Type"] = content_type + "; charset=utf-8"
        for key, value in (headers or {}).items():
            response.headers[key] = value
        with self.lock:
            self.calls.append((request.method, request_target(request.environ), status))
        return response

    def _checked(self, request: Request, rest: str) -> tuple[int, Any, dict[str, str]]:
        """The checks in Exact's order, then the resource; what to answer."""
        try:
            self.state.check_access(request.headers.get("Authorization"))
            if rest.lower() == "current/me":
                call = ServiceCall(self, request.method, request_target(request.environ),
                                   request.headers)
                call._me(_query(request))
                return call.status, call.body, call.answer_headers
            division, _, service = rest.partition("/")
            if division != str(self.state.division):
                raise Refused(403, f"no access to division {division}")
        except Refused as exc:
            return exc.status, exc.body or _error(exc.message), {}
        status, headers = self._charge()
        if status == 429:
            return 429, _error("API rate limit exceeded"), headers
        kind = self.random_faults.draw()
        if kind == DROPPED:
            raise hang_up(request.environ)
        if kind == RATE_LIMITED:
            return 429, _error("Too many requests"), {
                **headers, "Retry-After": self.random_faults.retry_after}
        if kind == SERVER_ERROR:
            return 500, _error("An internal error occurred"), headers
        if kind is not None:  # late: the real answer, held back
            with self.random_faults.late():
                return self._answer_api(request, service, headers)
        return self._answer_api(request, service, headers)

    def _answer_api(self, request: Request, service: str, headers: dict[str, str]
                    ) -> tuple[int, Any, dict[str, str]]:
        target = request_target(request.environ)
        fault = self._fault(request.method, target, request.path)
        if fault is not None:
            if fault.drop:
                raise hang_up(request.environ)
            return _FaultAnswer(fault, headers).as_tuple()
        call = ServiceCall(self, request.method, target, request.headers)
        try:
            call._service(service, _query(request), self.body(request), headers)
        except Refused as exc:
            return exc.status, _error(exc.message), headers
        return call.status, call.body, call.answer_headers



@attrs.frozen
class _FaultAnswer:
    """A scripted fault's answer: its text body as written, or JSON of the admin's object."""

    fault: Fault
    headers: dict[str, str]

    def as_tuple(self) -> tuple[int, Any, dict[str, str]]:
        body = self.fault.body
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
        return self.fault.status, body, {**self.headers, **self.fault.headers}


def _query(request: Request) -> dict[str, str]:
    """The query's options, the last of a repeated one (as ``parse_qs`` read them before)."""
    text = request.query_string.decode("latin-1")
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _error(message: str) -> dict[str, Any]:
    return {"error": {"code": "", "message": {"lang": "en-US", "value": message}}}


def serve(port: int = 0, seed: bool = False) -> None:
    """Run until interrupted; what ``talk emulate exactonline`` calls."""
    emulator = ExactEmulator()
    if seed:
        emulator.seed()
    emulator.start(port)
    print(f"Exact Online emulator on {emulator.url} (division {emulator.state.division})",
          flush=True)
    print(f"  client_id = {emulator.state.client_id!r}, client_secret = "
          f"{emulator.state.client_secret!r}", flush=True)
    print(f"  a first refresh token: {emulator.refresh_token()}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m talk_exactonline.emulator",
                                     description="Run an Exact Online emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", action="store_true", help="start with sample data")
    args = parser.parse_args(argv)
    serve(args.port, args.seed)

