"""``talk docs`` between configured systems: every pair of the five kinds, each shown as its
options make it (a custom system's composed properties, Exact's company datatypes).

The systems are configured in talk.toml as an installation would (``[systems.NAME]``);
no system is called, since the document is made from the mappings alone.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from talk_core.cli.main import cli
from talk_core.docs import parse_rst

CONFIG = """
[systems.billing]
connector = "invoiced"
api_key = "${INV_KEY}"

[systems.erp]
connector = "exactonline"
client_id = "app"
client_secret = "${EXACT_SECRET}"
company_data = true

[systems.ledger]
connector = "exactonline"
client_id = "app"
client_secret = "${EXACT_SECRET}"

[systems.crm]
connector = "customcrm"
base_url = "http://127.0.0.1:9"

[systems.crm.datatypes.people]
global = "human"

[systems.crm.datatypes.people.fields]
first_name = "string"
last_name = "string"
email = "string"
street_1 = "string"
street_2 = "string"
street_3 = "string"

[systems.crm.datatypes.people.map]
name = ["first_name", "last_name"]
email = "email"
street_1 = "address_line1"
address_line2 = { parts = ["street_2", "street_3"], compose = "lines" }

[systems.shop]
connector = "customwebshop"
base_url = "http://127.0.0.1:9"

[systems.shop.datatypes.order]
lines = "lines"

[systems.pms]
connector = "custompms"
base_url = "http://127.0.0.1:9"

