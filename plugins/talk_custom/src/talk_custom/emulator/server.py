"""An HTTP server that speaks the custom REST contract, for tests and for trying talk out.

``CustomEmulator("customcrm")`` serves every datatype of a profile on
127.0.0.1 with real semantics (keyset paging, tombstones, idempotency keys,
validation with the contract's error bodies) and lets a test inject faults:
a 503 burst, a 429 with ``Retry-After``, or a 200 whose body breaks the
contract. ``talk emulate customcrm --port N --seed`` and ``python -m
talk_custom.emulator --profile customcrm --port N --seed`` run one until
Ctrl-C, demanding an API key (``--api-key``, by default ``test_key``).
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from talk_core.emulation import Background, Tap
from talk_core.emulation_faults import DROPPED, RATE_LIMITED, SERVER_ERROR, RandomFaults, drop
from talk_custom.emulator.state import ApiError, EmulatorState
from talk_custom.layout import Layout, build_layout
from talk_custom.profiles import PROFILES
from talk_custom.sample import seed_into


@attrs.define
class Fault:
    """The next ``times`` matching requests get ``status`` and ``body`` instead of service."""

    status: int = 503
    times: int = 1
    method: str | None = None
    path: str | None = None
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    #: set: ``body`` is text sent as is with this type (an HTML error page), not JSON
    content_type: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.strip("/").startswith(self.path.strip("/")))


class CustomEmulator:
    """A stateful emulator of one profile's REST API; ``start``, use ``url``, ``stop``."""

    def __init__(self, profile: str = "customcrm", *, port: int = 0,
                 datatypes: dict[str, Any] | None = None, api_key: str | None = None,
                 token: str | None = None) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of "
                             f"{', '.join(PROFILES)}")
        self.profile = PROFILES[profile]
        self.layout: Layout = build_layout(self.profile, datatypes, f"emulator {profile}")
        self.state = EmulatorState(self.layout)
        self.api_key = api_key
        self.token = token
        self.faults: list[Fault] = []
        self.random_faults = RandomFaults()  # seeded faults at a rate, see talk_core
        self.requests: list[tuple[str, str]] = []
        self._port = port
        self.tap = Tap()  # tests hang a hook on it to see every request
        self._running: Background | None = None

    # -- lifecycle ----------------------------------------------------------------

    def start(self) -> CustomEmulator:
        self._running = Background(ThreadingHTTPServer(("127.0.0.1", self._port),
                                                       _handler(self)),
                                   f"emulator-{self.profile.name}", tap=self.tap)
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def __enter__(self) -> CustomEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._running is None:
            raise RuntimeError("the emulator is not running")
        return self._running.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test helpers: a person using the system behind talk's back -----------------

    def fail(self, status: int = 503, *, times: int = 1, method: str | None = None,
             path: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None, content_type: str | None = None
             ) -> Fault:
        fault = Fault(status, times, method, path, body, dict(headers or {}), content_type)
        self.faults.append(fault)
        return fault

    def seed(self) -> None:
        """Fill the system with a small, realistic sample (see ``sample.py``)."""
        seed_into(self.profile.name, lambda datatype, fields: str(self.put(datatype, fields)["id"]))

    def put(self, datatype: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Create a record in talk's property names; answer it the same way, with ``id``."""
        table = self.state.table(datatype)
        row, _ = self.state.create(table, table.resource.to_wire(fields))
        return self._plain(datatype, row)

    def edit(self, datatype: str, ident: str, **changes: Any) -> dict[str, Any]:
        table = self.state.table(datatype)
        return self._plain(datatype, self.state.update(table, ident,
                                                       table.resource.to_wire(changes)))

    def remove(self, datatype: str, ident: str) -> None:
        self.state.delete(self.state.table(datatype), ident)

    def records(self, datatype: str) -> list[dict[str, Any]]:
        """Live records in talk's property names, each with its ``id``."""
        table = self.state.table(datatype)
        with self.state.lock:
            rows = [r for r in table.rows.values() if self.state._live(table, r)]
            return [self._plain(datatype, r) for r in rows]

    def _plain(self, datatype: str, row: dict[str, Any]) -> dict[str, Any]:
        r = self.state.table(datatype).resource
        return {"id": row[r.id_field], **r.from_wire(row)}

    # -- serving ---------------------------------------------------------------------

    def authorised(self, headers: Any) -> bool:
        if self.api_key is not None and headers.get("X-API-Key") == self.api_key:
            return True
        if self.token is not None and headers.get("Authorization") == f"Bearer {self.token}":
            return True
        return self.api_key is None and self.token is None

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.state.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def answer(self, method: str, path: str, query: dict[str, str], body: Any,
               key: str | None) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if not parts or len(parts) > 2:
            raise ApiError(404, "not_found", f"no resource at {path}")
        table = self.state.table_at(parts[0])
        if len(parts) == 1:
            if method == "GET":
                return 200, self._list(table, query)
            if method == "POST":
                row, new = self.state.create(table, body, key)
                return (201 if new else 200), row
            raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}")
        ident = parts[1]
        if method == "GET":
            return 200, self.state.get(table, ident)
        if method == "PATCH":
            return 200, self.state.update(table, ident, body)
        if method == "DELETE":
            self.state.delete(table, ident)
            return 204, None
        raise ApiError(405, "method_not_allowed", f"{method} is not allowed on {path}")

    def _list(self, table: Any, query: dict[str, str]) -> dict[str, Any]:
        try:
            limit = int(query.get("limit", "100"))
            offset = int(query.get("offset", "0"))
        except ValueError:
            raise ApiError(400, "invalid_query", "limit and offset must be integers") from None
        if not 1 <= limit <= 1000 or offset < 0:
            raise ApiError(400, "invalid_query", "limit must be 1 to 1000, offset 0 or more")
        rows, more = self.state.page(table, since=query.get("since"), after=query.get("after"),
                                     limit=limit, offset=offset,
                                     key=query.get("idempotency_key"))
        return {"data": rows, "has_more": more}


