"""The tap and the dropped connection for emulators still written on ``http.server``.

Kept until every emulator runs on the WSGI base (``talk_core.emulation.app``);
``Background`` wraps an ``http.server`` handler with ``tapped`` so such an
emulator's requests reach the same ``Tap`` as a WSGI emulator's.
"""

from __future__ import annotations

import socket
from contextlib import suppress
from http.server import BaseHTTPRequestHandler

from talk_core.emulation.tap import Hangup, Tap


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


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer, as a proxy or a crashed worker does."""
    handler.close_connection = True
    with suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
