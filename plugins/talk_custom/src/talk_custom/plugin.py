"""Entry point of the custom connector in the ``talk`` plugin group.

Registers three kinds of system, ``customcrm``, ``customwebshop`` and
``custompms``, each reachable over the custom REST contract or as tables
of a SQLite file (``backend``), and each with its emulator for ``talk
emulate``.
"""

from __future__ import annotations

from talk_core.hookspecs import Register, hookimpl
from talk_custom.connect import SPECS


@hookimpl
def register_systems(register: Register) -> None:
    for spec in SPECS.values():
        register(spec)
