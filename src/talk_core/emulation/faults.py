"""Faults an emulator mixes into its answers, so a sync can be shown to survive them.

Two kinds: rules a test sets (``Fault``: the next N matching requests get
this status, this body, or a dropped connection), and random faults at a
rate (``RandomFaults``), served by ``FaultMiddleware`` in front of the API.

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
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import attrs
from werkzeug.wrappers import Response

from talk_core.emulation.replies import ApiError, json_reply, text_reply
from talk_core.emulation.tap import hang_up

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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


@attrs.define
class Fault:
    """The next ``times`` matching requests get ``status`` and ``body`` instead of service.

    ``path`` matches as a prefix of the request's path (slashes at either end
    ignored), ``method`` exactly; ``None`` matches any. ``drop``: close the
    connection without an answer instead. ``content_type`` set: ``body`` is
    text sent as is with that type (an HTML error page), not JSON. A test may
    change ``body`` while the rule waits (to quote what it saw in a hook).
    """

    status: int = 503
    times: int = 1
    method: str | None = None
    path: str | None = None
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    content_type: str | None = None
    drop: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.strip("/").startswith(self.path.strip("/")))

    def reply(self) -> Response:
        if self.content_type is not None:
            return text_reply(str(self.body or ""), self.status, self.content_type)
        return json_reply(self.body, self.status, self.headers)


def take_fault(faults: list[Fault], lock: Any, method: str, path: str) -> Fault | None:
    """The first rule with requests left that matches, one of its requests used up."""
    with lock:
        for fault in faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                return fault
    return None


ErrorReply = Callable[[ApiError], Response]


class FaultMiddleware:
    """Serves ``faults``' random draw in front of ``app``: a drop, a 429, a 500 or a late answer.

    ``error_reply`` renders the 429 and the 500 in the emulated API's error shape.
    """

    def __init__(self, app: WSGIApplication, faults: RandomFaults, error_reply: ErrorReply
                 ) -> None:
        self.app = app
        self.faults = faults
        self.error_reply = error_reply

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        kind = self.faults.draw()
        if kind == DROPPED:
            raise hang_up(environ)
        if kind == RATE_LIMITED:
            error = ApiError(429, "rate_limited", "too many requests",
                             headers={"Retry-After": self.faults.retry_after})
            return self.error_reply(error)(environ, start_response)
        if kind == SERVER_ERROR:
            error = ApiError(500, "internal", "an internal error occurred")
            return self.error_reply(error)(environ, start_response)
        if kind == TIMEOUT:  # the answer comes after the client gave up
            answer: list[bytes] = []
            with self.faults.late():
                answer = list(self.app(environ, start_response))
            return answer
        return self.app(environ, start_response)
