"""Reference translation: a system's id of a related record <-> a global id, via links."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from talk_core.globaltypes import GlobalType
from talk_core.store.base import InboxRow, StateStore


class Unresolved(LookupError):
    """A referenced record has no link (yet): the entity waits for a later pass or run."""


class Misplaced(Unresolved):
    """A referenced record is held in the system, but not in the datatype the field names.

    Exact Online holds organisations as Accounts, Departments and Divisions;
    an address or an order can only belong to an Account. A record that
    would refer to a department has no place in that system.
    """


class References:
    """Looks links up for reference properties, with a cache per batch.

    The cache holds only positive answers: a record linked during the run
    must become visible to later lookups, and links are never re-pointed
    within a run. Batches prefetch what they will ask, one query per
    property, and ``reset`` between batches keeps memory flat.
    """

    def __init__(self, store: StateStore, global_types: Mapping[str, GlobalType]) -> None:
        self.store = store
        self.global_types = global_types
        self._to_global: dict[tuple[str, str, str], str] = {}
        self._to_system: dict[tuple[str, str, str], str] = {}
        #: (system, datatype, id) -> the record read this run that newly refers to it
        #: (``merge.newly_referenced``); kept for the whole run, not a batch
        self.newly_referred: dict[tuple[str, str, str], str] = {}

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
            # the system will answer this id back: know it without asking the store
            self._to_global.setdefault((system, refs[prop], ext), gid)
            out[prop] = ext
        return out

    def reset(self) -> None:
        """Start a new batch: the caches hold one batch, so memory does not grow with N."""
        self._to_global.clear()
        self._to_system.clear()

    def prefetch_global(self, global_type: str, prop: str, system: str, datatype: str,
                        external_ids: list[str]) -> None:
        """Look up many references of one property in one query, before they are needed."""
        wanted = [e for e in dict.fromkeys(external_ids) if (system, datatype, e)
                  not in self._to_global]
        if not wanted:
            return
        found = self.store.find_links_many(system, datatype, wanted,
                                           self.targets(global_type, prop))
        for ext, gid in found.items():
            self._to_global[(system, datatype, ext)] = gid

    def prefetch_rows(self, global_type: str, rows: Iterable[InboxRow],
                      refs_of: Callable[[str, str, str], dict[str, str]]) -> None:
        """Look up the references of a batch of staged records, one query per property.

        ``refs_of(system, datatype, global_type)`` names the properties to
        translate (all references, or just those match keys are made of).
        """
        wanted: dict[tuple[str, str, str], list[str]] = {}
        for row in rows:
            record = row.payload
            if row.kind != "read" or record is None or record.deleted or record.values is None:
                continue
            values = record.values
            for prop, datatype in refs_of(row.system, row.datatype, global_type).items():
                value = values.get(prop)
                if value is not None and value != "":
                    wanted.setdefault((prop, row.system, datatype), []).append(str(value))
        for (prop, system, datatype), ids in wanted.items():
            self.prefetch_global(global_type, prop, system, datatype, ids)

    def prefetch_system(self, global_type: str, prop: str, system: str,
                        global_ids: list[str]) -> None:
        wanted = [g for g in dict.fromkeys(global_ids) if (system, prop, g) not in self._to_system]
        if not wanted:
            return
        found = self.store.links_for_many(self.targets(global_type, prop), wanted, system)
        for gid, ext in found.items():
            self._to_system[(system, prop, gid)] = ext

    def forget(self, system: str, global_id: str) -> None:
        """Drop cached answers about a global entity that was deleted or unlinked."""
        for key in [k for k in self._to_system if k[0] == system and k[2] == global_id]:
            del self._to_system[key]
        for key in [k for k, v in self._to_global.items() if k[0] == system and v == global_id]:
            del self._to_global[key]
