"""Planning: from what was seen and what is known, decide what to do. No I/O.

``plan_group`` takes one global entity (its stored values and links), the
observations of its records read this run, and the systems that could hold
it, and answers a ``Plan``: the merged values, the links to store, the
conflicts met and the writes to make. Everything it needs is passed in, so
it is tested without a store or a connector.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from collections.abc import Mapping as MappingOf
from datetime import datetime
from typing import Any

import attrs

from talk_core.model import Link
from talk_core.store.base import Conflict
from talk_core.sync.conflicts import Candidate, Resolver, is_empty

#: the property of a conflict between a delete and a newer reference (see ``plan_group``)
DELETED = "(deleted)"
#: the policy that settled it
NEWER_REFERENCE = "newer reference"


class DeletePolicy(enum.StrEnum):
    """What a record deleted in one system does to its linked records elsewhere.

    ``propagate``: delete them too. ``unlink``: keep them, forget the link and
    never create the record in that system again. ``ignore``: keep them and
    create the record again where it was deleted.
    """

    PROPAGATE = "propagate"
    UNLINK = "unlink"
    IGNORE = "ignore"


# Observations and actions are made for every record; attrs' frozen classes
# cost about three times as much to construct, so these are plain (and never
# changed after construction).
@attrs.define
class Observation:
    """One record of one system as read this run, already in global terms.

    ``values`` have references translated to global ids. ``adopted`` marks a
    record that was just matched to an existing global entity by its keys.
    Changes to ``ignored`` properties are not taken from this system.
    """

    system: str
    datatype: str
    external_id: str
    values: dict[str, Any]
    hash: str | None
    updated: datetime | None = None
    deleted: bool = False
    adopted: bool = False
    defaults: dict[str, Any] = attrs.field(factory=dict)
    ignored: frozenset[str] = frozenset()


@attrs.frozen
class Route:
    """A datatype of a target system where new global entities can be created.

    ``parent`` is set on routes for lines: the datatype their parent must be
    in, in the same system (an Exact quotation's lines are ``QuotationLines``,
    an order's ``SalesOrderLines``), so a line follows its parent's kind.
    """

    datatype: str
    writable: frozenset[str]
    accepts: Callable[[dict[str, Any]], bool] | None = None
    inline_children: bool = False
    parent: str | None = None


#: ``(system, line values) -> the datatype the line's parent is (or will be) in there``.
ParentIn = Callable[[str, dict[str, Any]], str | None]


@attrs.frozen
class Target:
    """A system instance that carries the global type: where to write and what."""

    system: str
    writable: dict[str, frozenset[str]]
    routes: tuple[Route, ...] = ()
    share: bool = True
    #: datatype -> global property -> the properties written with it (``Mapping.together``)
    together: dict[str, dict[str, frozenset[str]]] = attrs.field(factory=dict)
    #: datatypes whose records a delete elsewhere never deletes here: the link is dropped
    kept: frozenset[str] = frozenset()


@attrs.define
class Create:
    system: str
    datatype: str
    values: dict[str, Any]
    inline_children: bool = False


@attrs.define
class Update:
    system: str
    link: Link
    values: dict[str, Any]


@attrs.define
class Delete:
    """A record to delete because its entity was deleted in the ``deleted_in`` systems."""

    system: str
    link: Link
    deleted_in: tuple[str, ...] = ()


Action = Create | Update | Delete


@attrs.define
class Plan:
    global_type: str
    global_id: str
    values: dict[str, Any] | None
    is_new: bool = False
    changed: bool = False
    deleted: bool = False
    links: list[Link] = attrs.field(factory=list)
    drop_links: list[Link] = attrs.field(factory=list)
    detach: list[str] = attrs.field(factory=list)
    actions: list[Action] = attrs.field(factory=list)
    conflicts: list[Conflict] = attrs.field(factory=list)
    #: linked systems that already hold every value they are written: a write
    #: that failed there before (and perhaps was made all the same) is settled
    in_sync: list[str] = attrs.field(factory=list)


def plan_group(
    *,
    global_type: str,
    global_id: str,
    current: dict[str, Any] | None,
    links: dict[str, Link],
    observations: Sequence[Observation],
    targets: Sequence[Target],
    resolver: Resolver,
    policy: str,
    delete_policy: DeletePolicy = DeletePolicy.PROPAGATE,
    detached: frozenset[str] = frozenset(),
    accept: Callable[[dict[str, Any]], bool] | None = None,
    parent_in: ParentIn | None = None,
    referenced: MappingOf[str, str] | None = None,
) -> Plan:
    """Merge one global entity's observations and plan the writes that follow.

    ``referenced``: systems where a record read since the last sync refers
    to the entity's record, linked or its first reading never linked
    (system -> which record). A delete in
    another system is then not propagated there under ``propagate``: the
    newer reference wins, the entity lives on and is created again where it
    was deleted (as under ``ignore``), and a conflict on ``(deleted)`` with
    the policy ``newer reference`` tells of it. Deleting it would leave the
    referring record pointing at nothing in its own system, and the record
    could never be written to the system that deleted the entity.

    ``accept`` is the selective-sync filter: entities it refuses are still
    merged and kept up to date where linked, but never created anywhere.
    ``parent_in`` places lines: a route with a ``parent`` takes only lines
    whose parent is in that datatype of the target system.
    """
    plan = Plan(global_type, global_id, dict(current) if current is not None else None)
    plan.is_new = current is None
    referenced = referenced or {}
    links = dict(links)

    gone = [o for o in observations if o.deleted and o.system in links]
    live = [o for o in observations if not o.deleted]
    if gone:
        deleting = {o.system for o in gone}
        # where the entity's record is linked, or is its first reading never linked
        holding = set(links) | {o.system for o in live if not o.adopted}
        kept = {s: why for s, why in referenced.items() if s in holding
                and s not in deleting}
        if delete_policy is DeletePolicy.PROPAGATE and kept:
            # a reference made since the last sync is newer than the delete: the
            # entity lives on, and is created again where it was deleted
            winner = min(kept)
            plan.conflicts.append(Conflict(
                global_type, global_id, DELETED,
                {**{s: "deleted" for s in sorted(deleting)}, **kept}, winner,
                NEWER_REFERENCE))
        elif delete_policy is DeletePolicy.PROPAGATE:
            plan.deleted = True
            plan.values = None
            keeps = {t.system: t.kept for t in targets}
            for system, link in sorted(links.items()):
                plan.drop_links.append(link)
                if system not in deleting and link.datatype not in keeps.get(system, ()):
                    plan.actions.append(Delete(system, link, tuple(sorted(deleting))))
            for obs in live:
                # the entity's own first reading, never linked (a crash lost the commit
                # that would have): it goes with the entity, as its link would have,
                # not left behind where no run reads it again
                if obs.system not in links and not obs.adopted \
                        and obs.datatype not in keeps.get(obs.system, ()):
                    unlinked = Link(global_type, global_id, obs.system, obs.datatype,
                                    obs.external_id, obs.hash, obs.values)
                    plan.actions.append(Delete(obs.system, unlinked, tuple(sorted(deleting))))
            return plan
        for system in sorted(deleting):
            plan.drop_links.append(links.pop(system))
            if delete_policy is DeletePolicy.UNLINK:
                plan.detach.append(system)
        detached = detached | set(plan.detach)

    values = _merge(plan, live, links, resolver, policy)
    plan.values = values
    plan.changed = plan.is_new or values != current
    for obs in live:
        plan.links.append(
            Link(global_type, global_id, obs.system, obs.datatype, obs.external_id,
                 obs.hash, obs.values)  # never changed in place: no copy
        )
        links[obs.system] = plan.links[-1]

    for target in targets:
        if not target.share:
            continue
        held = links.get(target.system)
        if held is not None:
            writable = target.writable.get(held.datatype, frozenset())
            diff = {
                p: values[p] for p in writable
                if p in values and not _same(values[p], held.values.get(p))
            }
            joined = target.together.get(held.datatype)
            if diff and joined:
                for prop in [p for p in diff if p in joined]:
                    for other in joined[prop]:
                        diff.setdefault(other, values.get(other))
            if diff:
                plan.actions.append(Update(target.system, held, diff))
            else:
                plan.in_sync.append(target.system)
        elif target.system not in detached and (accept is None or accept(values)):
            route = choose_route(target, values, parent_in)
            if route is not None:
                payload = {p: v for p, v in values.items() if p in route.writable}
                plan.actions.append(
                    Create(target.system, route.datatype, payload, route.inline_children)
                )
    return plan


def choose_route(target: Target, values: dict[str, Any],
                 parent_in: ParentIn | None = None) -> Route | None:
    """The first of the target's routes that takes an entity with ``values``, if any.

    A line's route must also fit where its parent is: with no place for the
    parent in that system (no route takes it there), the line has none either.
    """
    for route in target.routes:
        if route.accepts is not None and not route.accepts(values):
            continue
        if route.parent is not None and parent_in is not None and (
                parent_in(target.system, values) != route.parent):
            continue
        return route
    return None


def _same(a: Any, b: Any) -> bool:
    return a == b or (is_empty(a) and is_empty(b))


def _merge(
    plan: Plan,
    live: Sequence[Observation],
    links: dict[str, Link],
    resolver: Resolver,
    policy: str,
) -> dict[str, Any]:
    """Three-way merge per property: only what changed in a system touches the global."""
    if plan.is_new and len(live) == 1 and live[0].system not in links:
        # an entity seen once, for the first time (most of an initial sync):
        # its non-empty values over the defaults, with nothing to contest
        obs = live[0]
        merged = dict(obs.defaults)
        ignored = obs.ignored
        for prop, value in obs.values.items():
            if prop not in ignored and not is_empty(value):
                merged[prop] = value
        return merged
    base_values = dict(plan.values or {})
    if plan.is_new:
        for obs in live:
            for prop, value in obs.defaults.items():
                base_values.setdefault(prop, value)
    # (system, value, updated) per change; Candidates are only built for a real contest
    changes: dict[str, list[tuple[str, Any, datetime | None]]] = {}
    for obs in live:
        link = links.get(obs.system)
        seen = link.values if link is not None else None
        for prop, value in obs.values.items():
            if prop in obs.ignored:
                continue  # configured to flow only into that system
            if seen is None and is_empty(value):
                continue  # on a first link an empty value is no news
            if seen is not None and _same(seen.get(prop), value):
                continue
            changes.setdefault(prop, []).append((obs.system, value, obs.updated))

    merged = dict(base_values)
    adopters = {o.system for o in live if o.adopted}
    for prop, found in changes.items():
        if len(found) == 1 or len({repr(c[1]) for c in found}) == 1:
            system, value = found[0][0], found[0][1]
            current = base_values.get(prop)
            if (
                adopters and not plan.is_new and not is_empty(current)
                and any(c[0] in adopters for c in found)
                and not _same(current, value)
            ):
                plan.conflicts.append(Conflict(
                    plan.global_type, plan.global_id, prop,
                    {"(stored)": current, system: value}, system, "first link",
                ))
            merged[prop] = value
            continue
        candidates = [Candidate(*c) for c in found]
        winner_system = resolver(prop, candidates)
        winner = next(c for c in candidates if c.system == winner_system)
        plan.conflicts.append(Conflict(
            plan.global_type, plan.global_id, prop,
            {c.system: c.value for c in candidates}, winner_system, policy,
        ))
        merged[prop] = winner.value
    return merged
