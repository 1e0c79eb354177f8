"""Reference translation: a system's id of a related record <-> a global id, via links."""

from __future__ import annotations

from typing import Any

from talk_core.globaltypes import GlobalType
from talk_core.store.base import StateStore


class Unresolved(LookupError):
    """A referenced record has no link (yet): the entity waits for a later pass or run."""


class References:
    """Looks links up for reference properties, with a per-run cache.

    The cache holds only positive answers: a record linked during the run
    must become visible to later lookups, and links are never re-pointed
    within a run.
    """

    def __init__(self, store: StateStore, global_types: dict[str, GlobalType]) -> None:
        self.store = store
        self.global_types = global_types
        self._to_global: dict[tuple[str, str, str], str] = {}
        self._to_system: dict[tuple[str, str, str], str] = {}

    def targets(self, global_type: str, prop: str) -> tuple[str, ...]:
        gprop = self.global_types[global_type].property(prop)
        return gprop.references

    def to_global(
        self, global_type: str, values: dict[str, Any], refs: dict[str, str], system: str
    ) -> dict[str, Any]:
        """Replace system ids by global ids in ``values`` (a copy); raise ``Unresolved``."""
        if not refs:
            return values
        out = dict(values)
        for prop, datatype in refs.items():
            ext = out.get(prop)
            if ext is None or ext == "":
                continue
            ext = str(ext)
            key = (system, datatype, ext)
            gid = self._to_global.get(key)
            if gid is None:
                link = self.store.find_link(system, datatype, ext, self.targets(global_type, prop))
                if link is None:
                    raise Unresolved(f"{prop} refers to {system} {datatype} {ext}, not linked yet")
                gid = link.global_id
                self._to_global[key] = gid
            out[prop] = gid
        return out

    def to_system(
        self, global_type: str, values: dict[str, Any], refs: dict[str, str], system: str
    ) -> dict[str, Any]:
        """Replace global ids by ``system``'s ids in ``values`` (a copy); raise ``Unresolved``."""
        if not refs:
            return values
        out = dict(values)
        for prop in refs:
            gid = out.get(prop)
            if gid is None or gid == "" or prop not in out:
                continue
            key = (system, prop, gid)
            ext = self._to_system.get(key)
            if ext is None:
                for target in self.targets(global_type, prop):
                    link = self.store.link_for(target, gid, system)
                    if link is not None:
                        ext = link.external_id
                        break
                if ext is None:
                    raise Unresolved(
                        f"{prop} refers to global {gid}, which has no record in {system} yet"
                    )
                self._to_system[key] = ext
            out[prop] = ext
        return out

    def forget(self, system: str, global_id: str) -> None:
        """Drop cached answers about a global entity that was deleted or unlinked."""
        for key in [k for k in self._to_system if k[0] == system and k[2] == global_id]:
            del self._to_system[key]
        for key in [k for k, v in self._to_global.items() if k[0] == system and v == global_id]:
            del self._to_global[key]
