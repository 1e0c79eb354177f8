"""The dataflow document between two kinds of system, composed from their mappings.

Systems never map to each other directly: each maps its datatypes to the
global datatypes. What flows from one system to another is therefore the
composition of two mappings that meet in the same global datatype, and within
it, of two property mappings that meet in the same global property. Writing
the document from the registered mappings keeps it true to what the engine
does, instead of a hand-kept list that drifts.

The reStructuredText layout is that of the QA checklists the project was
seeded with (``/work/shared/seeds``): one section per pair of datatypes, each
with a ``list-table`` of source property, target property and target data
type. ``parse_rst`` reads that layout back, so our output and the seeds can be
compared section by section and row by row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import attrs

from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.mapping import Mapping, PropertyMapping
from talk_core.model import DataType, PropertyType
from talk_core.system import SystemSpec

__all__ = ["Dataflow", "Row", "dataflows", "parse_rst", "render"]


@attrs.frozen
class Row:
    """One property that flows: source field, target field, target data type.

    ``target_type`` is kept in the form the document shows it (``"string"``,
    double quotes included), so a row read back from a document compares
    equal to the row it was written from.
    """

    source_property: str
    target_property: str
    target_type: str

    @property
    def cells(self) -> tuple[str, str, str]:
        """The three table cells, as ``parse_rst`` returns them."""
        return (self.source_property, self.target_property, self.target_type)


@attrs.frozen
class Dataflow:
    """Records of one source datatype (or facet) kept in sync with one target datatype.

    ``source_mapping`` and ``target_mapping`` are the keys of the two mappings
    that meet (``Mapping.key``); ``source_datatype`` and ``target_datatype``
    the datatypes the section names, which for lines a parent carries inline
    is the parent. Together they find the same pairing in the other
    direction, whose labels may differ (see ``_target_label``).
    """

    source_label: str
    target_label: str
    global_type: str
    rows: tuple[Row, ...] = ()
    source_mapping: str = ""
    target_mapping: str = ""
    source_datatype: str = ""
    target_datatype: str = ""
    #: talk writes no field of the target (a datatype its system lets be read only)
    read_only_target: bool = False
    #: talk writes no field of the source: edits flow from it only
    read_only_source: bool = False
    #: the options an instance must set for this flow: (system label, option) pairs
    opt_in: tuple[tuple[str, str], ...] = ()


def _label(mapping: Mapping, datatype: DataType) -> str:
    """A datatype's label, with the facet in brackets when the mapping is one view of it."""
    return f"{datatype.label} ({mapping.facet})" if mapping.facet else datatype.label


def _created_kind(mapping: Mapping) -> str:
    """What a record created through ``mapping`` is, in the system's words.

    The values ``on_create`` sets are what make a new record belong to its
    facet (Invoiced ``type = "company"``), so they name the kind: "company".
    Empty when the mapping sets nothing on create.
    """
    return " ".join(str(v) for v in mapping.on_create.values())


def _target_label(source: Mapping, target: Mapping, datatype: DataType) -> str:
    """The target's label: its facet, or the kind of record it creates.

    When the source is a facet too, records stay within their facet
    (organisation data to organisation data), so the facet names the target.
    When the source is a whole datatype (a CRM's Customer), nothing on the
    source side is a facet of the target: each record becomes one new record
    of the kind the target mapping creates, and the section names that kind
    ("Customers company"). A facet that sets nothing on create keeps its
    facet label.
    """
    kind = _created_kind(target)
    if target.facet and not source.facet and kind:
        return f"{datatype.label} {kind}"
    return _label(target, datatype)


def _type_cell(datatype: DataType, name: str) -> str:
    """The target's declared type of ``name``; undeclared fields (often the id) are text."""
    try:
        kind = datatype.property(name).type.value
    except KeyError:
        kind = "string"
    return f'"{kind}"'


def _sends(pm: PropertyMapping, datatype: DataType) -> bool:
    """Whether talk ever writes this target property.

    A property mapped only into talk, or declared read-only by the system, is
    never sent (``Mapping.to_system`` skips it), so no data flows into it.
    Create-only fields are sent when a record is created, so they count.
    """
    if not pm.writes:
        return False
    try:
        return not datatype.property(pm.system).read_only
    except KeyError:
        return True


