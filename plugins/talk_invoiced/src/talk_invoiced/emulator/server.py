"""The emulated account over HTTP: routing, paging headers, idempotency and faults."""

from __future__ import annotations

import base64
import json
import random
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs

from talk_core.emulation_faults import DROPPED, RATE_LIMITED, SERVER_ERROR, RandomFaults, drop
from talk_invoiced.emulator.state import Account, ApiError

MAX_PAGE = 100


@attrs.define
class Faults:
    """Failure rates (0 to 1) applied to each request, to test retries and timeouts."""

    rate_limited: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    dropped: float = 0.0
    slow_seconds: float = 0.5
    seed: int | None = None
    #: path -> (status, content type, body): the next request there gets that page as is,
    #: e.g. a proxy's HTML error page where JSON was expected
    pages: dict[str, tuple[int, str, str]] = attrs.field(factory=dict)
    _rng: random.Random = attrs.field(init=False, factory=random.Random)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def clear(self) -> None:
        self.rate_limited = self.server_error = self.slow = self.dropped = 0.0


class Dropped(Exception):
    """Close the connection without an answer."""


def _route(account: Account, method: str, parts: list[str], query: dict[str, str],
           body: Any) -> tuple[int, Any, list[dict[str, Any]] | None]:
    """(status, body, rows): ``rows`` set means a listing to page."""
    status, answer, rows = _dispatch(account, method, parts, query, body)
    if rows is not None and parts:
        rows = account.expanded(parts[-1], rows, query)
    elif isinstance(answer, dict) and parts and method == "GET" and query.get("expand"):
        answer = account.expanded(parts[0], [answer], query)[0]
    return status, answer, rows


def _dispatch(account: Account, method: str, parts: list[str], query: dict[str, str],
              body: Any) -> tuple[int, Any, list[dict[str, Any]] | None]:
    a = account
    if method in ("POST", "PATCH") and not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object")
    match (method, parts):
        case ("GET", ["customers"]):
            return 200, None, a.listing("customers", query)
        case ("POST", ["customers"]):
            return 201, a.create_customer(body), None
        case ("GET", ["customers", ident]):
            return 200, a.customer(ident), None
        case ("PATCH", ["customers", ident]):
            return 200, a.update_customer(ident, body), None
        case ("DELETE", ["customers", ident]):
            a.delete_customer(ident)
            return 204, None, None
        case ("GET", ["customers", cust, "contacts"]):
            return 200, None, a.listing("contacts", query, a.contacts_of(cust))
        case ("POST", ["customers", cust, "contacts"]):
            return 201, a.create_contact(cust, body), None
        case ("GET", ["customers", cust, "contacts", ident]):
            return 200, a.contact(cust, ident), None
        case ("PATCH", ["customers", cust, "contacts", ident]):
            return 200, a.update_contact(cust, ident, body), None
        case ("DELETE", ["customers", cust, "contacts", ident]):
            a.delete_contact(cust, ident)
            return 204, None, None
        case ("GET", ["invoices"]):
            return 200, None, a.listing("invoices", query)
        case ("POST", ["invoices"]):
            return 201, a.create_invoice(body), None
        case ("GET", ["invoices", ident]):
            return 200, a.invoice(ident), None
        case ("PATCH", ["invoices", ident]):
            return 200, a.update_invoice(ident, body), None
        case ("POST", ["invoices", ident, "void"]):
            return 200, a.void_invoice(ident), None
        case ("DELETE", ["invoices", ident]):
            a.delete_invoice(ident)
            return 204, None, None
        case ("GET", ["items"]):
            return 200, None, a.listing("items", query)
        case ("POST", ["items"]):
            return 201, a.create_item(body), None
        case ("GET", ["items", ident]):
            return 200, a.item(ident), None
        case ("PATCH", ["items", ident]):
            return 200, a.update_item(ident, body), None
        case ("DELETE", ["items", ident]):
            a.delete_item(ident)
            return 204, None, None
        case ("GET", ["events"]):
            return 200, None, a.listing("events", query, a.events)
    raise ApiError(404, f"Unrecognized request URL ({method}: /{'/'.join(parts)})")


