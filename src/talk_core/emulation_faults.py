"""Where the random faults lived before ``talk_core.emulation.faults``; imports from here work.

``drop`` closes an ``http.server`` handler's connection; WSGI emulators
hang up through ``talk_core.emulation.tap.hang_up`` instead.
"""

from __future__ import annotations

from talk_core.emulation.faults import (
    DROPPED,
    KINDS,
    RATE_LIMITED,
    SERVER_ERROR,
    TIMEOUT,
    RandomFaults,
)
from talk_core.emulation.legacy import drop

__all__ = ["DROPPED", "KINDS", "RATE_LIMITED", "SERVER_ERROR", "TIMEOUT", "RandomFaults",
           "drop"]
