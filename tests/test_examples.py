"""The seed examples run as a user runs them, and show the records each seed section promises.

Each script is run from the repository root as ``python examples/NAME.py``.
Its output lists, per seed section, the records that landed in the target
(``  <section>:`` then ``    - field=value, ...``); the test checks that the
records the script made on the source side are listed under their section,
that every section of the seed document is shown, and that the edit made on
the target side is reported back in the source.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from talk_core.docs import parse_rst

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SEEDS = Path("/work/shared/seeds")

#: script -> section heading -> names that must be listed under it.
LANDED: dict[str, dict[str, list[str]]] = {
    "seed_000_invoiced_to_invoiced.py": {
        "Invoiced Customers (human data) to Invoiced Customers (human data)": ["Ola Hansen"],
        "Invoiced Customers (organisation data) to Invoiced Customers (organisation data)": [
            "Nordlys Regnskap AS"],
    },
    "seed_001_customcrm_to_invoiced.py": {
        "Customcrm Customer to Invoiced Customers company": ["Acme AS", "Bolt AB"],
        "Customcrm Order to Invoiced Invoices": ["number='1001'"],
        "Customcrm Product to Invoiced Items": ["BREAD-1"],
        "Customcrm User to Invoiced Invoices": ["number='LIC-7'", "CRM Pro seat"],
    },
    "seed_002_invoiced_to_custompms.py": {
        "Invoiced Customers (organisation data) to Custom PMS Customer": [
            "Fjordhotellet AS", "Sjøbua Kafé"],
    },
    "seed_003_customwebshop_to_invoiced.py": {
        "Customwebshop Customer to Invoiced Customers company": [
            "Kaffebrenneriet Vest AS", "Mølla Bakeri"],
        "Customwebshop Order to Invoiced Invoices": ["number='W-5001'"],
        "Customwebshop Product to Invoiced Items": ["MOL-200", "KOF-001"],
    },
    "seed_004_invoiced_to_exactonline.py": {
        "Invoiced Customers (organisation data) to Exact Online Accounts": ["Acme Norge AS"],
        "Invoiced Customers (location data) to Exact Online Addresses": ["Storgata 1"],
        "Invoiced Customers (human data) to Exact Online Contacts": ["Kari Nordmann"],
        "Invoiced Contacts to Exact Online Contacts": ["Ola Hansen"],
        "Invoiced Contacts to Exact Online Addresses": ["Postboks 12"],
        "Invoiced Items to Exact Online Items": ["widget", "consulting"],
        "Invoiced Invoices to Exact Online Salesorders": ["Discount=10"],
        "Invoiced Lineitem to Exact Online Salesorderlines": ["Quantity=2", "Quantity=3"],
        "Invoiced Invoices to Exact Online Quotations": ["Koffie-inrichting"],
        "Invoiced Lineitem to Exact Online Quotations": ["Quantity=10"],
    },
}

#: script -> what the source shows after the second sync: the target's edit came back.
FLOWED_BACK = {
    "seed_000_invoiced_to_invoiced.py": "Ola Hansen email = 'ola.hansen@example.no'",
    "seed_001_customcrm_to_invoiced.py": "In the CRM: Acme AS email = 'faktura@acme.no'",
    "seed_002_invoiced_to_custompms.py": "Fjordhotellet AS phone = '+47 55 99 99 99'",
    "seed_003_customwebshop_to_invoiced.py": "MOL-200 name = 'Coffee grinder, steel'",
    "seed_004_invoiced_to_exactonline.py": "Acme Norge AS city = 'Drammen'",
}

_SECTION = re.compile(r"^  (\S.*):$")
_RECORD = re.compile(r"^    - (.*)$")


def _sections(output: str) -> dict[str, list[str]]:
    """Section title -> the record lines listed under it."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        if (title := _SECTION.match(line)) is not None:
            current = out.setdefault(title.group(1), [])
        elif (record := _RECORD.match(line)) is not None and current is not None:
            current.append(record.group(1))
        else:
            current = None
    return out


def _under(sections: dict[str, list[str]], heading: str) -> list[str]:
    """The records of the section that the heading starts (a script may add a note)."""
    found = [lines for title, lines in sections.items()
             if title == heading or title.startswith(heading + " (")]
    assert found, f"no section {heading!r} among {sorted(sections)}"
    return [line for lines in found for line in lines]


def test_every_seed_example_is_checked() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("seed_*.py")) == sorted(LANDED)
    assert set(FLOWED_BACK) == set(LANDED)


@pytest.mark.parametrize("script", sorted(LANDED))
def test_example_runs_and_shows_what_landed_and_what_came_back(script: str) -> None:
    done = subprocess.run([sys.executable, f"examples/{script}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sections = _sections(done.stdout)
    missing = [f"{heading}: {name}" for heading, names in LANDED[script].items()
               for name in names if not any(name in line for line in _under(sections, heading))]
    assert not missing, f"not listed in the output of {script}: {missing}\n{done.stdout}"
    assert FLOWED_BACK[script] in done.stdout.split("Second sync", 1)[-1], done.stdout
    seed = sorted(SEEDS.glob(f"{script[5:8]}_*.txt")) if SEEDS.is_dir() else []
    for path in seed:
        for heading, _rows in parse_rst(path.read_text(encoding="utf-8")):
            _under(sections, heading)  # every section of the seed is shown


def test_section_parser_reads_records_under_their_title() -> None:
    text = "First sync\n  A to B:\n    - name='x'\n    - name='y'\n  C to D (note):\n" \
           "    (none)\nEdited\n    - name='z'\n"
    sections = _sections(text)
    assert sections == {"A to B": ["name='x'", "name='y'"], "C to D (note)": []}
    assert _under(sections, "C to D") == []
    with pytest.raises(AssertionError, match="no section 'E to F'"):
        _under(sections, "E to F")
