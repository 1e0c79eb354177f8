"""Test kit for talk and its plugins: an in-memory system, the connector and store contracts.

``ConnectorContract`` and ``StoreContract`` are imported lazily because they
need pytest, and the in-memory connector is also used by benchmarks and
tools that should not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from talk_core.testing.memory import InMemoryConnector, SimulatedCrash

if TYPE_CHECKING:
    from talk_core.testing.contract import ConnectorContract
    from talk_core.testing.store_contract import StoreContract

__all__ = ["ConnectorContract", "InMemoryConnector", "SimulatedCrash", "StoreContract"]


def __getattr__(name: str) -> Any:
    if name == "ConnectorContract":
        from talk_core.testing.contract import ConnectorContract

        return ConnectorContract
    if name == "StoreContract":
        from talk_core.testing.store_contract import StoreContract

        return StoreContract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
