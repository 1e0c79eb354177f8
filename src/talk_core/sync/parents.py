"""Parents a system only takes together with their lines (Exact orders).

Such a create cannot be sent when its plan is: its lines are merged later
in the run. The plan's create is postponed as a ``parent`` inbox row, and
once the lines' datatype has been synced the parent is created in one
call carrying all its lines, through the same unit of work as any create
(``commit``), so a crash is recovered with the lines' links too. A dry
run takes the same path; its rehearsed parent lists each line as planned.
"""

from __future__ import annotations

import logging
from typing import Any

from talk_core.globaltypes import GlobalType
from talk_core.ids import new_global_id
from talk_core.mapping import ConversionError, Mapping
from talk_core.model import DataType, PropertyType
from talk_core.store.base import InboxRow, JournalEntry
from talk_core.sync import lines as line_rules
from talk_core.sync.catalog import Catalog
from talk_core.sync.commit import Outcome, UnitOfWork, Write
from talk_core.sync.context import InFlight, RunContext
from talk_core.sync.plan import Create
from talk_core.sync.references import Unresolved
from talk_core.sync.translate import Translator
from talk_core.system import SystemSpec

log = logging.getLogger("talk.sync")


def parent_row(catalog: Catalog, gid: str, action: Create) -> InboxRow:
    """Postpone a create that needs its lines until the lines are merged."""
    spec = catalog.systems[action.system].spec
    dt = spec.datatype(action.datatype)
    _field, child_dt = children_field(spec, dt)
    child_gt = spec.mappings_of(child_dt.name)[0].global_type
    return InboxRow(child_gt, action.system, action.datatype, "", kind="parent",
                    global_id=gid)


