"""The docs stay true to the code: every global property and every hook is described."""

from __future__ import annotations

import inspect
from pathlib import Path

from talk_core import hookspecs
from talk_core.globaltypes import GLOBAL_TYPES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_global_property_is_documented() -> None:
    text = (DOCS / "global-datatypes.md").read_text()
    for gtype in GLOBAL_TYPES.values():
        section = text.split(f"## {gtype.name}\n", 1)
        assert len(section) == 2, f"no section for {gtype.name}"
        body = section[1].split("\n## ", 1)[0]
        for prop in gtype.properties:
            assert f"| `{prop.name}` | {prop.type.value}" in body, f"{gtype.name}.{prop.name}"


def test_every_hook_is_documented() -> None:
    text = (DOCS / "design.md").read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "talk_spec")]
    assert hooks == ["register_commands", "register_systems"]
    for name in hooks:
        assert f"`{name}(" in text, name


def test_cli_reference_is_current() -> None:
    from talk_core.cli.reference import reference

    assert (DOCS / "cli.md").read_text() == reference(), (
        "docs/cli.md is stale: python -m talk_core.cli.reference > docs/cli.md")