[systems.pms.datatypes.person]
global = "human"
fields = { full_name = "string", mail = "string", address = "string" }
map = { full_name = "name", mail = "email", address = ["address_line1", "address_line2"] }
"""

#: The five kinds, configured: name -> (label, the label of its customers).
SYSTEMS = {"billing": ("Invoiced", "Customers"), "erp": ("Exact Online", "Accounts"),
           "crm": ("Customcrm", "Customer"), "shop": ("Customwebshop", "Customer"),
           "pms": ("Custom PMS", "Customer")}
#: Each system's lines, and the documents that carry them.
LINES = {"billing": ("Lineitem",), "erp": ("Quotationlines", "Salesorderlines",
                                           "Salesinvoicelines"),
         "crm": ("Orderline", "Quoteline"), "shop": ("Orderline",), "pms": ("Task",)}
READ_ONLY = ("Employees", "Departments", "Divisions", "Units", "Currencies")

Sections = dict[str, list[tuple[str, str, str]]]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INV_KEY", "inv-key")
    monkeypatch.setenv("EXACT_SECRET", "exact-secret")
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "talk.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def docs(source: str, target: str) -> Sections:
    """``talk docs SOURCE TARGET --format md``, read back as heading -> table rows.

    Two sections may share a heading (a datatype and its facet of one label):
    their rows are then listed together.
    """
    out = CliRunner().invoke(cli, ["docs", source, target, "--format", "md"])
    assert out.exit_code == 0, out.output
    assert "Traceback" not in out.output and "talk:" not in out.output
    ordered: list[tuple[str, list[tuple[str, str, str]]]] = []
    for line in out.output.splitlines():
        if line.startswith("## "):
            ordered.append((line[3:], []))
        cells = re.fullmatch(r"\| `(.+?)` \| `(.+?)` \| (\S+) \|", line)
        if cells and ordered:
            ordered[-1][1].append((cells[1], cells[2], cells[3]))
    # the reStructuredText document carries the same sections and rows
    rst = CliRunner().invoke(cli, ["docs", source, target])
    assert rst.exit_code == 0, rst.output
    assert parse_rst(rst.output) == [(h, rows) for h, rows in ordered if h != "Introduction"]
    sections: Sections = {}
    for heading, rows in ordered:
        sections.setdefault(heading, []).extend(rows)
    return sections


def _from(sections: Sections, source: str, target: str = "") -> list[str]:
    """Headings of sections from ``source`` or a facet of it (to ``target`` or a facet or
    kind of it, when given)."""
    out = []
    for heading in sections:
        src, _to, tgt = heading.partition(" to ")
        if (src == source or src.startswith(source + " (")) and (
                not target or tgt == target or tgt.startswith(target + " ")):
            out.append(heading)
    return out


def _rows(sections: Sections, source: str, target: str = "") -> set[tuple[str, str]]:
    return {(r[0], r[1]) for h in _from(sections, source, target) for r in sections[h]}


def test_a_configured_system_shows_its_composed_properties(workdir: Path) -> None:
    crm_pms = docs("crm", "pms")
    people = _rows(crm_pms, "Customcrm People", "Custom PMS Person")
    assert {("first_name + last_name", "full_name"), ("email", "mail"),
            ("street_1", "address"), ("street_2 + street_3", "address")} <= people
    back = _rows(docs("pms", "crm"), "Custom PMS Person", "Customcrm People")
    assert {("full_name", "first_name + last_name"), ("address", "street_2 + street_3"),
            ("address", "street_1")} <= back
    # the kinds as registered know nothing of this installation's datatypes
    kinds = docs("customcrm", "custompms")
    assert not [h for h in kinds if "People" in h or "Person" in h]


def test_a_configured_exact_shows_company_datatypes_only_with_company_data(
        workdir: Path) -> None:
    assert _from(docs("erp", "billing"), "Exact Online Employees")
    assert not [h for h in docs("ledger", "billing") if "Employees" in h]


def test_an_unknown_name_lists_the_kinds_and_the_configured_systems(workdir: Path) -> None:
    out = CliRunner().invoke(cli, ["docs", "nothing", "billing"])
    assert out.exit_code == 2
    assert "unknown system kind 'nothing'" in out.output
    assert "configured: billing, crm, erp, ledger, pms, shop" in out.output


def test_a_kind_needs_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    assert _from(docs("custompms", "invoiced"), "Custom PMS Project", "Invoiced Invoices")


PAIRS = [(a, b) for a in SYSTEMS for b in SYSTEMS]


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_every_pair_shows_its_datatypes_and_flows(workdir: Path, source: str,
                                                  target: str) -> None:
    sections = docs(source, target)
    src, src_customers = SYSTEMS[source]
    tgt, tgt_customers = SYSTEMS[target]
    assert sections.pop("Introduction") == []

    # organisations and people as customers (the human facet of a customer)
    assert _from(sections, f"{src} {src_customers}", f"{tgt} {tgt_customers}")
    human = f"{src} {src_customers} (human data)"
    people = _rows(sections, human, f"{tgt} {tgt_customers}")
    assert any(t in ("name", "Name", "FullName") for _s, t in people), (human, people)

    # documents and their lines, into lines and into the documents that carry them inline
    for line in LINES[source]:
        assert _from(sections, f"{src} {line}", tgt), line
    for line in LINES[target]:
        assert [h for h in sections if h.endswith(f" to {tgt} {line}")], line
    if target in ("shop", "erp", "billing"):  # lines kept in their document
        document = {"shop": "Order", "erp": "Salesorders", "billing": "Invoices"}[target]
        for line in LINES[source]:
            assert _from(sections, f"{src} {line}", f"{tgt} {document}"), line
    if source == "shop":
        assert _from(sections, "Customwebshop Order", tgt)

    # a PMS's projects and tasks
    if "pms" in (source, target):
        other = tgt if source == "pms" else src
        projects = [h for h in sections if "Custom PMS Project" in h and other in h]
        tasks = [h for h in sections if "Custom PMS Task" in h and other in h]
        assert projects and tasks

    # Exact: sales invoices, the company's own datatypes (company_data on), code lists
    if source == "erp":
        for name in ("Salesinvoices", "Salesinvoicelines", "Employees", "Departments",
                     "Divisions"):
            assert _from(sections, f"Exact Online {name}", tgt), name
        employees = _rows(sections, "Exact Online Employees", f"{tgt} {tgt_customers}")
        assert any(s == "FullName" for s, _t in employees), employees
    if target == "erp":
        for name in ("Salesinvoices", "Salesinvoicelines", "Employees", "Departments",
                     "Divisions"):
            assert [h for h in sections if h.endswith(f" to Exact Online {name}")], name
        for heading in sections:
            if heading.endswith(tuple(f" to Exact Online {n}" for n in READ_ONLY)):
                # talk writes nothing into what Exact lets be read only
                assert sections[heading] == [], heading
    if (source, target) == ("erp", "erp"):
        assert set(_from(sections, "Exact Online Units")) == {
            "Exact Online Units to Exact Online Units"}  # a unit is never a currency
        assert set(_from(sections, "Exact Online Currencies")) == {
            "Exact Online Currencies to Exact Online Currencies"}
        assert ("Percentage", "Percentage") in _rows(sections, "Exact Online Vatcodes",
                                                     "Exact Online Vatcodes")
        # delivery dates: a quotation's both ways, an order's into a quotation
        assert ("DeliveryDate", "DeliveryDate") in _rows(
            sections, "Exact Online Quotations", "Exact Online Quotations")
        assert ("DeliveryDate", "DeliveryDate") in _rows(
            sections, "Exact Online Salesorders", "Exact Online Quotations")
    elif "erp" not in (source, target):
        assert not [h for h in sections if "Vatcodes" in h or "Units" in h]

    # composed properties, where a side declares them
    if source == "crm" and target != "erp":
        assert any(s == "first_name + last_name" for s, _t in _rows(sections, "Customcrm People"))
    if target == "crm":
        people_in = {t for h in sections if h.endswith(" to Customcrm People")
                     for _s, t, _k in sections[h]}
        assert {"first_name + last_name", "street_2 + street_3"} <= people_in
    if source == "pms":
        assert any(s == "address" for s, _t in _rows(sections, "Custom PMS Person"))
