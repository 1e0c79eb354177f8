"""A small hostile API on 127.0.0.1: answers that never end, never stop growing or lie.

One server answers every path the same way, shaped for the connector it
plays (``flavour``: Invoiced's list with a ``Link`` header, Exact's OData
envelope, the custom REST contract's ``{"data", "has_more"}``), misbehaving
as ``mode`` says. Exact's token endpoint answers a token, so the OAuth
client gets as far as the hostile listing. Every request it receives is
recorded (method, path, headers), so a second one can stand as the
"foreign host" a credential must never reach.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: What the server answers: a link to the same page again; a link or cursor that always
#: moves on; a body of ``huge_bytes`` streamed lazily; JSON nested 100,000 deep; a body
#: that trickles a byte every ``trickle_every`` seconds; a next link to ``foreign``.
MODES = ("same_next", "moving", "huge", "deep", "trickle", "foreign")


class HostileServer:
    def __init__(self, mode: str = "same_next", flavour: str = "invoiced", *,
                 foreign: str = "", huge_bytes: int = 300 * 1024 * 1024,
                 trickle_every: float = 0.2) -> None:
        assert mode in MODES
        self.mode = mode
        self.flavour = flavour
        self.foreign = foreign
        self.huge_bytes = huge_bytes
        self.trickle_every = trickle_every
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self.sent_bytes = 0
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._record(self)
                server._answer(self)

            def do_POST(self) -> None:
                server._record(self)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path.endswith("/oauth2/token"):
                    server._send_json(self, {"access_token": "access-token-4f9a1c",
                                             "refresh_token": "refresh-token-8d2e0b",
                                             "expires_in": 600, "token_type": "bearer"})
                    return
                server._answer(self)

            do_DELETE = do_GET
            do_PATCH = do_POST
            do_PUT = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what is received -------------------------------------------------------------

    def _record(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.received.append((handler.command, handler.path, dict(handler.headers)))

    def carried(self, *secrets: str) -> list[str]:
        """The requests received that carry any of ``secrets`` (in any header or path)."""
        found = []
        for method, path, headers in self.received:
            text = path + " " + " ".join(f"{k}: {v}" for k, v in headers.items())
            if any(secret in text for secret in secrets):
                found.append(f"{method} {path}")
        return found

    # -- what is answered ---------------------------------------------------------------

    def _send_json(self, handler: BaseHTTPRequestHandler, body: Any,
                   headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        if self.mode == "huge":
            self._huge(handler)
        elif self.mode == "deep":
            depth = 100_000
            data = b"[" * depth + b"]" * depth
            if self.flavour == "exact":
                data = b'{"d": {"results": ' + data + b"}}"
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        elif self.mode == "trickle":
            self._trickle(handler)
        else:
            self._page(handler)

    def _next_link(self, handler: BaseHTTPRequestHandler, number: int) -> str:
        if self.mode == "foreign":
            return self.foreign
        path = handler.path
        if self.mode == "moving":
            path = path.split("&page=")[0] + ("&" if "?" in path else "?") + f"page={number}"
            path = path.replace("?&", "?")
        return self.url + path

    def _page(self, handler: BaseHTTPRequestHandler) -> None:
        number = next(self._counter)
        link = self._next_link(handler, number)
        if self.flavour == "invoiced":
            self._send_json(handler, [], {"Link": f'<{link}>; rel="next"'})
        elif self.flavour == "exact":
            self._send_json(handler, {"d": {"results": [], "__next": link}})
        else:  # the custom REST contract: has_more, and a cursor that moves or does not
            stamp = f"2026-01-01T00:00:{number % 60:02d}Z" if self.mode == "moving" \
                else "2026-01-01T00:00:00Z"
            ident = str(number) if self.mode == "moving" else "1"
            row = {"id": ident, "updated_at": stamp, "name": "Hostile"}
            self._send_json(handler, {"data": [row], "has_more": True})

    def _huge(self, handler: BaseHTTPRequestHandler) -> None:
        """A JSON list of ``huge_bytes``, made as it is sent (never held), without a length."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")
        handler.end_headers()
        chunk = b'{"id": 1, "name": "' + b"x" * 65_000 + b'"},'
        try:
            handler.wfile.write(b"[")
            while self.sent_bytes < self.huge_bytes:
                handler.wfile.write(chunk)
                self.sent_bytes += len(chunk)
            handler.wfile.write(b"{}]")
        except OSError:
            pass  # the client hung up: what it should do
        handler.close_connection = True

    def _trickle(self, handler: BaseHTTPRequestHandler) -> None:
        """A body that comes one byte at a time, each within any read timeout."""
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            handler.wfile.write(b"[")
            handler.wfile.flush()
            for _ in range(99_999):
                time.sleep(self.trickle_every)
                handler.wfile.write(b" ")
                handler.wfile.flush()
        except OSError:
            pass
        handler.close_connection = True
