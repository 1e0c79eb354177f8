"""What the README and docs/plugins.md show of this plugin is what talk prints for it."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from click.testing import CliRunner

from talk_core.cli.main import cli

REPO = Path(__file__).resolve().parents[3]
SHOWN_IN = [REPO / "README.md", REPO / "docs" / "plugins.md"]


def test_talk_systems_lists_the_plugin_as_the_docs_show(jsonfile_plugin: ModuleType) -> None:
    result = CliRunner().invoke(cli, ["systems"])
    assert result.exit_code == 0, result.output
    start = result.output.index("JSON folder (jsonfile)\n")
    section = result.output[start:].split("\n", 4)[:4]
    shown = "\n".join(section)
    for doc in SHOWN_IN:
        assert shown in doc.read_text(), f"{doc.name} shows another `talk systems` section"


def test_talk_init_writes_the_table_the_guide_shows(jsonfile_plugin: ModuleType,
                                                    tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "talk.toml")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "talk.toml").read_text()
    table = text[text.index("[systems.my_jsonfile]"):].split("\n\n", 1)[0]
    guide = (REPO / "docs" / "plugins.md").read_text()
    assert "\n".join("  " + line for line in table.splitlines()) in guide
