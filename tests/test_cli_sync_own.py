"""`talk sync` says when a conflict's loser keeps its value because the property is its own."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from talk_core.cli.main import cli

PLUGINS = str(Path(__file__).parent / "plugins")

#: the toy ERP, but its accounts' City is the ERP's own (read-only): talk never writes it
OWN_PLUGIN = textwrap.dedent("""
    import attrs
    from talk_core.hookspecs import hookimpl
    from talk_core.model import DataType, Property
    from talk_toy import ACCOUNTS, CONTACTS, OPTIONS, TOYERP, _factory

    OWN_ACCOUNTS = DataType("Accounts", "Accounts", (
        Property("Name", required=True), Property("Email"), Property("City", read_only=True),
    ), read_mode=ACCOUNTS.read_mode)
    SPEC = attrs.evolve(TOYERP, name="toyerpown", label="Toy ERP, own cities",
                        datatypes=(OWN_ACCOUNTS, CONTACTS),
                        factory=_factory((OWN_ACCOUNTS, CONTACTS)), options=OPTIONS)

    @hookimpl
    def register_systems(register):
        register(SPEC)
""")

CONFIG = """
plugins = ["talk_toy", "talk_toy_own"]

[systems.crm]
connector = "toycrm"
path = "crm.json"

[systems.erp]
connector = "{erp}"
path = "erp.json"

[sync]
conflict = "priority"
priority = ["crm", "erp"]
"""


def seed(path: Path, records: dict[str, dict[str, dict[str, object]]]) -> None:
    path.write_text(json.dumps({"next": 1000, "records": records, "keys": {}}))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "talk_toy_own.py").write_text(OWN_PLUGIN)
    monkeypatch.syspath_prepend(PLUGINS)
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    seed(tmp_path / "crm.json", {"customers": {"7": {
        "name": "Acme", "type": "company", "email": "post@acme.no", "city": "Oslo"}}})
    seed(tmp_path / "erp.json", {"Contacts": {}, "Accounts": {"E1": {
        "Name": "Acme", "Email": "post@acme.no", "City": "Bergen"}}})
    return tmp_path


def test_a_conflict_over_a_systems_own_property_says_it_keeps_its_value(workdir: Path) -> None:
    (workdir / "talk.toml").write_text(CONFIG.format(erp="toyerpown"))
    out = CliRunner().invoke(cli, ["sync"], catch_exceptions=False)
    assert "Conflicts (1)" in out.output, out.output
    assert ("city is erp's own: talk reads it but never writes it there, so erp keeps "
            "its own value;\n  the winner is the value of the systems that take it.") \
        in out.output
    erp = json.loads((workdir / "erp.json").read_text())
    assert erp["records"]["Accounts"]["E1"]["City"] == "Bergen"  # as the line says


def test_a_conflict_over_a_property_written_everywhere_says_nothing_of_the_kind(
        workdir: Path) -> None:
    (workdir / "talk.toml").write_text(CONFIG.format(erp="toyerp"))
    out = CliRunner().invoke(cli, ["sync"], catch_exceptions=False)
    assert "Conflicts (1)" in out.output, out.output
    assert "own" not in out.output
    erp = json.loads((workdir / "erp.json").read_text())
    assert erp["records"]["Accounts"]["E1"]["City"] == "Oslo"
