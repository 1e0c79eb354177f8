"""When to send a request again, and how long to wait first (on tenacity).

One attempt either answers, raises the error that ends the request, or
raises ``Again`` with what the wait must respect: the server's
``Retry-After`` (seconds or an HTTP date) and, for failures that are the
system's, the time left of the request's patience. Tenacity runs the
loop; its sleep is ``talk_core.interrupt.sleep``, so a stop request ends
any wait at once, and the request budget is asked before every attempt by
the client, not here.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import tenacity

log = logging.getLogger("talk.http")

#: The longest a ``Retry-After`` is honoured, in multiples of the client's ``max_backoff``.
RETRY_AFTER_CAP = 4


def retry_after_seconds(value: str | None, *, now: Callable[[], float] = time.time
                        ) -> float | None:
    """Seconds a ``Retry-After`` asks for: ``"120"``, ``"1.5"`` or an HTTP date; None if neither.

    A date in the past asks for no wait at all.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds else None  # NaN is no answer
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now())


class Again(Exception):
    """This attempt failed in a way that may pass: wait, then try again."""

    def __init__(self, what: str, *, retry_after: str | None = None,
                 started: float | None = None, at_once: bool = False) -> None:
        super().__init__(what)
        self.what = what
        #: no wait: what failed was fixed before trying again (credentials renewed)
        self.at_once = at_once
        self.retry_after = retry_after
        #: when the request began, if its patience bounds the wait (None: it does not)
        self.started = started


@attrs.frozen
class Backoff:
    """Exponential backoff with jitter, bounded by ``Retry-After`` and the patience."""

    base: float = 0.5
    cap: float = 30.0
    patience: Callable[[], float] = lambda: 30.0

    def delay(self, attempt: int, again: Again) -> float:
        if again.at_once:
            return 0.0
        delay = min(self.cap, self.base * 2 ** (attempt - 1))
        delay = delay / 2 + random.uniform(0, delay / 2)
        asked = retry_after_seconds(again.retry_after)
        if asked is not None:
            return max(delay, min(asked, self.cap * RETRY_AFTER_CAP))
        if again.started is not None:  # never wait past the patience: then it is given up
            left = self.patience() - (time.monotonic() - again.started)
            delay = max(0.0, min(delay, left))
        return delay

    def __call__(self, state: tenacity.RetryCallState) -> float:
        failed = state.outcome.exception() if state.outcome is not None else None
        if not isinstance(failed, Again):  # pragma: no cover - only Again is retried
            return 0.0
        return self.delay(state.attempt_number, failed)


def attempts(backoff: Backoff, sleep: Callable[[float], None], name: str
             ) -> Iterator[Any]:
    """Tenacity's attempts: retried while one raises ``Again``; every other error ends them.

    The attempt itself decides when to give up (it knows the method, the
    status and whether the request left the machine), so no stop
    condition is set here.
    """

    def announce(state: tenacity.RetryCallState) -> None:
        failed = state.outcome.exception() if state.outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        log.info("%s %s; retrying in %.1fs", name, failed, seconds)

    return iter(tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(Again),
        wait=backoff,
        sleep=sleep,
        before_sleep=announce,
        reraise=True,
    ))
