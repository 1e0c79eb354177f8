"""Test kit for talk and its plugins: an in-memory system and the connector contract.

``ConnectorContract`` is imported lazily because it needs pytest, and the
in-memory connector is also used by benchmarks and tools that should not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from talk_core.testing.memory import InMemoryConnector, SimulatedCrash

if TYPE_CHECKING:
    from talk_core.testing.contract import ConnectorContract

__all__ = ["ConnectorContract", "InMemoryConnector", "SimulatedCrash"]


def __getattr__(name: str) -> Any:
    if name == "ConnectorContract":
        from talk_core.testing.contract import ConnectorContract

        return ConnectorContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
