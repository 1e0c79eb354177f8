"""Random faults an emulator mixes into its answers, so a sync can be shown to survive them.

Real APIs answer some requests with a 429, a 500, an answer that comes too
late or a connection closed without a word. One seeded roller per
emulator decides which requests get which, at one overall rate, so a run
over faulty emulators is repeatable and can be compared with a clean one.
A late answer is served after ``delay`` seconds, as a slow server would:
the client has given up by then, but the request still takes effect,
which is the case retries and idempotency keys exist for.
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler

import attrs

RATE_LIMITED, SERVER_ERROR, TIMEOUT, DROPPED = "rate_limited", "server_error", "timeout", "dropped"
KINDS = (RATE_LIMITED, SERVER_ERROR, TIMEOUT, DROPPED)


@attrs.define
class RandomFaults:
    """At ``rate`` (0 to 1), a request gets one of ``kinds`` instead of a plain answer.

    ``served`` counts every request the emulator saw and ``injected`` the
    faults given, per kind, so a test can bound the requests a client made.
    """

    rate: float = 0.0
    seed: int | None = None
    kinds: tuple[str, ...] = KINDS
    delay: float = 0.5
    retry_after: str = "1"
    served: int = 0
    injected: Counter[str] = attrs.field(factory=Counter)
    _rng: random.Random = attrs.field(init=False, factory=random.Random)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock)
    _late: int = attrs.field(init=False, default=0)

    def __attrs_post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown or not 0 <= self.rate <= 1:
            raise ValueError(f"faults: rate must be 0 to 1 and kinds among {', '.join(KINDS)}; "
                             f"got rate {self.rate}, kinds {', '.join(unknown) or '-'}")
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        """Count one request; answer the fault it gets, or None for a plain answer."""
        with self._lock:
            self.served += 1
            if self.rate <= 0 or self._rng.random() >= self.rate:
                return None
            kind = self._rng.choice(self.kinds)
            self.injected[kind] += 1
            return kind

    @contextmanager
    def late(self) -> Iterator[None]:
        """Hold an answer back for ``delay`` seconds; ``settle()`` waits for it.

        The request still takes effect; only its answer is lost.
        """
        with self._lock:
            self._late += 1
        try:
            time.sleep(self.delay)
            # the client gave up long ago: the answer has nowhere to go
            with suppress(BrokenPipeError, ConnectionResetError):
                yield
        finally:
            with self._lock:
                self._late -= 1

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every late answer has taken effect (before a test edits the data)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._late == 0:
                    return
            time.sleep(0.01)
        raise TimeoutError(f"late answers still pending after {timeout}s")

    def clear(self) -> None:
        self.rate = 0.0


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer, as a proxy or a crashed worker does."""
    handler.close_connection = True
    with suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
