"""Global ids: unique, and ordered by creation.

Random ids (uuid4) land anywhere in every index keyed by them (globals,
links, match keys, the inbox), which makes each insert touch a random page:
at a million records that dominated the initial sync. Time-ordered ids
append instead.
"""

from __future__ import annotations

import secrets
import time


def new_global_id() -> str:
    """32 hex characters: nanoseconds since the epoch, then 64 random bits."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"
