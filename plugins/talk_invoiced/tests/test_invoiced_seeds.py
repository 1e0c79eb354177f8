"""Every Invoiced dataflow the seed documents name exists in the plugin's mappings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from talk_core.docs import dataflows, parse_rst
from talk_invoiced.plugin import INVOICED_SPEC

SEEDS = Path("/work/shared/seeds")
pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed documents are not here")


def _seed(prefix: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return parse_rst(path.read_text())


def _labels() -> set[str]:
    spec = INVOICED_SPEC
    out = set()
    for m in spec.mappings:
        label = spec.datatype(m.datatype).label
        out.add(f"{label} ({m.facet})" if m.facet else label)
    return out


def test_seed_000_invoiced_to_invoiced_sections_exist_with_their_rows() -> None:
    spec = INVOICED_SPEC
    ours = {}
    for flow in dataflows(spec, spec):
        heading = f"{spec.label} {flow.source_label} to {spec.label} {flow.target_label}"
        ours.setdefault(heading, set()).update(r.cells for r in flow.rows)
    sections = _seed("000")
    assert sections
    for heading, rows in sections:
        assert heading in ours, heading
        assert set(rows) <= ours[heading], (heading, set(rows) - ours[heading])


@pytest.mark.parametrize("prefix", ["001", "002", "003", "004"])
def test_every_invoiced_datatype_named_in_a_seed_exists(prefix: str) -> None:
    named = set()
    for heading, _rows in _seed(prefix):
        for part in re.split(r" to ", heading):
            if part.startswith("Invoiced "):
                named.add(part.removeprefix("Invoiced "))
    assert named
    # "Customers company" (seeds 001 and 003) is what the organisation facet creates
    # (type = "company") when the source is not a facet
    wanted = {"Customers (organisation data)" if n == "Customers company" else n for n in named}
    assert wanted <= _labels(), wanted - _labels()


def test_seed_004_invoiced_properties_are_mapped_in_the_named_facet() -> None:
    spec = INVOICED_SPEC
    by_label = {}
    for m in spec.mappings:
        label = spec.datatype(m.datatype).label
        key = f"{label} ({m.facet})" if m.facet else label
        by_label.setdefault(key, set()).update(pm.system for pm in m.properties if pm.reads)
    checked = 0
    for heading, rows in _seed("004"):
        source = heading.split(" to ")[0].removeprefix("Invoiced ")
        for invoiced_property, _exact, _type in rows:
            assert invoiced_property in by_label[source], (heading, invoiced_property)
            checked += 1
    assert checked >= 10
