"""Putting each system's share of the demo company in place, through that system's own mapping.

The company is written once, in global terms. To give a system its share,
the share is loaded into an in-memory system whose datatypes *are* the
global datatypes, and one sync run with a throwaway state copies it into
the system: the system's mapping decides its field names, formats, routes
(an order becomes a sales order in Exact Online) and references, exactly
as in a real sync. The throwaway state is removed afterwards, so the
demo's own first sync meets the records as strangers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from talk_core.demo.data import Record
from talk_core.errors import TalkError
from talk_core.globaltypes import GLOBAL_TYPES, GlobalType
from talk_core.mapping import Mapping, mapped
from talk_core.model import DataType, Property, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.sync.settings import SyncSettings, SystemInstance
from talk_core.system import SystemSpec
from talk_core.testing.memory import InMemoryConnector

#: The global datatypes the demo company has records of.
SEEDED = ("organisation", "human", "product", "agreement", "agreementline")

#: Runs allowed for one system's share to settle (lines may wait for their parents).
MAX_RUNS = 3


def _datatype(gtype: GlobalType) -> DataType:
    return DataType(gtype.name, gtype.label, tuple(
        Property(p.name, p.type, reference=p.references[0] if p.references else None)
        for p in gtype.properties))


def _source_spec() -> SystemSpec:
    datatypes = tuple(_datatype(GLOBAL_TYPES[name]) for name in SEEDED)
    mappings = tuple(Mapping(dt.name, dt.name, mapped((p.name, p.name) for p in dt.properties))
                     for dt in datatypes)
    return SystemSpec("company", "The demo company", datatypes, mappings,
                      factory=lambda **_: InMemoryConnector(datatypes))


def _load(records: Sequence[Record], source: InMemoryConnector) -> None:
    """Write the records into the source, their references turned into the source's ids."""
    ids: dict[str, str] = {}
    for record in records:
        gtype = GLOBAL_TYPES[record.global_type]
        values: dict[str, Any] = {}
        for name, value in record.values.items():
            if name in gtype.property_names and gtype.property(name).type is \
                    PropertyType.REFERENCE:
                value = ids[value]
            values[name] = value
        ids[record.key] = source.put(record.global_type, values).id


def write_share(records: Sequence[Record], target: Callable[[SQLiteStore], SystemInstance],
                state: Path) -> None:
    """Create ``records`` in the system ``target(store)`` builds; ``state`` is removed afterwards.

    ``target`` gets the throwaway store because a connector may keep things
    there between calls (Exact Online's rotating tokens).
    """
    spec = _source_spec()
    source = InMemoryConnector(spec.datatypes)
    _load(records, source)
    store = SQLiteStore(state)
    try:
        instance = target(store)
    except BaseException:
        store.close()
        raise
    sync = Sync(store, [SystemInstance("company", spec, source), instance], SyncSettings())
    try:
        for _ in range(MAX_RUNS):
            result = sync.run()
            if result.status != "done" or result.dead_letters or result.errors:
                problems = [str(d.get("error")) for d in result.dead_letters] + result.errors
                raise TalkError(f"could not put the demo data into {instance.name}: "
                                f"{result.message or '; '.join(problems[:3])}")
            if result.writes == 0 and not result.deferred:
                break
    finally:
        sync.close()
        for leftover in state.parent.glob(state.name + "*"):
            leftover.unlink()