def _page(rows: list[dict[str, Any]], query: dict[str, str], base: str, path: str
          ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page of a listing with Invoiced's ``Link`` and ``X-Total-Count`` headers."""
    try:
        per_page = max(1, min(int(query.get("per_page", MAX_PAGE)), MAX_PAGE))
        page = max(1, int(query.get("page", 1)))
    except ValueError:
        raise ApiError(400, "page and per_page must be integers", "page") from None
    last = max(1, -(-len(rows) // per_page))
    keep = {k: v for k, v in query.items() if k not in ("page", "per_page")}

    def link(n: int) -> str:
        return f"{base}{path}?{urlencode({**keep, 'per_page': per_page, 'page': n})}"

    rels = [("self", page), ("first", 1)]
    if page > 1:
        rels.append(("previous", page - 1))
    if page < last:
        rels.append(("next", page + 1))
    rels.append(("last", last))
    headers = {
        "X-Total-Count": str(len(rows)),
        "Link": ", ".join(f'<{link(n)}>; rel="{rel}"' for rel, n in rels),
    }
    return rows[(page - 1) * per_page: page * per_page], headers


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and ``talk emulate`` read their own output."""

    def _handle(self, method: str) -> None:
        srv = self.server
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        kind = srv.random_faults.draw()
        if kind == DROPPED:
            drop(self)
            return
        if kind == RATE_LIMITED:
            self._send(429, {"type": "rate_limit_error", "message": "Too many requests"},
                       {"Retry-After": srv.random_faults.retry_after})
            return
        if kind == SERVER_ERROR:
            self._send(500, {"type": "api", "message": "An internal error occurred"})
            return
        if kind is not None:  # a timeout: the answer comes after the client gave up
            with srv.random_faults.late():
                self._answer(method, raw)
            return
        self._answer(method, raw)

    def _answer(self, method: str, raw: bytes) -> None:
        srv = self.server
        faults = srv.faults
        # credentials first, on every path: a fault or a held page is no way around them
        if not self._authorised():
            self._send(401, {"type": "invalid_request", "message": "Invalid API key"})
            return
        if faults.roll(faults.dropped):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if faults.roll(faults.slow):
            time.sleep(faults.slow_seconds)
        if faults.roll(faults.rate_limited):
            self._send(429, {"type": "rate_limit_error", "message": "Too many requests"})
            return
        if faults.roll(faults.server_error):
            self._send(500, {"type": "api", "message": "An internal error occurred"})
            return
        page = faults.pages.pop(urlsplit(self.path).path, None)
        if page is not None:
            self._send_page(*page)
            return
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        parts = [p for p in split.path.split("/") if p]
        try:
            body = json.loads(raw) if raw else ({} if method in ("POST", "PATCH") else None)
        except ValueError:
            self._send(400, {"type": "invalid_request", "message": "Invalid JSON body"})
            return
        key = self.headers.get("Idempotency-Key")
        with srv.account.lock:
            if key and method in ("POST", "PATCH") and key in srv.account.idempotent:
                status, answer = srv.account.idempotent[key]
                self._send(status, answer)
                return
            try:
                status, answer, rows = _route(srv.account, method, parts, query, body)
                headers: dict[str, str] = {}
                if rows is not None:
                    answer, headers = _page(rows, query, srv.url, split.path)
                answer = json.loads(json.dumps(answer))  # a snapshot, not live state
            except ApiError as exc:
                status, answer, headers = exc.status, exc.body(), {}
            if key and method in ("POST", "PATCH") and status < 500:
                srv.account.idempotent[key] = (status, answer)
        self._send(status, answer, headers)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            return False
        return user == self.server.account.api_key

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if status == 204 else json.dumps(body).encode()
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_page(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")  # no endpoint takes PUT: a JSON 404, as for any unknown route


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, account: Account, faults: Faults,
                 random_faults: RandomFaults | None = None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.account = account
        self.faults = faults
        self.random_faults = random_faults or RandomFaults()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

