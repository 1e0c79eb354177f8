"""Serving an emulator in the background: the life cycle every connector's emulator shares.

Every emulator served this way can also be *tapped*: a test hangs a hook on
its ``Tap`` and sees each request twice, when it arrives and when the
emulator has applied it and is about to answer. A hook that raises
``Hangup`` closes the connection without an answer, which is how a test
plays a client that dies at an exact point (a record created on the server
whose creator never hears back) without any failpoint in the client.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, Literal

import attrs

Stage = Literal["received", "applied"]


class Hangup(Exception):
    """Raised by a request hook: close the connection and answer nothing."""


@attrs.frozen
class TappedRequest:
    """One request as a hook sees it; ``number`` counts the emulator's requests from 1."""

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


def tapped(handler: type[BaseHTTPRequestHandler], tap: Tap) -> type[BaseHTTPRequestHandler]:
    """``handler`` with ``tap`` shown every request it parses and every answer it starts."""

    class Tapped(handler):  # type: ignore[valid-type, misc]
        # headers and body are two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back for 40 ms
        disable_nagle_algorithm = True
        _tap_number = 0

        def parse_request(self) -> bool:
            if not super().parse_request():
                return False
            self._tap_number = tap.received(self.command, self.path)
            return True

        def send_response(self, code: int, message: str | None = None) -> None:
            if self._tap_number:
                number, self._tap_number = self._tap_number, 0
                tap.applied(self.command, self.path, number)
            super().send_response(code, message)

        def handle_one_request(self) -> None:
            self._tap_number = 0
            try:
                super().handle_one_request()
            except Hangup:
                self.close_connection = True

    Tapped.__name__ = Tapped.__qualname__ = f"Tapped{handler.__name__}"
    return Tapped


class Background:
    """An HTTP server answering from a daemon thread until ``stop()``.

    Tests start emulators by the dozen; a poll interval of 50 ms keeps
    ``stop()`` quick, and daemon threads never keep a finished test run alive.
    Every request is shown to ``tap`` (see ``Tap``), and answers go out without
    Nagle's delay.
    """

    def __init__(self, server: ThreadingHTTPServer, name: str, *, tap: Tap | None = None
                 ) -> None:
        self.server = server
        server.daemon_threads = True
        self.tap = tap if tap is not None else Tap()
        handler: Any = server.RequestHandlerClass
        server.RequestHandlerClass = tapped(handler, self.tap)
        self.thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                                       name=name, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@attrs.frozen
class Served:
    """An emulator serving in the background, as ``talk demo`` and ``talk emulate`` start one.

    ``options()`` answers the options of a system instance that talks to it,
    secrets included. Each call may mint fresh credentials, because some
    systems use a credential once (Exact Online's refresh tokens).
    """

    url: str
    options: Callable[[], dict[str, Any]]
    stop: Callable[[], None]
    #: ``fill(records, seed)`` adds generated records (``talk_core.emulation_fill``)
    #: and answers how many of each of the system's datatypes it made
    fill: Callable[[int, int], dict[str, int]] | None = None
    #: puts the emulator's small sample of realistic records in (``talk emulate --seed``)
    seed: Callable[[], object] | None = None


def serve_until_interrupted() -> None:
    """Wait for Ctrl-C (or a TERM signal) while emulators answer from their own threads."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
