"""What an end-to-end test of one seed document declares, and the checks that keep it honest.

A seed document names dataflows section by section: records of a source
datatype kept in sync with records of a target datatype, and a table of
the properties that travel. A seed's data module declares a ``Dataflow``: the
records to make and, for every section, which record it is about and, for
every row, the values both sides must hold after one sync, the edit made on
the target side and the value that must come back to the source.

The declaration is checked against three things so that it cannot drift
or lie: the seed file itself (every heading and row is declared, nothing is
declared that the seed does not name), the registered schemas and mappings
(a row said to be one-way really cannot be written back; a row that is
edited really can), and the routes (a record said to be made on the target
side because talk would not create it there really would not be created).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import pytest

from talk_core.docs import parse_rst
from talk_core.mapping import Mapping as SystemMapping
from talk_core.mapping import PropertyMapping
from talk_core.model import DataType, Entity
from talk_core.plugins import get_systems
from talk_core.system import SystemSpec

#: Where the seed documents are; they are not part of the repository.
SEED_DIR = Path(os.environ.get("TALK_SEED_DIR", "/work/shared/seeds"))

SOURCE, TARGET = "source", "target"


@attrs.frozen
class Ref:
    """A field value that is the id of a record made earlier in the same declaration."""

    handle: str


@attrs.frozen
class OwnId:
    """The value a row's property holds is the record's own id, as talk's link holds it."""


OWN_ID = OwnId()


@attrs.frozen
class Record:
    """A record made in one system before the first sync.

    ``lines`` name the lines made with it (an invoice's items, a quotation's
    lines), in order, so that sections can be about one of them.
    """

    handle: str
    side: str = attrs.field(validator=attrs.validators.in_((SOURCE, TARGET)))
    datatype: str
    fields: Mapping[str, Any]
    lines: tuple[str, ...] = ()


@attrs.frozen
class Row:
    """One property that travels: source property, target property, and what to expect.

    ``values`` is (source value, target value) after the first sync: equal
    after conversion. ``edit`` is the value written on the target side, and
    ``back`` what the source then holds. A row that cannot be edited on the
    target side says why in ``one_way`` instead. ``seed`` is False for a
    property the two sides share that the seed's table does not list (many
    seed tables are empty: the record must flow all the same). ``gap`` marks
    a row the connectors do not carry yet: its tests are strict xfails.
    """

    source: str
    target: str
    values: tuple[Any, Any]
    edit: Any = None
    back: Any = None
    one_way: str = ""
    seed: bool = True
    gap: str = ""

    @property
    def cells(self) -> tuple[str, str]:
        return (self.source, self.target)


@attrs.frozen
class Section:
    """One section of the seed: a source datatype kept in sync with a target datatype.

    ``record`` is the handle of the record the section is checked on; its
    counterpart in the other system is found through talk's links.
    ``origin`` says why that record is made on the target side (or why its
    counterpart already exists there, ``counterpart``), when talk would not
    create it from the source: ``probe`` is a source record the target's
    route refuses, which the declaration checks.
    """

    heading: str
    global_type: str
    source: str
    target: str
    record: str
    rows: tuple[Row, ...]
    origin: str = ""
    probe: str = ""
    counterpart: str = ""


@attrs.frozen
class Dataflow:
    """Everything a seed's end-to-end test makes and expects, section by section."""

    seed: str
    source_kind: str
    target_kind: str
    records: tuple[Record, ...]
    sections: tuple[Section, ...]

    def record(self, handle: str) -> Record:
        for rec in self.records:
            if rec.handle == handle or handle in rec.lines:
                return rec
        raise KeyError(f"seed {self.seed}: no record {handle!r} is declared")

    def checks(self, *, editable: bool = False) -> list[Any]:
        """(section, row) pairs as pytest params; a row with a ``gap`` is a strict xfail."""
        out = []
        for section in self.sections:
            for row in section.rows:
                if editable and row.one_way:
                    continue
                marks = [pytest.mark.xfail(strict=True, reason=row.gap)] if row.gap else []
                out.append(pytest.param((section, row), marks=marks,
                                        id=f"{section.heading}: {row.source}->{row.target}"))
        return out


def unix_day(day: str) -> int:
    """Midnight UTC of an ISO day in unix seconds: how Invoiced holds a date."""
    return int(datetime.combine(date.fromisoformat(day), datetime.min.time(), UTC).timestamp())


# -- comparing values -----------------------------------------------------------------