def _rows(source: Mapping, source_dt: DataType, target: Mapping, target_dt: DataType
          ) -> tuple[Row, ...]:
    """Property pairs that meet in one global property, in the target mapping's order.

    A source mapping that reads its own id field makes the record's identity
    part of the dataflow: the link ties it to the target's id field, so that
    pair is listed too (after the others) when nothing else carries it.
    """
    rows = []
    for tpm in target.pairs:
        if not _sends(tpm, target_dt):
            continue
        for spm in source.pairs:
            row = Row(spm.system, tpm.system, _type_cell(target_dt, tpm.system))
            if spm.reads and spm.global_ == tpm.global_ and row not in rows:
                rows.append(row)  # once: parts of one composed property meet twice
    # a constant hung on the id (a location's kind) carries nothing of the record's identity
    reads_id = any(spm.reads and spm.system == source_dt.id_field
                   and not spm.converter.name.startswith("constant ")
                   for spm in source.properties)
    # ... nor into a target talk writes nothing of (what its system lets be read only)
    if reads_id and not _takes_nothing(target, target_dt) and not any(
            r.target_property == target_dt.id_field for r in rows):
        rows.append(Row(source_dt.id_field, target_dt.id_field, '"string"'))
    return tuple(rows)


def _fixed(mapping: Mapping) -> dict[str, object]:
    """Global properties every record read through ``mapping`` has one value of.

    A constant read into talk (an Exact unit's ``kind`` "unit", an employee's
    home address's "home") fixes what the record is; matching keys carry
    it, so a record of one value never meets one of another.
    """
    return {pm.global_: pm.converter.to_global(None) for pm in mapping.properties
            if pm.reads and pm.converter.name.startswith("constant ")}


def _can_meet(source: Mapping, target: Mapping) -> bool:
    """Whether records of the two mappings can ever be one global record.

    Not when both fix one property to different values: Exact's units and
    currencies are both code list entries, but a unit is never a currency.
    """
    fixed, other = _fixed(source), _fixed(target)
    return all(other[name] == value for name, value in fixed.items() if name in other)


def _takes_nothing(target: Mapping, datatype: DataType) -> bool:
    """Whether talk writes no field of the target: its system lets it be read only."""
    return not any(_sends(pm, datatype) for pm in target.pairs)


def _global_order(source: SystemSpec, target: SystemSpec) -> list[str]:
    """The engine's sync order; types no hub model knows go last, as first seen."""
    order = list(GLOBAL_TYPES)
    for m in (*source.mappings, *target.mappings):
        if m.global_type not in order:
            order.append(m.global_type)
    return order


def dataflows(source: SystemSpec, target: SystemSpec) -> list[Dataflow]:
    """Every pair of source and target mapping that share a global datatype.

    Pairs are ordered by global type (the engine's sync order), then by the
    source's mapping order, then by the target's. ``source`` and ``target``
    may be the same kind of system (two accounts of one product): each
    mapping then meets every mapping of its own global type, itself included,
    but never a facet of another global type. Two mappings whose records can
    never be one global record (``_can_meet``) make no pair.
    """
    flows = []
    for gtype in _global_order(source, target):
        for sm in source.mappings_for(gtype):
            sdt = source.datatype(sm.datatype)
            for tm in target.mappings_for(gtype):
                if not _can_meet(sm, tm):
                    continue
                tdt = target.datatype(tm.datatype)
                rows = _rows(sm, sdt, tm, tdt)
                slabel, tlabel = _label(sm, sdt), _target_label(sm, tm, tdt)
                pair: dict[str, str] = {"source_mapping": sm.key, "target_mapping": tm.key}
                read_only = _takes_nothing(tm, tdt)
                pair_opt_in = _opt_in(source, sm, target, tm)
                ro_source = _takes_nothing(sm, sdt)
                flows.append(Dataflow(slabel, tlabel, gtype, rows, **pair,
                                      source_datatype=sdt.name, target_datatype=tdt.name,
                                      read_only_target=read_only, opt_in=pair_opt_in,
                                      read_only_source=ro_source))
                # lines a system only takes inline with their parent also flow "into" the parent
                carrier = _inline_parent(target, tdt)
                if carrier is not None:
                    flows.append(Dataflow(slabel, carrier.label, gtype, rows, **pair,
                                          source_datatype=sdt.name,
                                          target_datatype=carrier.name,
                                          read_only_target=read_only, opt_in=pair_opt_in,
                                      read_only_source=ro_source))
                carrier = _inline_parent(source, sdt)
                if carrier is not None:
                    flows.append(Dataflow(carrier.label, tlabel, gtype, rows, **pair,
                                          source_datatype=carrier.name,
                                          target_datatype=tdt.name,
                                          read_only_target=read_only, opt_in=pair_opt_in,
                                      read_only_source=ro_source))
    return flows


def _opt_in(source: SystemSpec, sm: Mapping, target: SystemSpec, tm: Mapping
            ) -> tuple[tuple[str, str], ...]:
    """The options the two sides' instances must set for their mappings to be synced."""
    return tuple(dict.fromkeys((spec.label, m.opt_in) for spec, m in ((source, sm), (target, tm))
                               if m.opt_in))


