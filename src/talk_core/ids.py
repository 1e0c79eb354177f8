"""Global ids: unique, and ordered by creation.

Random ids (uuid4) land anywhere in every index keyed by them (globals,
links, match keys, the inbox), which makes each insert touch a random page:
at a million records that dominated the initial sync. Time-ordered ids
append instead.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from datetime import UTC, datetime, timedelta

_counter = itertools.count()
_tag = ""


def _new_process() -> None:
    """A random tag per process, made again in a forked child (pids repeat)."""
    global _tag
    _tag = f"{secrets.randbits(32):08x}"


_new_process()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_process)


def new_global_id() -> str:
    """32 hex characters: nanoseconds since the epoch, this process, a counter.

    The process part is random per process (pids repeat across machines and
    restarts), the counter separates ids made within one nanosecond.
    """
    return f"{time.time_ns():016x}{_tag}{next(_counter) & 0xFFFFFFFF:08x}"


def issued_at(ident: str) -> datetime | None:
    """When ``new_global_id`` made ``ident``, or None for an id it did not make.

    A create's journal key is such an id, made before the create is sent,
    so a connector without idempotency keys can rule out, when it looks for
    the record a crashed create made, every record older than that. An id
    from elsewhere of the same shape is told apart by its time: ours are
    from this decade and never from the future.
    """
    if len(ident) != 32:
        return None
    try:
        nanos = int(ident[:16], 16)
        int(ident[16:], 16)
    except ValueError:
        return None
    when = datetime.fromtimestamp(nanos / 1e9, UTC)
    latest = datetime.now(UTC) + timedelta(days=1)
    return when if _FIRST <= when <= latest else None


_FIRST = datetime(2020, 1, 1, tzinfo=UTC)