class Parents:
    """Creates the postponed parents of one global type of lines, each with its lines."""

    def __init__(self, ctx: RunContext, catalog: Catalog, translator: Translator,
                 work: UnitOfWork, in_flight: InFlight) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.translator = translator
        self.work = work
        self.in_flight = in_flight

    def create(self, gtype: GlobalType, rows: list[InboxRow]) -> None:
        """Create postponed parents (Exact orders) together with their merged lines."""
        assert gtype.parent is not None
        parent_gt = gtype.property(gtype.parent).references[0]
        done: set[tuple[str, str]] = set()
        for row in rows:
            assert row.seq is not None and row.global_id is not None
            key = (row.system, row.global_id)
            if key in done:
                self._drop(row)
                continue
            done.add(key)
            self.ctx.check_stop()
            self._create(gtype, parent_gt, row)

    def _drop(self, row: InboxRow) -> None:
        assert row.seq is not None
        with self.store.transaction():
            self.store.inbox_delete([row.seq])

    def _create(self, gtype: GlobalType, parent_gt: str, row: InboxRow) -> None:
        store, catalog, gid, system = self.store, self.catalog, row.global_id, row.system
        assert gid is not None and row.seq is not None
        values = store.get_global(parent_gt, gid)
        if values is None or store.link_for(parent_gt, gid, system) is not None:
            self._drop(row)
            return
        if self.in_flight.unsettled(parent_gt, gid, system):
            log.info("%s %s: not created in %s while an earlier create is unsettled",
                     parent_gt, gid, system)
            self._drop(row)
            return
        if not self.ctx.available(system):
            return  # its row stays staged for the next run
        instance = catalog.systems[system]
        pmap, pdt = catalog.mapping(system, row.datatype, parent_gt)
        if not pmap.routes(values):
            # it changed kind while it waited; its new route staged a row of its own
            self._drop(row)
            return
        field, cdt = children_field(instance.spec, pdt)
        cmap, _ = catalog.mapping(system, cdt.name, gtype.name)
        writable = pmap.writable_globals(pdt, creating=True)
        parent_values = {k: v for k, v in values.items() if k in writable}
        child_writable = cmap.writable_globals(cdt, creating=True) - {gtype.parent}
        items: list[tuple[str, dict[str, Any]]] = []
        outcome = Outcome(parent_gt, gid, seqs=[row.seq])
        try:
            payload, _ = self.translator.to_system(parent_gt, system, row.datatype,
                                                   parent_values, creating=True)
            lines = []
            for cgid, cvalues in in_line_order(store.children_of(gtype.name, gid)):
                written = {k: v for k, v in cvalues.items() if k in child_writable}
                line, _ = self.translator.to_system(gtype.name, system, cdt.name, written,
                                                    creating=True)
                lines.append(line)
                items.append((cgid, written))
            payload[field] = lines
            if not lines and line_rules.lines_required(pdt, field):
                self._wait_for_lines(row, pdt, field)
                return
            refused = self._refused_line(gtype, system, row.datatype, cdt, cmap, lines, items)
            if refused:
                outcome.fail(system, row.datatype, "", refused)
                self.work.settle([outcome])
                return
        except (Unresolved, ConversionError) as exc:
            outcome.fail(system, row.datatype, "", f"{system} {row.datatype}: waiting: {exc}",
                         soon=True)
            self.work.settle([outcome])
            return
        create = Create(system, row.datatype, parent_values)
        entry = JournalEntry(new_global_id(), parent_gt, gid, system, row.datatype, {
            "properties": payload, "values": parent_values,
            "children": {"field": field, "datatype": cdt.name, "global_type": gtype.name,
                         "items": [[c, w] for c, w in items]},
        }, self.ctx.now())
        self.work.open([entry])
        write = Write(create, row.datatype, "", payload, entry)
        made = self.work.send(instance.connector, outcome, write)
        if not write.sent:  # the system is unavailable: nothing made, the row stays
            outcome.seqs.clear()
            outcome.journal_done.append(entry.key)
        self.work.settle([outcome])
        if made:
            self._count_lines(gtype.name, system, cdt, field, outcome, items)

    def _count_lines(self, gt: str, system: str, line: DataType, field: str, outcome: Outcome,
                     items: list[tuple[str, dict[str, Any]]]) -> None:
        """Count the lines a parent was created with; a dry run lists each, as it would make it.

        A dry run's line names its id as rehearsed (``(new 2)``) and its parent's.
        """
        self.ctx.result.count(system, line.name, "create", len(items))
        if not self.ctx.dry_run or not outcome.created:
            return
        _system, _datatype, parent = outcome.created[0]
        answered = parent.properties.get(field) or []
        for n, (cgid, written) in enumerate(items):
            entry: dict[str, Any] = {"action": "create", "system": system,
                                     "datatype": line.name, "global_type": gt,
                                     "global_id": cgid, "values": written, "parent": parent.id}
            if n < len(answered):
                entry["id"] = answered[n].get(line.id_field)
            self.ctx.result.planned.append(entry)

    def _wait_for_lines(self, row: InboxRow, parent: DataType, field: str) -> None:
        """Keep a parent the system refuses without lines until it has some.

        Its row stays in the inbox, deferred with the reason: every run looks
        again (no call to the system), and the run that merges its first line
        creates it with that line. No dead letter: nothing is wrong.
        """
        assert row.seq is not None
        reason = line_rules.waiting_for_lines(row.system, parent, field)
        with self.store.transaction():
            self.store.inbox_defer(row.seq, reason)
        self.ctx.result.deferred += 1
        log.info("%s %s", row.global_id, reason)

    def _refused_line(self, gtype: GlobalType, system: str, parent: str, line: DataType,
                      mapping: Mapping, payloads: list[dict[str, Any]],
                      items: list[tuple[str, dict[str, Any]]]) -> str | None:
        """Why the system would refuse one of a new parent's lines, or None."""
        for n, (payload, (cgid, values)) in enumerate(zip(payloads, items, strict=True), 1):
            missing = line_rules.missing_fields(line, payload)
            if missing:
                holders = (link.system for link in self.store.links_of(gtype.name, cgid))
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
