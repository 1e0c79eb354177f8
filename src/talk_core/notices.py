"""What a connector tells the person watching a run, beside the records themselves.

A rate limit's wait, for instance, is not a failure and not worth a log
line, but a run that sits still for 42 seconds should say why. The engine
listens for the length of a run (``listening``); a connector calls
``report`` wherever it is, without holding the run or its context. With no
listener (a library caller, a test) a report goes nowhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Listener = Callable[..., None]

_listener: ContextVar[Listener | None] = ContextVar("talk_notices", default=None)


def report(event: str, **info: Any) -> None:
    """Tell the run's listener of ``event`` (``wait``: ``system``, ``reason``, ``seconds``)."""
    listener = _listener.get()
    if listener is not None:
        listener(event, **info)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send every ``report`` made inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
