"""Where the random faults lived before ``talk_core.emulation.faults``; imports from here work.

An emulator hangs up on a request through ``talk_core.emulation.tap.hang_up``.
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

__all__ = ["DROPPED", "KINDS", "RATE_LIMITED", "SERVER_ERROR", "TIMEOUT", "RandomFaults"]
