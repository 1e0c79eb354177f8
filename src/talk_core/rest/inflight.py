"""A request in flight that a stop request can abandon.

A blocked socket read does not notice Ctrl-C: the signal handler only sets
the stop flag, and the read goes on until the server answers or the
timeout passes, which keeps ``talk`` running long after it was asked to
stop. So each request runs on a daemon thread while the caller polls the
stop flag; when a stop is asked for, the caller stops waiting and raises
``AbandonedInFlight``: at once for a read, and for a write after
``WRITE_GRACE`` more seconds in which its answer may still come (a write
whose answer came needs no recovery; the promise is a stop within 2 s).
The thread is left to finish or time out on its own (a daemon: it never
holds the process open). A read abandoned so is harmless; a write may
have been made, which the error says, so that a create's journal entry
is kept for the next run's recovery exactly as after a connection lost
mid-write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from talk_core import interrupt
from talk_core.errors import AbandonedInFlight

T = TypeVar("T")

#: Seconds between two looks at the stop flag while a request is in flight.
POLL = 0.1
#: Seconds a write in flight is still waited for after a stop request.
WRITE_GRACE = 0.75


class _Outcome(Generic[T]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def run_interruptibly(call: Callable[[], T], what: str, *, write: bool,
                      poll: float = POLL, grace: float = WRITE_GRACE) -> T:
    """``call()``'s answer, or ``AbandonedInFlight`` soon after a stop request.

    ``what`` names the request for the message; ``write`` says whether it
    may change the system (then its outcome is unknown once abandoned, and
    it gets ``grace`` seconds more to answer). A read is abandoned within
    ``poll`` seconds.
    """
    interrupt.check()
    outcome: _Outcome[T] = _Outcome()

    def work() -> None:
        try:
            outcome.value = call()
        except BaseException as exc:  # handed to the caller, who raises it
            outcome.error = exc
        finally:
            outcome.done.set()

    worker = threading.Thread(target=work, name=f"talk request {what}", daemon=True)
    worker.start()
    stop_seen: float | None = None
    while not outcome.done.wait(poll):
        if not interrupt.requested():
            continue
        if write:
            now = time.monotonic()
            stop_seen = now if stop_seen is None else stop_seen
            if now - stop_seen < grace:
                continue
        if write:
            raise AbandonedInFlight(
                f"stopped on request with {what} in flight: whether the system made "
                "the change is not known; the next run finds out before it writes "
                "again", may_have_been_made=True)
        raise AbandonedInFlight(f"stopped on request with {what} in flight (a read, "
                                "safe to abandon); everything done so far is kept",
                                may_have_been_made=False)
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]
