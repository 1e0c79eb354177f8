"""A stateful Exact Online on 127.0.0.1, for tests and for trying talk without an account.

It speaks the parts of the REST API the connector uses, with Exact's habits:
the OData envelope, 60 records a page (1000 on the Sync API), mandatory
filters, ``/Date(ms)/`` dates, padded codes, 10-minute rotating tokens,
minutely and daily budgets with their headers and 429s, and the error
envelope. Faults can be injected to see how talk copes: scripted per path
(``fail``) or at a seeded rate (``random_faults``).

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import attrs

from talk_core.emulation import Background, Tap
from talk_core.emulation_faults import DROPPED, RATE_LIMITED, SERVER_ERROR, RandomFaults, drop
from talk_exactonline.emulator.filter import FilterError, parse_filter
from talk_exactonline.emulator.seed import seed_sample
from talk_exactonline.emulator.state import ExactState, Refused
from talk_exactonline.schema import BY_NAME, ENDPOINTS

log = logging.getLogger("talk.exactonline.emulator")

SERVICES = {endpoint.path.lower(): name for name, endpoint in ENDPOINTS.items()}
SYNC = {endpoint.sync.lower(): name for name, endpoint in ENDPOINTS.items() if endpoint.sync}
MANDATORY_FILTER = {"Accounts", "Items"}


@attrs.define
class Fault:
    """An answer to give instead of the real one, ``times`` times, to matching requests."""

    contains: str
    status: int = 500
    body: str = '{"error": {"code": "", "message": {"lang": "", "value": "Injected fault"}}}'
    content_type: str = "application/json"
    method: str | None = None
    times: int = 1


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


class ExactEmulator:
    """The emulator: ``start()``, ``url``, ``state``, ``faults``, ``limits``, ``stop()``."""

    def __init__(self, *, division: int = 1234567, minutely_limit: int = 60,
                 daily_limit: int = 5000, minute_seconds: float = 60.0, page_size: int = 60,
                 sync_page_size: int = 1000, token_lifetime: float = 600.0,
                 min_refresh_age: float = 570.0, clock: Callable[[], float] = time.time,
                 client_id: str = "talk-emulator", client_secret: str = "emulator-secret"
                 ) -> None:
        self.state = ExactState(division=division, token_lifetime=token_lifetime,
                                min_refresh_age=min_refresh_age, clock=clock,
                                client_id=client_id, client_secret=client_secret)
        self.limits = RateLimits(minutely_limit, daily_limit, minute_seconds)
        self.limits.day_reset = clock() + 86400
        self.page_size = page_size
        self.sync_page_size = sync_page_size
        self.clock = clock
        self.faults: list[Fault] = []
        self.random_faults = RandomFaults()  # seeded faults at a rate, see talk_core
        self.token_delay = 0.0  # seconds the token endpoint takes: widens refresh races
        self.calls: list[tuple[str, str, int]] = []
        self.tap = Tap()  # tests hang a hook on it to see every request
        self._running: Background | None = None

    # -- lifecycle ----------------------------------------------------------------
    def start(self, port: int = 0) -> ExactEmulator:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._running = Background(ThreadingHTTPServer(("127.0.0.1", port), Handler),
                                   "exactonline-emulator", tap=self.tap)
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def __enter__(self) -> ExactEmulator:
        return self.start() if self._running is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._running is not None, "the emulator is not started"
        return self._running.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test helpers ---------------------------------------------------------------
    def seed(self) -> dict[str, list[str]]:
        """Realistic sample data; answers the ids made, per entity."""
        return seed_sample(self.state)

    def refresh_token(self) -> str:
        """A refresh token as a person's authorisation would leave it."""
        return self.state.authorize()

    def fail(self, contains: str, status: int = 500, *, body: str | None = None,
             content_type: str = "application/json", method: str | None = None,
             times: int = 1) -> None:
        fault = Fault(contains, status, method=method, times=times, content_type=content_type)
        if body is not None:
            fault.body = body
        self.faults.append(fault)

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

    def _fault(self, method: str, path: str) -> Fault | None:
        with self.state.lock:
            for fault in self.faults:
                if fault.contains in path and fault.method in (None, method) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None


def _error(message: str) -> dict[str, Any]:
    return {"error": {"code": "", "message": {"lang": "en-US", "value": message}}}


