"""A request budget read from Exact's rate-limit headers, so the connector never earns a 429.

Exact allows 60 calls a minute and 5,000 a day per app and division, and
refuses the rest of the minute once either is crossed. Every answer says
what is left (``X-RateLimit-*`` daily, ``X-RateLimit-Minutely-*``), so the
budget waits for the minute window when it is spent and stops the run
(``BudgetExhausted``) when the day's calls are, before sending a request
that would be refused. With a ``memory`` the day's budget outlives the run:
recalled before the first request, remembered when the connector closes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import requests

from talk_core import interrupt, notices
from talk_core.errors import BudgetExhausted

log = logging.getLogger("talk.exactonline")


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class Memory(Protocol):
    """Where the day's budget is kept between runs (``budget_memory.BudgetMemory``)."""

    def load(self) -> tuple[int, float] | None: ...

    def save(self, remaining: int, reset: float) -> None: ...


class RateBudget:
    """Implements ``talk_core.http.Budget`` from the headers of the last answer.

    ``reserve`` keeps a few daily calls back (for a refresh after a 401 or a
    re-read that completes a write). Resets are epoch milliseconds.
    """

    def __init__(self, *, reserve: int = 0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = interrupt.sleep,
                 memory: Memory | None = None) -> None:
        self.reserve = reserve
        self.clock = clock
        self.sleep = sleep
        self.memory = memory
        self._recalled = memory is None
        self.daily_remaining: int | None = None
        self.daily_reset: float | None = None
        self.minutely_remaining: int | None = None
        self.minutely_reset: float | None = None
        self.waited = 0.0

    def recall(self) -> None:
        """Take up the day's budget where an earlier run left it, unless it has reset since."""
        self._recalled = True
        seen = self.memory.load() if self.memory is not None else None
        if seen is None or self.daily_remaining is not None:
            return
        remaining, reset = seen
        if self.clock() < reset:
            self.daily_remaining, self.daily_reset = remaining, reset
            log.info("Exact Online daily budget from the last run: %d calls left", remaining)

    def remember(self) -> None:
        """Keep the day's budget for the next run, once Exact has told what it is."""
        if self.memory is not None and self.daily_remaining is not None \
                and self.daily_reset is not None:
            self.memory.save(max(self.daily_remaining, 0), self.daily_reset)

    def before_request(self) -> None:
        if not self._recalled:
            self.recall()
        now = self.clock()
        if self.daily_remaining is not None and self.daily_remaining <= self.reserve:
            if self.daily_reset is None or now < self.daily_reset:
                when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.daily_reset or now))
                raise BudgetExhausted(
                    f"Exact Online's daily request budget is spent (resets {when}); "
                    "progress is kept and the next run carries on")
            self.daily_remaining = None
        if self.minutely_remaining is not None and self.minutely_remaining <= 0:
            reset = self.minutely_reset if self.minutely_reset is not None else now + 60
            if now < reset:
                pause = reset - now + 0.05
                log.info("Exact Online minute budget spent; waiting %.1fs", pause)
                notices.report("wait", system="Exact Online", reason="minute budget spent",
                               seconds=pause)
                try:
                    self.sleep(pause)
                finally:
                    notices.report("waited", system="Exact Online", seconds=pause)
                self.waited += pause
            self.minutely_remaining = None
        # count the request now: headers may be missing from the answer
        if self.minutely_remaining is not None:
            self.minutely_remaining -= 1
        if self.daily_remaining is not None:
            self.daily_remaining -= 1

    def after_response(self, response: requests.Response) -> None:
        headers = response.headers
        minutely = _int(headers.get("X-RateLimit-Minutely-Remaining"))
        if minutely is not None:
            self.minutely_remaining = minutely
            reset = _int(headers.get("X-RateLimit-Minutely-Reset"))
            self.minutely_reset = reset / 1000 if reset is not None else None
        daily = _int(headers.get("X-RateLimit-Remaining"))
        if daily is not None:
            self.daily_remaining = daily
            reset = _int(headers.get("X-RateLimit-Reset"))
            self.daily_reset = reset / 1000 if reset is not None else None
        if response.status_code == 429 and minutely is None and daily is None:
            # refused without saying why: sit out the rest of the minute
            self.minutely_remaining = 0
            self.minutely_reset = self.clock() + 60