def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def same(expected: Any, actual: Any) -> bool:
    """Equal after conversion: numbers as decimals, text without the padding a system adds.

    Exact Online pads codes and country codes with blanks and may hold a
    discount as text or as a number; the value is what counts.
    """
    if isinstance(expected, Mapping):
        return (isinstance(actual, Mapping) and set(expected) == set(actual)
                and all(same(v, actual[k]) for k, v in expected.items()))
    if isinstance(expected, list | tuple):
        return (isinstance(actual, list | tuple) and len(expected) == len(actual)
                and all(same(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, bool) or expected is None:
        return actual is expected or (expected is None and actual == "")
    if isinstance(expected, int | float | Decimal):
        return _number(actual) == Decimal(str(expected))
    if isinstance(expected, str):
        return isinstance(actual, str) and actual.strip() == expected.strip()
    return bool(expected == actual)


# -- the seed file --------------------------------------------------------------------

def seed_path(prefix: str) -> Path | None:
    return next(iter(sorted(SEED_DIR.glob(f"{prefix}_*.txt"))), None)


def seed_rows(path: Path) -> dict[str, set[tuple[str, str]]]:
    """Heading -> (source property, target property) rows; repeated sections are merged."""
    out: dict[str, set[tuple[str, str]]] = {}
    for heading, rows in parse_rst(path.read_text(encoding="utf-8")):
        out.setdefault(heading, set()).update((src, tgt) for src, tgt, _type in rows)
    return out


def coverage_problems(flow: Dataflow, seed: dict[str, set[tuple[str, str]]]) -> list[str]:
    """Headings and rows of the seed the declaration misses, and declared ones it lacks."""
    problems = []
    declared: dict[str, set[tuple[str, str]]] = {}
    for section in flow.sections:
        if section.heading in declared:
            problems.append(f"{section.heading}: declared twice")
        declared[section.heading] = {r.cells for r in section.rows if r.seed}
    for heading, rows in seed.items():
        if heading not in declared:
            problems.append(f"{heading}: a section of the seed that is not declared")
            continue
        for src, tgt in sorted(rows - declared[heading]):
            problems.append(f"{heading}: seed row {src} -> {tgt} is not declared")
    for heading, rows in declared.items():
        if heading not in seed:
            problems.append(f"{heading}: declared, but not a section of the seed")
            continue
        for src, tgt in sorted(rows - seed[heading]):
            problems.append(f"{heading}: row {src} -> {tgt} is marked as the seed's, "
                            "but the seed does not list it")
    return problems


# -- the declaration against the schemas, mappings and routes ----------------------------

def _mapping(spec: SystemSpec, datatype: str, global_type: str) -> SystemMapping:
    found = [m for m in spec.mappings_of(datatype) if m.global_type == global_type]
    if len(found) != 1:
        raise KeyError(f"{spec.label} {datatype} has {len(found)} mappings to {global_type}")
    return found[0]


def _pm(mapping: SystemMapping, prop: str) -> PropertyMapping | None:
    """The property's pair; a composed one (``address`` of two lines) by its first global."""
    return next((pm for pm in mapping.pairs if pm.system == prop), None)


def _frozen(datatype: DataType, prop: str) -> bool:
    """Whether the system refuses a change of ``prop`` on an existing record."""
    found = datatype.find(prop)
    return prop == datatype.id_field or (found is not None
                                         and (found.read_only or found.create_only))


def _names(spec: SystemSpec, datatype: DataType, mapping: SystemMapping, part: str) -> bool:
    """Whether one side of a heading names this datatype: by label, facet or inline parent.

    Labels are compared without case (``Salesorders``); a facet in brackets
    must be the mapping's. A datatype whose records only travel inside their
    parent may be named by the parent (``Lineitem to Quotations``).
    """
    labels = [datatype.label]
    if datatype.child_of is not None and datatype.child_of.inline_on_create:
        labels.append(spec.datatype(datatype.child_of.parent).label)
    for label in labels:
        prefix = f"{spec.label} {label}"
        if not part.casefold().startswith(prefix.casefold()):
            continue
        rest = part[len(prefix):].strip()
        if rest.startswith("(") and rest.endswith(")"):
            return rest[1:-1] == mapping.facet
        return True
    return False


def declaration_problems(flow: Dataflow) -> list[str]:
    """Whatever the declaration claims about the systems that the systems contradict."""
    systems = get_systems()
    source, target = systems[flow.source_kind], systems[flow.target_kind]
    problems: list[str] = []
    for section in flow.sections:
        try:
            problems += _section_problems(flow, section, source, target)
        except KeyError as exc:
            problems.append(f"{section.heading}: {exc.args[0]}")
    return problems


def _section_problems(flow: Dataflow, section: Section, source: SystemSpec,
                      target: SystemSpec) -> Iterator[str]:
    src_dt, tgt_dt = source.datatype(section.source), target.datatype(section.target)
    src_map = _mapping(source, section.source, section.global_type)
    tgt_map = _mapping(target, section.target, section.global_type)
    src_part, _, tgt_part = section.heading.partition(" to ")
    if not _names(source, src_dt, src_map, src_part):
        yield f"{section.heading}: does not name {source.label} {src_dt.label}"
    if not _names(target, tgt_dt, tgt_map, tgt_part):
        yield f"{section.heading}: does not name {target.label} {tgt_dt.label}"
    record = flow.record(section.record)
    wanted = section.source if record.side == SOURCE else section.target
    if section.record not in record.lines and record.datatype != wanted:
        yield f"{section.heading}: record {section.record!r} is a {record.side} {record.datatype}"
    if (record.side == TARGET or section.counterpart) and not section.origin:
        yield f"{section.heading}: the record is made on the target side without a reason"
    if section.origin:
        yield from _origin_problems(flow, section, source, target)
    for row in section.rows:
        yield from _row_problems(section, row, (src_dt, src_map), (tgt_dt, tgt_map))


def _projected(mapping: SystemMapping, record: Record) -> dict[str, Any]:
    """The global values of a record's own fields, as far as they convert on their own.

    A route looks at a few plain values (a kind, an organisation); fields the
    connector must complete first (an Invoiced discount needs its subtotal)
    and references are left out.
    """
    values = {}
    for pm in mapping.properties:
        raw = record.fields.get(pm.system)
        if not pm.reads or raw in (None, "") or isinstance(raw, Ref):
            continue
        try:
            values[pm.global_] = pm.converter.to_global(raw)
        except (TypeError, ValueError, ArithmeticError):
            continue
    return values


def _only_mapping(spec: SystemSpec, datatype: str) -> SystemMapping:
    found = spec.mappings_of(datatype)
    if len(found) != 1:
        raise KeyError(f"{spec.label} {datatype} has {len(found)} mappings")
    return found[0]


def _origin_problems(flow: Dataflow, section: Section, source: SystemSpec,
                     target: SystemSpec) -> Iterator[str]:
    """A record made on the target side must be one talk would not create there itself.

    The probe, a source record of the section's datatype, is projected to
    global values and offered to the target's route, which must refuse it.
    Lines go where their parent goes, so for lines the probe is a parent and
    the parents' route is asked.
    """
    if not section.probe:
        yield f"{section.heading}: an origin needs a probe: a source record the target refuses"
        return
    src_dt, tgt_dt = source.datatype(section.source), target.datatype(section.target)
    src_map = _mapping(source, section.source, section.global_type)
    tgt_map = _mapping(target, section.target, section.global_type)
    if src_dt.child_of is not None and tgt_dt.child_of is not None:
        src_dt = source.datatype(src_dt.child_of.parent)
        src_map = _only_mapping(source, src_dt.name)
        tgt_map = _only_mapping(target, tgt_dt.child_of.parent)
    probe = flow.record(section.probe)
    if probe.handle != section.probe or probe.side != SOURCE or probe.datatype != src_dt.name:
        yield f"{section.heading}: probe {section.probe!r} is not a source {src_dt.name} record"
        return
    entity = Entity("probe", dict(probe.fields))
    if not src_map.accepts(entity):
        yield f"{section.heading}: probe {section.probe!r} is not {src_map.facet or 'mapped'}"
        return
    if tgt_map.routes({**src_map.defaults, **_projected(src_map, probe)}):
        yield (f"{section.heading}: talk would create {section.probe!r} in "
               f"{tgt_map.datatype}, so the record need not be made there: {section.origin}")


def _row_problems(section: Section, row: Row, source: tuple[DataType, SystemMapping],
                  target: tuple[DataType, SystemMapping]) -> Iterator[str]:
    (src_dt, src_map), (tgt_dt, tgt_map) = source, target
    where = f"{section.heading}: {row.source} -> {row.target}"
    src_pm, tgt_pm = _pm(src_map, row.source), _pm(tgt_map, row.target)
    ids = row.source == src_dt.id_field and row.target == tgt_dt.id_field
    if not ids and (src_pm is None or tgt_pm is None or src_pm.global_ != tgt_pm.global_):
        yield f"{where}: the two properties do not meet in one global property"
        return
    flows_back = (not ids and tgt_pm is not None and tgt_pm.reads
                  and src_pm is not None and src_pm.writes and not _frozen(src_dt, row.source)
                  and not _frozen(tgt_dt, row.target))
    if row.one_way and flows_back:
        yield f"{where}: declared one-way ({row.one_way}), but the schemas let it flow back"
    if not row.one_way and not flows_back:
        yield f"{where}: cannot be edited on the target and flow back; declare why in one_way"
    if not row.one_way and row.edit is None:
        yield f"{where}: no edit is declared"
