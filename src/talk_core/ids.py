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

_process = secrets.randbits(32)
_counter = itertools.count()


def new_global_id() -> str:
    """32 hex characters: nanoseconds since the epoch, this process, a counter.

    The process part is random per process (pids repeat across machines and
    restarts), the counter separates ids made within one nanosecond.
    """
    return f"{time.time_ns():016x}{_process ^ os.getpid() & 0xFFFFFFFF:08x}" \
           f"{next(_counter) & 0xFFFFFFFF:08x}"
