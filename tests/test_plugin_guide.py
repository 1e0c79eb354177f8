"""docs/plugins.md shows code that exists: each excerpt is found, as written, in its file.

An excerpt is a fenced block right after ``<!-- from: PATH -->``; a line
``...`` inside it stands for code left out, so each part must appear in
the file, in order. Every Python block must be such an excerpt, so the
guide cannot drift from the example plugin it walks through.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
EXCERPT = re.compile(r"<!-- from: (?P<path>\S+) -->\n```\w+\n(?P<code>.*?)\n```", re.S)
PYTHON_BLOCK = re.compile(r"^```python\n", re.M)


def excerpts() -> list[tuple[str, str]]:
    return [(m["path"], m["code"]) for m in EXCERPT.finditer(GUIDE.read_text())]


def test_every_excerpt_is_in_its_file_in_order() -> None:
    found = excerpts()
    assert found, "the guide has no excerpts"
    for path, code in found:
        source = (ROOT / path).read_text()
        at = 0
        for part in re.split(r"^\.\.\.\n|\n\.\.\.$|\n\.\.\.\n", code, flags=re.M):
            where = source.find(part, at)
            assert where >= 0, f"docs/plugins.md: not in {path} (after offset {at}):\n{part}"
            at = where + len(part)


def test_every_python_block_is_an_excerpt() -> None:
    text = GUIDE.read_text()
    sourced = len(re.findall(r"<!-- from: \S+ -->\n```python\n", text))
    assert len(PYTHON_BLOCK.findall(text)) == sourced, "a Python block without a source"


def test_the_guide_walks_through_each_part_of_the_example() -> None:
    paths = {path for path, _ in excerpts()}
    package = "examples/plugin/src/talk_jsonfile"
    assert {f"{package}/{name}.py" for name in
            ("plugin", "schema", "mappings", "connector", "commands")} <= paths
    assert "examples/plugin/pyproject.toml" in paths
    assert "examples/plugin/tests/test_jsonfile_contract.py" in paths


def test_the_guide_walks_through_the_rest_example_in_the_same_shape() -> None:
    paths = {path for path, _ in excerpts()}
    package = "examples/rest_plugin/src/talk_crmlite"
    assert {f"{package}/{name}.py" for name in
            ("plugin", "connector", "emulator/server")} <= paths
    assert "examples/rest_plugin/tests/test_crmlite_contract.py" in paths
    shape = ("plugin.py", "schema.py", "mappings.py", "connector.py", "emulator/")
    for name in shape:
        assert (ROOT / package / name.rstrip("/")).exists(), f"the example has no {name}"
        assert name in GUIDE.read_text(), f"the guide does not show {name}"
