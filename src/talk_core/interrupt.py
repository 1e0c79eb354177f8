"""The process-wide stop request: set by Ctrl-C or SIGTERM, waited on by every pause.

A run stops between records when asked (``RunContext.check_stop``), but a
connector may be sitting in a wait of its own: the backoff between HTTP
retries, or Exact Online's minute window. Those waits sleep on this event
instead of ``time.sleep``, so a stop request ends them at once with
``Interrupted`` rather than after the minute. The CLI's signal handler and
``Sync.request_stop()`` set it; a run clears it when it starts.
"""

from __future__ import annotations

import threading

from talk_core.errors import Interrupted

_STOP = threading.Event()


def request_stop() -> None:
    """Ask whatever runs in this process to stop (safe from a signal handler)."""
    _STOP.set()


def clear() -> None:
    _STOP.clear()


def requested() -> bool:
    return _STOP.is_set()


def check() -> None:
    """Raise ``Interrupted`` if a stop was asked for."""
    if _STOP.is_set():
        raise Interrupted("stopped on request; everything done so far is kept")


def sleep(seconds: float) -> None:
    """``time.sleep`` that a stop request cuts short, raising ``Interrupted``."""
    check()
    if seconds > 0 and _STOP.wait(seconds):
        check()
