"""Serving an emulator in the background: the life cycle every connector's emulator shares.

An emulator is a WSGI app served by werkzeug's threaded server on 127.0.0.1
(``serve_wsgi``); ``Background`` runs that server from a daemon thread until
``stop()``.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import attrs
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from talk_core.emulation.tap import Tap

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger("talk_core.emulation")


class QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its access log, and without Nagle's delay.

    Tests and ``talk emulate`` print what matters themselves; headers and body
    are two writes, and without ``disable_nagle_algorithm`` Nagle's algorithm
    and the client's delayed ACK hold every answer back for 40 ms.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("emulator %s: " + message, type, *args)


def serve_wsgi(app: WSGIApplication, port: int = 0) -> BaseWSGIServer:
    """A threaded werkzeug server for ``app`` on 127.0.0.1 (``port`` 0: a free one), not started."""
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    return server


class Background:
    """An HTTP server answering from a daemon thread until ``stop()``.

    Tests start emulators by the dozen; a poll interval of 50 ms keeps
    ``stop()`` quick, and daemon threads never keep a finished test run alive.
    ``tap`` is the ``Tap`` the served app shows its requests to (its
    ``TapMiddleware``), kept here so whoever holds the server can reach it.
    """

    def __init__(self, server: BaseWSGIServer, name: str, *, tap: Tap | None = None) -> None:
        self.server = server
        self.tap = tap if tap is not None else Tap()
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