def _inline_parent(spec: SystemSpec, datatype: DataType) -> DataType | None:
    """The parent that carries ``datatype``'s records inline, if any.

    Inline on create (Exact's documents take their lines with them), or
    always, in a field of lines the parent declares (a custom order whose
    ``lines`` are an array in the order's record).
    """
    if datatype.child_of is None:
        return None
    try:
        parent = spec.datatype(datatype.child_of.parent)
    except KeyError:
        return None
    kept = any(p.type is PropertyType.CHILDREN and p.child == datatype.name
               for p in parent.properties)
    return parent if datatype.child_of.inline_on_create or kept else None


def _stamp(generated: datetime | None) -> str:
    """The generation time as the seeds show it; aware times are shown in UTC."""
    when = datetime.now(UTC) if generated is None else generated
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _introduction(source: SystemSpec, target: SystemSpec) -> str:
    return (
        f"This page is generated by talk from the mappings that the {source.label} and "
        f"{target.label} plugins register. Each section below names one kind of "
        f"{source.label} record and the kind of {target.label} record it is paired with, "
        f"because both are mapped to the same global datatype, and tabulates the fields "
        f"that talk copies between them. Use it as a checklist when testing an "
        f"installation: a section with an empty table still describes a pairing that "
        f"talk maintains, even though no field travels in this direction."
    )


def _a(noun: str) -> str:
    """The article for ``noun`` as spoken: "an Invoiced", "an Exact Online", "a Custom CRM"."""
    return "an" if noun[:1].lower() in "aeio" else "a"


def _section_text(src: str, tgt: str, names: str = "", *, read_only: bool = False,
                  read_only_source: bool = False,
                  opt_in: tuple[tuple[str, str], ...] = (), code: str = "``") -> list[str]:
    """Our own wording of what one section promises; headings and tables carry the data.

    ``names``: the datatypes as declared, the one name every command shows
    and ``--datatype`` takes (the headings keep the labels of the dataflow
    documents talk's are compared with). ``read_only``: talk never writes
    the target, so edits go one way only, and the text must not promise both;
    ``read_only_source`` the same of the source.
    """
    aligned = ("When the two records are linked, talk keeps them aligned in both directions: "
               "an edit made on either side reaches the other on the next run.")
    for read, other, flag in ((tgt, src, read_only), (src, tgt, read_only_source)):
        if flag:
            aligned = (f"Its system lets talk only read {read} records: when the two records "
                       f"are linked, an edit made to the {read} record reaches the {other} "
                       f"record on the next run, and nothing is written back to it.")
    if read_only and read_only_source:
        aligned = (f"Their systems let talk only read {src} and {tgt} records: talk links "
                   f"the two records where they match, and writes neither.")
    if opt_in:
        options = " and ".join(f"the {system} instance sets {code}{option}{code}"
                               for system, option in opt_in)
        aligned += f" Only synced where {options}: by default these records stay out."
    return [
        f"talk pairs each {src} record with {_a(tgt)} {tgt} record." + names,
        "",
        aligned,
        "",
        f"Fields copied from {src} to {tgt}:",
    ]


def _declared(source: SystemSpec, target: SystemSpec, flow: Dataflow, code: str) -> str:
    """`` In talk's commands: `lineitems` of Invoiced and `SalesOrders` of Exact Online.``"""
    if not flow.source_datatype or not flow.target_datatype:
        return ""

    def c(text: str) -> str:
        return f"{code}{text}{code}"

    return (f" In talk's commands ({c('talk sync')}, {c('talk links')}, {c('--datatype')}) "
            f"they are {c(flow.source_datatype)} of {source.label} and "
            f"{c(flow.target_datatype)} of {target.label}.")


def _heading(source: SystemSpec, target: SystemSpec, flow: Dataflow) -> tuple[str, str]:
    src = f"{source.label} {flow.source_label}"
    tgt = f"{target.label} {flow.target_label}"
    return src, tgt


def _render_rst(source: SystemSpec, target: SystemSpec, flows: list[Dataflow],
                stamp: str) -> str:
    title = f"{source.label} to {target.label} Dataflow"
    lines = [
        "=" * len(title), title, "=" * len(title), "",
        f"Generated: {stamp}", "",
        "Introduction", "-" * len("Introduction"), "",
        _introduction(source, target), "",
    ]
    for i, flow in enumerate(flows):
        if i:
            lines.append("")  # the seeds leave two blank lines between sections
        src, tgt = _heading(source, target, flow)
        heading = f"{src} to {tgt}"
        lines += [heading, "-" * len(heading)]
        lines += _section_text(src, tgt, _declared(source, target, flow, "``"),
                               read_only=flow.read_only_target, opt_in=flow.opt_in,
                               read_only_source=flow.read_only_source)
        lines += [
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "",
            f"   * - {src} Property",
            f"     - {tgt} Property",
            f"     - {target.label} Data Type",
        ]
        for row in flow.rows:
            lines += [
                f"   * - {row.source_property}",
                f"     - {row.target_property}",
                f"     - {row.target_type}",
            ]
        lines.append("")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    """Table cells must not end the cell early."""
    return text.replace("|", "\\|")


