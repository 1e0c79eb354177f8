"""Serving an emulator in the background: the life cycle every connector's emulator shares."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class Background:
    """An HTTP server answering from a daemon thread until ``stop()``.

    Tests start emulators by the dozen; a poll interval of 50 ms keeps
    ``stop()`` quick, and daemon threads never keep a finished test run alive.
    """

    def __init__(self, server: ThreadingHTTPServer, name: str) -> None:
        self.server = server
        server.daemon_threads = True
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
