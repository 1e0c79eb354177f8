"""``talk docs`` covers every seed dataflow document, and the way back too.

Each seed document names its pair of system kinds in its title ("Customcrm
to Invoiced Dataflow"); the pair is found among the registered systems by
their display names, so a new seed document is checked without editing this
file. For each seed, the document ``talk docs SOURCE TARGET`` writes must have
every section of the seed (same heading: both datatype labels, facets
included) and every row of its tables (source property, target property,
target data type). A seed may repeat a section; ours may have it once.

The sync is two-way, so ``talk docs TARGET SOURCE`` must pair the same
mappings the other way round, and every row that can flow back (the target
reads the property, the source accepts writes to it) must be in the
mirrored section with its columns swapped.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs
import pytest
from click.testing import CliRunner

from talk_core.cli.main import cli
from talk_core.docs import Dataflow, dataflows, parse_rst
from talk_core.mapping import Mapping, PropertyMapping
from talk_core.model import DataType
from talk_core.plugins import get_systems
from talk_core.system import SystemSpec

SEEDS = Path("/work/shared/seeds")
Cells = tuple[str, str, str]


def _seed_files() -> list[Path]:
    return sorted(SEEDS.glob("0*.txt")) if SEEDS.is_dir() else []


pytestmark = pytest.mark.skipif(not _seed_files(), reason=f"no seed documents in {SEEDS}")


@attrs.frozen
class Seed:
    """One seed document and the pair of registered system kinds its title names."""

    name: str
    source: SystemSpec
    target: SystemSpec
    sections: list[tuple[str, list[Cells]]]


def _title(text: str) -> str:
    """The document's title: the line between the first two ``=`` rules."""
    lines = [line.strip() for line in text.splitlines()]
    for i in range(1, len(lines) - 1):
        if lines[i] and lines[i - 1] and set(lines[i - 1]) == {"="}:
            return lines[i]
    raise AssertionError("no title between '=' rules")


def _pair(title: str, specs: dict[str, SystemSpec]) -> tuple[SystemSpec, SystemSpec]:
    """The registered kinds whose display names make up ``"<source> to <target> Dataflow"``."""
    found = [(s, t) for s in specs.values() for t in specs.values()
             if title == f"{s.label} to {t.label} Dataflow"]
    labels = sorted(s.label for s in specs.values())
    assert len(found) == 1, f"title {title!r} names {len(found)} pairs of {labels}"
    return found[0]


def _load(path: Path) -> Seed:
    text = path.read_text(encoding="utf-8")
    try:
        source, target = _pair(_title(text), get_systems())
    except AssertionError as exc:
        raise AssertionError(f"{path.name}: {exc}") from None
    return Seed(path.name, source, target, parse_rst(text))


@pytest.fixture(params=_seed_files(), ids=lambda p: p.name[:3])
def seed(request: pytest.FixtureRequest) -> Seed:
    return _load(request.param)


@pytest.fixture(autouse=True)
def _no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the installed plugins: no ``talk.toml`` from the working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)


def _talk_docs(source: SystemSpec, target: SystemSpec) -> list[tuple[str, list[Cells]]]:
    out = CliRunner().invoke(cli, ["docs", source.name, target.name, "--format", "rst"])
    assert out.exit_code == 0, out.output
    return parse_rst(out.output)


def _merged(sections: Iterable[tuple[str, list[Cells]]]) -> dict[str, set[Cells]]:
    """Heading -> every row under it; a repeated heading is one section."""
    merged: dict[str, set[Cells]] = {}
    for heading, rows in sections:
        merged.setdefault(heading, set()).update(rows)
    return merged


def _report(seed: Seed, problems: list[str]) -> str:
    pair = f"{seed.source.name} -> {seed.target.name}"
    return f"{seed.name} ({pair}):\n  " + "\n  ".join(problems)


def test_seed_titles_name_registered_system_kinds() -> None:
    pairs = {p.name[:3]: tuple(s.name for s in _pair(_title(p.read_text()), get_systems()))
             for p in _seed_files()}
    # the five documents the project started from; later ones are checked all the same
    assert {k: v for k, v in pairs.items() if k in {"000", "001", "002", "003", "004"}} == {
        "000": ("invoiced", "invoiced"), "001": ("customcrm", "invoiced"),
        "002": ("invoiced", "custompms"), "003": ("customwebshop", "invoiced"),
        "004": ("invoiced", "exactonline")}