def _md_code(text: str) -> str:
    """Backticks around a field name, longer ones if the name has a backtick."""
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return _md_cell(f"{fence}{pad}{text}{pad}{fence}")


def _render_md(source: SystemSpec, target: SystemSpec, flows: list[Dataflow],
               stamp: str) -> str:
    lines = [
        f"# {source.label} to {target.label} Dataflow", "",
        f"_Generated: {stamp}_", "",
        "## Introduction", "",
        _introduction(source, target), "",
    ]
    for flow in flows:
        src, tgt = _heading(source, target, flow)
        lines += [f"## {src} to {tgt}", ""]
        lines += _section_text(src, tgt, _declared(source, target, flow, "`"),
                               read_only=flow.read_only_target, opt_in=flow.opt_in, code="`",
                               read_only_source=flow.read_only_source)
        lines += [
            "",
            f"| {_md_cell(src)} Property | {_md_cell(tgt)} Property "
            f"| {_md_cell(target.label)} Data Type |",
            "|---|---|---|",
        ]
        for row in flow.rows:
            lines.append(f"| {_md_code(row.source_property)} | {_md_code(row.target_property)} "
                         f"| {row.target_type} |")
        lines.append("")
    return "\n".join(lines)


def render(source: SystemSpec, target: SystemSpec, *, fmt: str = "rst",
           generated: datetime | None = None) -> str:
    """The dataflow document from ``source`` to ``target``, as ``rst`` or ``md``.

    ``generated`` is the time shown in the document (now, in UTC, by default);
    tests pass a fixed one so the output is reproducible.
    """
    flows = dataflows(source, target)
    stamp = _stamp(generated)
    if fmt == "rst":
        return _render_rst(source, target, flows, stamp)
    if fmt == "md":
        return _render_md(source, target, flows, stamp)
    raise ValueError(f"unknown document format {fmt!r}: expected 'rst' or 'md'")


_DASHES = re.compile(r"-+")
_HEADER_ROWS = re.compile(r":header-rows:\s*(\d+)")


def _headings(lines: list[str]) -> list[int]:
    """Indexes of lines underlined with dashes (and not overlined)."""
    out = []
    for i in range(len(lines) - 1):
        text, under = lines[i].rstrip(), lines[i + 1].rstrip()
        if (text and not text[0].isspace() and _DASHES.fullmatch(under)
                and len(under) >= len(text)
                and not (i > 0 and lines[i - 1].rstrip() == under)):
            out.append(i)
    return out


def _table_rows(body: list[str]) -> list[tuple[str, str, str]] | None:
    """The data rows of the first ``list-table`` in ``body``; None when there is none."""
    start = next((i for i, line in enumerate(body)
                  if line.strip().startswith(".. list-table::")), None)
    if start is None:
        return None
    header_rows = 0
    rows: list[list[str]] = []
    for line in body[start + 1:]:
        stripped = line.strip()
        if not stripped:
            continue
        if not line[:1].isspace():
            break  # the directive's indented block is over
        option = _HEADER_ROWS.fullmatch(stripped)
        if option and not rows:
            header_rows = int(option.group(1))
        elif stripped.startswith("* -") or stripped == "*":
            rows.append([stripped[3:].strip()] if stripped != "*" else [])
        elif (stripped.startswith("- ") or stripped == "-") and rows:
            rows[-1].append(stripped[1:].strip())
        elif rows and rows[-1]:
            rows[-1][-1] = f"{rows[-1][-1]} {stripped}".strip()  # a wrapped cell
    out = []
    for cells in rows[header_rows:]:
        if len(cells) != 3:
            raise ValueError(f"a dataflow table row has {len(cells)} cells, not 3: {cells}")
        out.append((cells[0], cells[1], cells[2]))
    return out


def parse_rst(text: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Read a dataflow document back into (section heading, table rows), in order.

    A section is a heading underlined with dashes whose body holds a
    ``list-table``; other sections (the introduction) are left out. Rows are
    the table's data rows as (source property, target property, data type)
    with the cells' text as written, so ``"string"`` keeps its quotes. It
    reads the seed documents and ``render``'s output alike, which is what
    lets the two be compared.
    """
    lines = text.splitlines()
    starts = _headings(lines)
    sections = []
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        rows = _table_rows(lines[i + 2:end])
        if rows is not None:
            sections.append((lines[i].strip(), rows))
    return sections
