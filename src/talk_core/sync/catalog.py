"""What the configuration says, worked out once per run: mappings, targets, keys, settings.

A ``Catalog`` is made at the start of each run from the system instances
and the settings, and only read after: every stage asks it instead of
reaching into the specs. Answers are computed on first use and kept for
the run (a type the run does not touch costs nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping as MappingOf
from typing import Any

from talk_core.globaltypes import GlobalType
from talk_core.mapping import Mapping
from talk_core.model import DataType, PropertyType
from talk_core.sync.conflicts import Resolver, make_resolver, policy_name
from talk_core.sync.plan import Route, Target
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance


class Catalog:
    def __init__(self, systems: MappingOf[str, SystemInstance], settings: SyncSettings,
                 global_types: MappingOf[str, GlobalType]) -> None:
        self.systems = systems
        self.settings = settings
        self.global_types = global_types
        self.resolver: Resolver = make_resolver(settings.conflict, settings.priority)
        self.policy = policy_name(settings.conflict)
        self._mappings = {
            (name, m.datatype, m.global_type): (m, inst.spec.datatype(m.datatype))
            for name, inst in systems.items() for m in inst.spec.mappings
        }
        self._refs: dict[tuple[str, str, str], dict[str, str]] = {}
        self._homes: dict[tuple[str, str], frozenset[str]] = {}
        self._keys: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._key_refs: dict[tuple[str, str, str], dict[str, str]] = {}
        self._dts: dict[str, DatatypeSettings] = {}
        self._ignored_by: dict[tuple[str, str], frozenset[str]] = {}
        self._targets: dict[str, list[Target]] = {}
        self._facets: dict[tuple[str, str, str], list[Mapping]] = {}
        self._referrers: dict[tuple[str, str], list[tuple[str, str, str]]] = {}

    def mapping(self, system: str, datatype: str, global_type: str) -> tuple[Mapping, DataType]:
        found = self._mappings.get((system, datatype, global_type))
        if found is None:
            raise KeyError(f"{system} {datatype} has no mapping to {global_type}")
        return found

    def datatype_settings(self, global_type: str) -> DatatypeSettings:
        """The datatype's settings, made once per run even where none are configured."""
        dts = self._dts.get(global_type)
        if dts is None:
            dts = self._dts[global_type] = self.settings.datatype(global_type)
        return dts

    def ignored(self, global_type: str, system: str) -> frozenset[str]:
        key = (global_type, system)
        ignored = self._ignored_by.get(key)
        if ignored is None:
            ignored = self._ignored_by[key] = self.datatype_settings(global_type).ignored(system)
        return ignored

    def keys(self, gtype: GlobalType) -> tuple[tuple[str, ...], ...]:
        keys = self._keys.get(gtype.name)
        if keys is None:
            keys = self._keys[gtype.name] = (
                self.datatype_settings(gtype.name).match_keys or gtype.match_keys)
        return keys

    def homes(self, system: str, global_type: str) -> frozenset[str]:
        """The datatypes ``system`` holds ``global_type`` in (computed once)."""
        key = (system, global_type)
        found = self._homes.get(key)
        if found is None:
            found = self._homes[key] = frozenset(
                m.datatype for m in self.systems[system].spec.mappings_for(global_type))
        return found

    def refs_of(self, system: str, datatype: str, global_type: str) -> dict[str, str]:
        """Global property -> referenced datatype, for one mapping (computed once)."""
        key = (system, datatype, global_type)
        refs = self._refs.get(key)
        if refs is None:
            mapping, dt = self.mapping(system, datatype, global_type)
            refs = self._refs[key] = mapping.references(dt)
        return refs

    def referrers(self, system: str, datatype: str) -> list[tuple[str, str, str]]:
        """``(global type, datatype, property)`` of the mappings of ``system`` naming ``datatype``.

        Only types the settings sync: a record of another type is never merged.
        """
        key = (system, datatype)
        found = self._referrers.get(key)
        if found is None:
            found = self._referrers[key] = [
                (m.global_type, m.datatype, prop) for m in self.systems[system].spec.mappings
                if m.global_type in self.global_types
                and self.datatype_settings(m.global_type).enabled
                for prop, target in self.refs_of(system, m.datatype, m.global_type).items()
                if target == datatype]
        return found

    def key_refs(self, system: str, datatype: str, global_type: str) -> dict[str, str]:
        """The references a mapping's match keys are made of (usually none).

        Only these must be translated to global ids before a record can be
        matched; a record whose keys hold no reference is matched from its
        own values, even while what it refers to is still unknown.
        """
        key = (system, datatype, global_type)
        refs = self._key_refs.get(key)
        if refs is None:
            parts = {p for parts in self.keys(self.global_types[global_type]) for p in parts}
            refs = self._key_refs[key] = {
                prop: target for prop, target in self.refs_of(system, datatype,
                                                                global_type).items()
                if prop in parts
            }
        return refs

    def carriers(self, global_type: str) -> set[str]:
        """The systems with a mapping to ``global_type``."""
        return {n for n, i in self.systems.items() if i.spec.mappings_for(global_type)}

    def facets(self, system: str, datatype: str, global_type: str) -> list[Mapping]:
        """The mappings of ``datatype`` in ``system`` to global types other than ``global_type``.

        Only types the settings sync: a facet of a type turned off is never
        merged, so what is staged for it would wait in the inbox for good.
        """
        key = (system, datatype, global_type)
        found = self._facets.get(key)
        if found is None:
            spec = self.systems[system].spec
            found = self._facets[key] = [
                m for m in spec.mappings_of(datatype)
                if m.global_type != global_type and m.global_type in self.global_types
                and self.datatype_settings(m.global_type).enabled]
        return found

    def targets(self, global_type: str) -> list[Target]:
        """Each system that can hold ``global_type``: what it may be written, its routes."""
        found = self._targets.get(global_type)
        if found is None:
            found = self._targets[global_type] = self._make_targets(global_type)
        return found

    def _make_targets(self, global_type: str) -> list[Target]:
        dts = self.datatype_settings(global_type)
        share = dts.share
        out = []
        for name, instance in sorted(self.systems.items()):
            mappings = instance.spec.mappings_for(global_type)
            if not mappings:
                continue
            writable: dict[str, frozenset[str]] = {}
            together: dict[str, dict[str, frozenset[str]]] = {}
            routes = []
            never = dts.unwritable(name)
            for m in mappings:
                dt = instance.spec.datatype(m.datatype)
                writable[m.datatype] = frozenset(m.writable_globals(dt, creating=False)) - never
                if m.composed:
                    together[m.datatype] = m.together(dt)
                if m.creates:
                    routes.append(Route(
                        m.datatype, frozenset(m.writable_globals(dt, creating=True)) - never,
                        m.route, self._inline_children(instance, dt),
                        self._line_parent(global_type, dt),
                    ))
            kept = frozenset(m.datatype for m in mappings if not m.deletes)
            out.append(Target(name, writable, tuple(routes), share, together, kept))
        return out

    def _line_parent(self, global_type: str, datatype: DataType) -> str | None:
        """For a datatype of lines, the datatype its parent must be in (see ``placement``)."""
        if self.global_types[global_type].parent is None or datatype.child_of is None:
            return None
        return datatype.child_of.parent

    @staticmethod
    def _inline_children(instance: SystemInstance, datatype: DataType) -> bool:
        for prop in datatype.properties:
            if prop.type is PropertyType.CHILDREN and prop.child:
                child = instance.spec.datatype(prop.child)
                if child.child_of is not None and child.child_of.inline_on_create:
                    return True
        return False

    def accepts(self, global_type: str) -> Callable[[dict[str, Any]], bool] | None:
        """The datatype's filter as a callable, or None when it has none."""
        dts = self.datatype_settings(global_type)
        return dts.accepts if dts.filter else None
