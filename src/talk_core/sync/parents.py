"""Parents a system only takes together with their lines (Exact orders).

Such a create cannot be sent when its plan is: its lines are merged later
in the run. The plan's create is postponed as a ``parent`` inbox row, and
once the lines' datatype has been synced the parent is created in one
call carrying all its lines, journalled like any create so a crash is
recovered with the lines' links too. Kept apart from ``execute``, which
sends one batch of plans at a time and knows nothing of lines.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from talk_core.errors import Interrupted, StopRun, TransientError
from talk_core.globaltypes import GlobalType
from talk_core.ids import new_global_id
from talk_core.mapping import ConversionError, Mapping
from talk_core.model import DataType, PropertyType
from talk_core.store.base import InboxRow, JournalEntry
from talk_core.sync import lines as line_rules
from talk_core.sync.plan import Create
from talk_core.sync.recover_journal import links_for_created
from talk_core.sync.references import Unresolved
from talk_core.system import SystemSpec

if TYPE_CHECKING:
    from talk_core.sync.engine import Sync
    from talk_core.sync.execute import Executor

log = logging.getLogger("talk.sync")

_STOPS = (StopRun, Interrupted)


def parent_row(sync: Sync, gid: str, action: Create) -> InboxRow:
    """Postpone a create that needs its lines until the lines are merged."""
    instance = sync.systems[action.system]
    dt = instance.spec.datatype(action.datatype)
    _field, child_dt = children_field(instance.spec, dt)
    child_gt = instance.spec.mappings_of(child_dt.name)[0].global_type
    return InboxRow(child_gt, action.system, action.datatype, "", kind="parent",
                    global_id=gid)


def create_parents(executor: Executor, gtype: GlobalType, rows: list[InboxRow]) -> None:
    """Create postponed parents (Exact orders) together with their merged lines."""
    assert gtype.parent is not None
    parent_gt = gtype.property(gtype.parent).references[0]
    done: set[tuple[str, str]] = set()
    for row in rows:
        assert row.seq is not None and row.global_id is not None
        key = (row.system, row.global_id)
        if key in done:
            with executor.store.transaction():
                executor.store.inbox_delete([row.seq])
            continue
        done.add(key)
        executor.sync.check_stop()
        _create_parent(executor, gtype, parent_gt, row)


def _create_parent(executor: Executor, gtype: GlobalType, parent_gt: str, row: InboxRow) -> None:
    sync, store, gid, system = executor.sync, executor.store, row.global_id, row.system
    assert gid is not None and row.seq is not None
    values = store.get_global(parent_gt, gid)
    if values is None or store.link_for(parent_gt, gid, system) is not None \
            or executor.held(parent_gt, gid, system):
        with store.transaction():
            store.inbox_delete([row.seq])
        return
    instance = sync.systems[system]
    pmap, pdt = sync.mapping(system, row.datatype, parent_gt)
    if not pmap.routes(values):
        # it changed kind while it waited; its new route staged a row of its own
        with store.transaction():
            store.inbox_delete([row.seq])
        return
    field, cdt = children_field(instance.spec, pdt)
    cmap, _ = sync.mapping(system, cdt.name, gtype.name)
    writable = pmap.writable_globals(pdt, creating=True)
    parent_values = {k: v for k, v in values.items() if k in writable}
    child_writable = cmap.writable_globals(cdt, creating=True) - {gtype.parent}
    items: list[tuple[str, dict[str, Any]]] = []
    try:
        payload, _ = executor.system_values(parent_gt, system, row.datatype, parent_values,
                                            creating=True)
        lines = []
        for cgid, cvalues in in_line_order(store.children_of(gtype.name, gid)):
            written = {k: v for k, v in cvalues.items() if k in child_writable}
            line, _ = executor.system_values(gtype.name, system, cdt.name, written,
                                             creating=True)
            lines.append(line)
            items.append((cgid, written))
        payload[field] = lines
        if not lines and line_rules.lines_required(pdt, field):
            _wait_for_lines(executor, row, pdt, field)
            return
        refused = _refused_line(executor, gtype, system, row.datatype, cdt, cmap, lines, items)
        if refused:
            with store.transaction():
                executor.fail(parent_gt, gid, system, row.datatype, "", refused)
                store.inbox_delete([row.seq])
            return
    except (Unresolved, ConversionError) as exc:
        with store.transaction():
            executor.fail(parent_gt, gid, system, row.datatype, "",
                          f"{system} {row.datatype}: waiting: {exc}", soon=True)
            store.inbox_delete([row.seq])
        return
    if executor.dry_run:
        executor.record_plan(parent_gt, gid, Create(system, row.datatype, parent_values))
        with store.transaction():
            store.inbox_delete([row.seq])
        return
    key = new_global_id()
    entry = JournalEntry(key, parent_gt, gid, system, row.datatype, {
        "properties": payload, "values": parent_values,
        "children": {"field": field, "datatype": cdt.name, "global_type": gtype.name,
                     "items": [[c, w] for c, w in items]},
    }, sync.now())
    executor.journal(entry)
    try:
        entity = instance.connector.create(row.datatype, payload, key=key)
    except _STOPS:
        raise
    except Exception as exc:
        with store.transaction():
            if not isinstance(exc, TransientError):
                store.journal_remove(key)
            executor.fail(parent_gt, gid, system, row.datatype, "",
                          f"{system} {row.datatype} (new): create failed: "
                          f"{type(exc).__name__}: {exc}")
            store.inbox_delete([row.seq])
        return
    with store.transaction():
        for link in links_for_created(executor, entry, entity):
            store.put_link(link)
        executor.siblings.settle(parent_gt, gid, system, row.datatype, entity)
        store.journal_remove(key)
        store.inbox_delete([row.seq])
        sync.clear_write_letter(system, parent_gt, gid)
    sync.result.count(system, row.datatype, "create")
    sync.result.count(system, cdt.name, "create", len(items))


def _wait_for_lines(executor: Executor, row: InboxRow, parent: DataType, field: str) -> None:
    """Keep a parent the system refuses without lines until it has some.

    Its row stays in the inbox, deferred with the reason: every run looks
    again (no call to the system), and the run that merges its first line
    creates it with that line. No dead letter: nothing is wrong.
    """
    assert row.seq is not None
    reason = line_rules.waiting_for_lines(row.system, parent, field)
    with executor.store.transaction():
        executor.store.inbox_defer(row.seq, reason)
    executor.sync.result.deferred += 1
    log.info("%s %s", row.global_id, reason)


def _refused_line(executor: Executor, gtype: GlobalType, system: str, parent: str,
                  line: DataType, mapping: Mapping, payloads: list[dict[str, Any]],
                  items: list[tuple[str, dict[str, Any]]]) -> str | None:
    """Why the system would refuse one of a new parent's lines, or None."""
    for n, (payload, (cgid, values)) in enumerate(zip(payloads, items, strict=True), 1):
        missing = line_rules.missing_fields(line, payload)
        if missing:
            holders = (link.system for link in executor.store.links_of(gtype.name, cgid))
            return line_rules.missing_message(system, parent, mapping, missing[0], values,
                                              holders, f" {n} of {len(items)}")
    return None


def children_field(spec: SystemSpec, datatype: DataType) -> tuple[str, DataType]:
    """The field of ``datatype`` that holds its lines, and the lines' datatype."""
    for prop in datatype.properties:
        if prop.type is PropertyType.CHILDREN and prop.child:
            return prop.name, spec.datatype(prop.child)
    raise KeyError(f"{spec.name} {datatype.name} has no field of lines")


def in_line_order(children: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """Lines by their line number where they have one, else in the order they came."""

    def key(item: tuple[int, tuple[str, dict[str, Any]]]) -> tuple[bool, float, int]:
        position, (_gid, values) = item
        number = values.get("line_number")
        try:
            return (number is None, float(number) if number is not None else 0.0, position)
        except (TypeError, ValueError):
            return (True, 0.0, position)

    return [child for _pos, child in sorted(enumerate(children), key=key)]
