"""A stateful stand-in for the Invoiced API on 127.0.0.1, for tests and ``talk emulate``.

It speaks the endpoints the connector uses with Invoiced's status codes,
error bodies, ``Link`` and ``X-Total-Count`` headers, ``updated_after``,
``filter[...]``, ``metadata[...]``, ``sort``, ``expand``, the events of ``related_to`` an object
and idempotency keys, and can inject
429s, 500s, slow answers and dropped connections at given rates (``faults``
per kind, or ``random_faults``: one seeded rate over all four kinds).
"""

from __future__ import annotations

from typing import Any

from talk_core.emulation import Background, Tap
from talk_core.emulation_faults import RandomFaults
from talk_invoiced.emulator.sample import seed as seed_sample
from talk_invoiced.emulator.server import EmulatorServer, Faults
from talk_invoiced.emulator.state import Account, ApiError

__all__ = ["Account", "ApiError", "Faults", "InvoicedEmulator", "serve"]


class InvoicedEmulator:
    """One emulated account; ``start()`` serves it on a free loopback port."""

    def __init__(self, *, port: int = 0, api_key: str = "test_key",
                 faults: Faults | None = None, random_faults: RandomFaults | None = None
                 ) -> None:
        self.port = port
        self.account = Account(api_key=api_key)
        self.faults = faults or Faults()
        self.random_faults = random_faults or RandomFaults()
        self.tap = Tap()  # tests hang a hook on it to see every request
        self._running: Background | None = None

    @property
    def api_key(self) -> str:
        return self.account.api_key

    @property
    def url(self) -> str:
        if self._running is None:
            raise RuntimeError("the emulator is not started")
        return self._running.url

    def start(self) -> InvoicedEmulator:
        self._running = Background(EmulatorServer(self.port, self.account, self.faults,
                                                  self.random_faults),
                                   "invoiced-emulator", tap=self.tap)
        return self

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None

    def seed(self) -> InvoicedEmulator:
        seed_sample(self.account)
        return self

    def __enter__(self) -> InvoicedEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(port: int, seed: bool = False, api_key: str = "test_key") -> None:
    """Serve until interrupted: what ``talk emulate invoiced`` runs."""
    server = EmulatorServer(port, Account(api_key=api_key), Faults())
    if seed:
        seed_sample(server.account)
    print(f"Invoiced emulator on {server.url} (API key {api_key!r}); Ctrl-C stops it",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
