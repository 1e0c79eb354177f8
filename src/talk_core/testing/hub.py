"""A system that holds records in talk's own global terms.

Syncing a connector or an emulator's generated records into it shows what
arrived as talk sees it (organisations, humans, agreements) without a second
real system to translate back from: each datatype is a global type and each
field maps to itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.mapping import Mapping, mapped
from talk_core.model import DataType, Property
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.system import SystemSpec
from talk_core.testing.memory import InMemoryConnector


def hub_system(global_types: Iterable[str] | None = None, name: str = "hub"
               ) -> tuple[SystemSpec, InMemoryConnector]:
    """The hub's spec (kind ``name``) and the one connector its factory gives.

    ``global_types``: the global types it holds, every one by default.
    """
    chosen = [GLOBAL_TYPES[t] for t in global_types] if global_types is not None else \
        list(GLOBAL_TYPES.values())
    datatypes = tuple(
        DataType(g.name, g.label, tuple(
            Property(p.name, p.type, reference=p.references[0] if p.references else None)
            for p in g.properties))
        for g in chosen)
    mappings = tuple(Mapping(dt.name, dt.name, mapped((p.name, p.name) for p in dt.properties))
                     for dt in datatypes)
    connector = InMemoryConnector(datatypes)
    spec = SystemSpec(name, name.capitalize(), datatypes, mappings,
                      factory=lambda **_: connector)
    return spec, connector


def runs_until_quiet(sync: Sync, most: int) -> list[RunResult]:
    """Run ``sync`` until a run writes and defers nothing, at most ``most`` times.

    Lines may wait a run for their documents, so a first sync into the hub
    can take more than one run; every run's result is returned for checking.
    """
    results: list[RunResult] = []
    for _ in range(most):
        result = sync.run()
        results.append(result)
        if result.writes == 0 and not result.deferred:
            break
    return results