def test_a_title_that_names_no_registered_kind_is_reported() -> None:
    with pytest.raises(AssertionError, match="'Nobody to Invoiced Dataflow' names 0 pairs"):
        _pair("Nobody to Invoiced Dataflow", get_systems())


def test_talk_docs_has_every_section_and_row_of_the_seed(seed: Seed) -> None:
    ours = _merged(_talk_docs(seed.source, seed.target))
    problems = []
    for heading, rows in _merged(seed.sections).items():
        if heading not in ours:
            problems.append(f"missing section: {heading}")
            continue
        problems += [f"missing row in {heading}: {' | '.join(row)}"
                     for row in sorted(rows - ours[heading])]
    assert not problems, _report(seed, problems)
    assert seed.sections  # a seed with no section would check nothing


def _heading(source: SystemSpec, target: SystemSpec, flow: Dataflow) -> str:
    return f"{source.label} {flow.source_label} to {target.label} {flow.target_label}"


def _by_key(spec: SystemSpec) -> dict[str, Mapping]:
    return {m.key: m for m in spec.mappings}


def _written(pm: PropertyMapping, datatype: DataType) -> bool:
    """Whether talk writes this system property through this property mapping."""
    prop = datatype.find(pm.system)
    return pm.writes and (prop is None or not prop.read_only)


def _type_cell(datatype: DataType, name: str) -> str:
    prop = datatype.find(name)
    return f'"{prop.type.value if prop is not None else "string"}"'


def _back(flow: Dataflow, source: SystemSpec, target: SystemSpec) -> set[Cells]:
    """The rows of ``flow`` that also flow back, with their columns swapped.

    A row flows back when the target mapping reads the target property into
    the same global property that the source mapping writes to the source
    property. The rows that flow one way only do so for a reason the
    mappings state: the system assigns the value itself (Invoiced's and
    Exact's ids, Exact's document numbers), it is read-only there (an
    invoice's status), or it is a constant of the facet (an address kind).
    """
    sm, tm = _by_key(source)[flow.source_mapping], _by_key(target)[flow.target_mapping]
    sdt = source.datatype(sm.datatype)
    back = set()
    for row in flow.rows:
        for spm in sm.properties:
            if spm.system != row.source_property or not _written(spm, sdt):
                continue
            if any(tpm.system == row.target_property and tpm.reads
                   and tpm.global_ == spm.global_ for tpm in tm.properties):
                back.add((row.target_property, row.source_property,
                          _type_cell(sdt, row.source_property)))
    return back


def _mirror(flow: Dataflow, reverse: list[Dataflow]) -> Dataflow | None:
    for r in reverse:
        if ((r.source_mapping, r.target_mapping, r.source_datatype, r.target_datatype)
                == (flow.target_mapping, flow.source_mapping, flow.target_datatype,
                    flow.source_datatype)):
            return r
    return None


def test_the_reverse_document_mirrors_the_forward_one(seed: Seed) -> None:
    source, target = seed.source, seed.target
    forward_doc = _merged(_talk_docs(source, target))
    reverse_doc = _merged(_talk_docs(target, source))
    forward, reverse = dataflows(source, target), dataflows(target, source)
    problems = []
    for flow in forward:
        heading = _heading(source, target, flow)
        if heading not in forward_doc:
            problems.append(f"talk docs lacks its own dataflow: {heading}")
            continue
        back = _mirror(flow, reverse)
        if back is None:
            problems.append(f"no way back for: {heading}")
            continue
        back_heading = _heading(target, source, back)
        if back_heading not in reverse_doc:
            problems.append(f"reverse document lacks: {back_heading} (mirror of {heading})")
            continue
        problems += [f"row does not flow back in {back_heading}: {' | '.join(row)}"
                     for row in sorted(_back(flow, source, target) - reverse_doc[back_heading])]
    assert not problems, _report(seed, problems)
    assert len(forward_doc) == len({_heading(source, target, f) for f in forward})


def test_rows_that_flow_back_are_found_in_a_known_pair() -> None:
    """The mirror check above has rows to compare: seed 004's accounts come back by name."""
    specs = get_systems()
    invoiced, exact = specs["invoiced"], specs["exactonline"]
    [accounts] = [f for f in dataflows(invoiced, exact)
                  if (f.source_label, f.target_label) == ("Customers (organisation data)",
                                                          "Accounts")]
    back = _back(accounts, invoiced, exact)
    assert ("Name", "name", '"string"') in back
    assert not any(row[1] == "id" for row in back)  # Invoiced assigns its ids: never written