def _handler(emulator: CustomEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests and ``talk emulate`` print what matters themselves."""

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_text(self, status: int, text: str, content_type: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            emulator.requests.append((method, parts.path))
            kind = emulator.random_faults.draw()
            if kind == DROPPED:
                drop(self)
                return
            if kind == RATE_LIMITED:
                self._send(429, ApiError(429, "rate_limited", "too many requests").body,
                           {"Retry-After": emulator.random_faults.retry_after})
                return
            if kind == SERVER_ERROR:
                self._send(500, ApiError(500, "internal", "an internal error occurred").body)
                return
            if kind is not None:  # a timeout: the answer comes after the client gave up
                with emulator.random_faults.late():
                    self._answer(method, parts.path, query, raw)
                return
            self._answer(method, parts.path, query, raw)

        def _answer(self, method: str, path: str, query: dict[str, str], raw: bytes) -> None:
            # credentials first, on every path: a fault is no way around them
            if not emulator.authorised(self.headers):
                self._send(401, ApiError(401, "unauthorized", "missing or wrong API key or "
                                         "token").body)
                return
            fault = emulator.take_fault(method, path)
            if fault is not None and fault.content_type is not None:
                self._send_text(fault.status, str(fault.body or ""), fault.content_type)
                return
            if fault is not None:
                self._send(fault.status, fault.body, fault.headers)
                return
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._send(400, ApiError(400, "invalid_json", "the body is not JSON").body)
                return
            try:
                status, answer = emulator.answer(method, path, query, body,
                                                 self.headers.get("Idempotency-Key"))
            except ApiError as exc:
                self._send(exc.status, exc.body)
                return
            self._send(status, answer)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


#: The key a foreground emulator demands unless told another: public, for trying talk out.
DEFAULT_API_KEY = "test_key"


def serve(profile: str, *, port: int = 0, seed: bool = False,
          api_key: str = DEFAULT_API_KEY) -> None:
    """Run an emulator in the foreground until Ctrl-C; it demands ``api_key`` (X-API-Key)."""
    emulator = CustomEmulator(profile, port=port, api_key=api_key)
    if seed:
        emulator.seed()
    emulator.start()
    shown = repr(api_key) if api_key == DEFAULT_API_KEY else "as given"
    print(f"{emulator.profile.label} emulator on {emulator.url} (API key {shown}; "
          "Ctrl-C stops it)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m talk_custom.emulator",
                                     description="Serve the custom REST contract locally.")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="customcrm")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--seed", action="store_true", help="start with sample records")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY,
                        help="the key clients must send as X-API-Key")
    args = parser.parse_args(argv)
    serve(args.profile, port=args.port, seed=args.seed, api_key=args.api_key)

