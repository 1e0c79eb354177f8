"""A request tap: a test sees each request arrive and be applied, and can hang up on it.

A hook hung on an emulator's ``Tap`` sees every request twice: when it
arrives, and when the emulator has applied it and is about to answer. A
hook that raises ``Hangup`` closes the connection without an answer,
which is how a test plays a client that dies at an exact point (a record
created on the server whose creator never hears back) without any
failpoint in the client.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Stage = Literal["received", "applied"]


class Hangup(Exception):
    """Raised by a request hook: close the connection and answer nothing."""


class HungUp(ConnectionAbortedError):
    """Raised to the WSGI server once the socket is shut: it drops the request quietly."""


@attrs.frozen
class TappedRequest:
    """One request as a hook sees it; ``number`` counts the emulator's requests from 1.

    ``path`` is the request target as sent: the path, percent-encoded, and its query.
    """

    stage: Stage
    method: str
    path: str
    number: int


RequestHook = Callable[[TappedRequest], None]


class Tap:
    """Numbers an emulator's requests and shows each to ``hook``, if one is set.

    ``received``: the request line and headers are in, nothing is applied.
    ``applied``: the emulator has done what the request asks (a create has
    stored its record) and is about to send the status line.
    """

    def __init__(self, hook: RequestHook | None = None) -> None:
        self.hook = hook
        self.count = 0
        self._lock = threading.Lock()

    def received(self, method: str, path: str) -> int:
        with self._lock:
            self.count += 1
            number = self.count
        self._show(TappedRequest("received", method, path, number))
        return number

    def applied(self, method: str, path: str, number: int) -> None:
        self._show(TappedRequest("applied", method, path, number))

    def _show(self, request: TappedRequest) -> None:
        hook = self.hook
        if hook is not None:
            hook(request)


def request_target(environ: WSGIEnvironment) -> str:
    """The path and query as the client sent them (what a hook sees as ``path``)."""
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if target:
        return str(target)
    query = environ.get("QUERY_STRING")
    return str(environ.get("PATH_INFO") or "/") + (f"?{query}" if query else "")


def hang_up(environ: WSGIEnvironment) -> HungUp:
    """Shut the request's socket: the client sees the connection close, no answer.

    Answers the exception to raise to the server (``raise hang_up(environ)``),
    which werkzeug's server takes for a dropped connection and stays quiet.
    """
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return HungUp("the emulator hung up")


class TapMiddleware:
    """WSGI middleware showing ``tap`` each request as it arrives and as its answer starts.

    ``applied`` fires when the application calls ``start_response``, which a
    werkzeug ``Response`` does after the handler has done its work and before
    a byte of the answer is written.
    """

    def __init__(self, app: WSGIApplication, tap: Tap) -> None:
        self.app = app
        self.tap = tap

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        target = request_target(environ)
        try:
            number = self.tap.received(method, target)
            shown = False

            def tapped_start(status: str, headers: list[tuple[str, str]],
                             exc_info: Any = None) -> Any:
                nonlocal shown
                if not shown:
                    shown = True
                    self.tap.applied(method, target, number)
                return start_response(status, headers, exc_info)

            # drawn out here so an ``applied`` hook's Hangup comes before any byte is sent
            return list(self.app(environ, tapped_start))
        except Hangup:
            raise hang_up(environ) from None
