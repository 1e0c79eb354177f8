"""A stateful stand-in for the Invoiced API on 127.0.0.1, for tests and ``talk emulate``.

It speaks the endpoints the connector uses with Invoiced's status codes,
error bodies, ``Link`` and ``X-Total-Count`` headers, ``updated_after``,
``filter[...]``, ``metadata[...]``, ``sort``, ``expand``, the events of
``related_to`` an object and idempotency keys (see the plugin's README for
what it does not emulate). It is served by the emulator base
(``talk_core.emulation``) and can inject 429s, 500s, slow answers and
dropped connections at given rates (``faults`` per kind, or
``random_faults``: one seeded rate over all four kinds), and the base's
``fail()`` rules.
"""

from __future__ import annotations

from talk_core.emulation import serve_until_interrupted
from talk_invoiced.emulator.server import Faults, InvoicedEmulator
from talk_invoiced.emulator.state import Account, ApiError

__all__ = ["Account", "ApiError", "Faults", "InvoicedEmulator", "serve"]


def serve(port: int, seed: bool = False, api_key: str = "test_key") -> None:
    """Serve until interrupted: what ``talk emulate invoiced`` runs."""
    emulator = InvoicedEmulator(port=port, api_key=api_key)
    if seed:
        emulator.seed()
    emulator.start()
    print(f"Invoiced emulator on {emulator.url} (API key {api_key!r}); Ctrl-C stops it",
          flush=True)
    try:
        serve_until_interrupted()
    finally:
        emulator.stop()