class _Handler(BaseHTTPRequestHandler):
    owner: ExactEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes; no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- answers ------------------------------------------------------------------------
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        raw = b"" if body is None else (body if isinstance(body, str) else json.dumps(body)
                                        ).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if raw:
            self.send_header("Content-Type", content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
        self.owner.calls.append((self.command, self.path, status))

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- routing --------------------------------------------------------------------------
    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.strip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        body = self._body()
        try:
            if path == "api/oauth2/token" and self.command == "POST":
                self._token(body)
                return
            if path == "api/oauth2/auth" and self.command == "GET":
                self._authorize(query)
                return
            if not path.startswith("api/v1/"):
                raise Refused(404, f"no such resource: /{path}")
            self.owner.state.check_access(self.headers.get("Authorization"))
            rest = path[len("api/v1/"):]
            if rest.lower() == "current/me":
                self._me(query)
                return
            division, _, service = rest.partition("/")
            if division != str(self.owner.state.division):
                raise Refused(403, f"no access to division {division}")
            status, headers = self.owner._charge()
            if status == 429:
                self._send(429, _error("API rate limit exceeded"), headers)
                return
            kind = self.owner.random_faults.draw()
            if kind is None:
                self._answer_api(service, query, body, headers)
            else:
                self._random_fault(kind, service, query, body, headers)
        except Refused as exc:
            self._send(exc.status, exc.body or _error(exc.message))

    def _answer_api(self, service: str, query: dict[str, str], body: bytes,
                    headers: dict[str, str]) -> None:
        fault = self.owner._fault(self.command, self.path)
        if fault is not None:
            self._send(fault.status, fault.body, headers, fault.content_type)
            return
        try:
            self._service(service, query, body, headers)
        except Refused as exc:
            self._send(exc.status, _error(exc.message), headers)

    def _random_fault(self, kind: str, service: str, query: dict[str, str], body: bytes,
                      headers: dict[str, str]) -> None:
        """Answer with a drawn fault; a late answer is the real one, held back."""
        faults = self.owner.random_faults
        if kind == DROPPED:
            drop(self)
        elif kind == RATE_LIMITED:
            self._send(429, _error("Too many requests"),
                       {**headers, "Retry-After": faults.retry_after})
        elif kind == SERVER_ERROR:
            self._send(500, _error("An internal error occurred"), headers)
        else:
            with faults.late():
                self._answer_api(service, query, body, headers)

    def _token(self, body: bytes) -> None:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        time.sleep(self.owner.token_delay)
        self._send(200, self.owner.state.token(form))

    def _authorize(self, query: dict[str, str]) -> None:
        """Stands in for the person who logs in and approves: redirects with a code at once."""
        if query.get("client_id") != self.owner.state.client_id:
            raise Refused(400, f"invalid_client: unknown client_id {query.get('client_id')!r}")
        redirect = query.get("redirect_uri", "")
        if not self.owner.state.redirect_allowed(redirect):
            # an open redirect would hand the code to whoever wrote the link
            raise Refused(400, f"invalid_request: redirect_uri {redirect!r} is not registered "
                               f"for client {self.owner.state.client_id!r}")
        target = query["redirect_uri"] + "?" + urlencode(
            {"code": self.owner.state.new_code(), "state": query.get("state", "")})
        self._send(302, None, {"Location": target})

    def _me(self, query: dict[str, str]) -> None:
        me = {"CurrentDivision": self.owner.state.division, "FullName": "Emulated User",
              "__metadata": {"uri": f"{self.owner.url}/api/v1/current/Me", "type": "Exact.Web."
                             "Api.System.Me"}}
        self._send(200, {"d": {"results": [_select(me, query.get("$select"))]}})

    def _service(self, service: str, query: dict[str, str], body: bytes,
                 headers: dict[str, str]) -> None:
        state = self.owner.state
        lowered = service.lower()
        if lowered == "sync/deleted":
            self._list("Deleted", query, headers, sync=True)
            return
        if lowered in SYNC:
            if self.command != "GET":
                raise Refused(405, "the Sync API is read only")
            self._list(SYNC[lowered], query, headers, sync=True)
            return
        base, _, key = service.partition("(")
        name = SERVICES.get(base.lower())
        if name is None:
            raise Refused(404, f"no such resource: {service}")
        if self.command != "GET" and ENDPOINTS[name].read_only:
            raise Refused(405, f"{name} can only be read")
        if key:
            ident = key.rstrip(")").removeprefix("guid").strip("'")
            if self.command == "PUT":
                state.update(name, ident, self._json(body))
                self._send(204, None, headers)
            elif self.command == "DELETE":
                state.delete(name, ident)
                self._send(204, None, headers)
            else:
                record = state.records[name].get(ident.lower())
                if record is None:
                    raise Refused(404, f"{name} {ident} does not exist")
                self._send(200, {"d": self._present(name, dict(record), query)}, headers)
            return
        if self.command == "POST":
            made = state.create(name, self._json(body))
            represent = "return=representation" in (self.headers.get("Prefer") or "")
            self._send(201, {"d": self._present(name, made, {}, inline=True)} if represent
                       else None, headers)
            return
        if self.command != "GET":
            raise Refused(405, f"{self.command} is not allowed here")
        if name in MANDATORY_FILTER and not query.get("$filter"):
            raise Refused(400, "This endpoint has mandatory filtering applied. Please add a "
                               "$filter to the query string.")
        self._list(name, query, headers, sync=False)

    def _json(self, body: bytes) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise Refused(415, "Content-Type must be application/json")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise Refused(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "the body must be an object")
        return data

    def _present(self, name: str, record: dict[str, Any], query: dict[str, str],
                 *, inline: bool = False) -> dict[str, Any]:
        uri_key = BY_NAME[name].id_field if name in BY_NAME else "ID"
        service = ENDPOINTS[name].path if name in ENDPOINTS else "sync/Deleted"
        ident = record.get(uri_key, "")
        record["__metadata"] = {"uri": f"{self.owner.url}/api/v1/{self.owner.state.division}/"
                                       f"{service}(guid'{ident}')",
                                "type": f"Exact.Web.Api.Models.{name}"}
        children = ENDPOINTS[name].children if name in ENDPOINTS else None
        expanded = {e.strip() for e in (query.get("$expand") or "").split(",")}
        if children and not inline and children in expanded:
            parent_field = BY_NAME[children].child_of.parent_property  # type: ignore[union-attr]
            lines = sorted((r for r in self.owner.state.listing(children)
                            if r.get(parent_field) == ident), key=lambda r: r["LineNumber"])
            record[children] = {"results": [self._present(children, line, {})
                                            for line in lines]}
        elif children and not inline:
            record[children] = {"__deferred": {"uri": record["__metadata"]["uri"] + "/" +
                                               children}}
        elif children and isinstance(record.get(children), dict):
            record[children]["results"] = [self._present(children, dict(line), {})
                                           for line in record[children]["results"]]
        if "Timestamp" not in (query.get("$select") or ""):
            record.pop("Timestamp", None)  # only the Sync API shows it
        return _select(record, query.get("$select"))

    def _list(self, name: str, query: dict[str, str], headers: dict[str, str], *,
              sync: bool) -> None:
        records = self.owner.state.listing(name)
        text = query.get("$filter", "")
        if sync and "Timestamp gt" not in text:
            raise Refused(400, "The Sync API needs $filter=Timestamp gt <n>L")
        if text:
            try:
                predicate = parse_filter(text)
            except FilterError as exc:
                raise Refused(400, str(exc)) from None
            records = [r for r in records if predicate(r)]
        size = self.owner.sync_page_size if sync else self.owner.page_size
        if "$top" in query:
            size = min(size, max(0, int(query["$top"])))
        if sync:
            records.sort(key=lambda r: r["Timestamp"])
            page = records[:size]
            more = len(records) > size
            following = None
            if more:
                last = page[-1]["Timestamp"]
                rest = text.split(" and ", 1)[1:] if " and " in text else []
                new_filter = " and ".join([f"Timestamp gt {last}L", *rest])
                following = self._next(query, {"$filter": new_filter})
        else:
            offset = int(query.get("$skiptoken") or 0)
            page = records[offset:offset + size]
            more = offset + size < len(records)
            following = self._next(query, {"$skiptoken": str(offset + size)}) if more else None
        shown = [self._present(name, r, query) if name != "Deleted"
                 else _select(r, query.get("$select")) for r in page]
        d: dict[str, Any] = {"results": shown}
        if query.get("$inlinecount") == "allpages":
            d["__count"] = str(len(records))
        if following:
            d["__next"] = following
        self._send(200, {"d": d}, headers)

    def _next(self, query: dict[str, str], changes: dict[str, str]) -> str:
        merged = {**query, **changes}
        path = urlsplit(self.path).path
        return f"{self.owner.url}{path}?" + "&".join(
            f"{k}={quote(v, safe=',')}" for k, v in merged.items())


def _select(record: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return record
    wanted = {s.strip() for s in select.split(",")} | {"__metadata"}
    return {k: v for k, v in record.items() if k in wanted}


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

