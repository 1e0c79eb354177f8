"""`talk init`'s template and docs/configuration.md name the same [sync] keys, at their defaults."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import attrs
import pytest

import talk_core.cli.main  # noqa: F401 - the cli's modules load from main
from talk_core.cli.meta_cmds import SYNC_BOUNDS, example_config
from talk_core.config import SyncConfig, parse_config

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
SYNC_KEYS = [field.name for field in attrs.fields(SyncConfig)]


def documented_sync_keys() -> dict[str, str]:
    """The `[sync]` table of docs/configuration.md: key -> default as written (TOML)."""
    text = DOCS.read_text()
    section = text.split("## `[sync]`", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in re.finditer(r"^\| `(\w+)` \| `([^`]*)`", section, re.M)}


def sync_section(template: str) -> list[str]:
    return template.split("\n[sync]\n", 1)[1].split("\n\n# Per global datatype", 1)[0].splitlines()


def test_the_template_parses_to_the_defaults() -> None:
    raw = tomllib.loads(example_config({}))
    assert parse_config(raw, env={}).sync == SyncConfig()


def test_every_sync_key_is_in_the_template_and_the_commented_ones_parse_uncommented() -> None:
    lines = sync_section(example_config({}))
    commented = [line[2:] for line in lines if re.match(r"# \w+ = ", line)]
    assert [line.split(" = ")[0] for line in commented] == [key for key, _ in SYNC_BOUNDS]
    for key in ("max_pages", "max_response_bytes", "request_deadline", "max_json_depth",
                "unavailable_after", "batch_size"):
        assert any(re.match(rf"(# )?{key} = \S+ +# \w", line) for line in lines), key
    uncommented = "[sync]\n" + "\n".join(commented)
    parsed = parse_config(tomllib.loads(uncommented), env={}).sync
    assert parsed == SyncConfig()  # written at the defaults the config really has
    in_template = {line.lstrip("# ").split(" = ")[0] for line in lines
                   if re.match(r"(# )?\w+ = ", line)}
    assert set(SYNC_KEYS) <= in_template


def test_every_documented_sync_key_is_accepted_at_its_documented_default() -> None:
    documented = documented_sync_keys()
    assert set(documented) == set(SYNC_KEYS)
    for key, default in documented.items():
        parsed = parse_config(tomllib.loads(f"[sync]\n{key} = {default}\n"), env={}).sync
        assert getattr(parsed, key) == getattr(SyncConfig(), key), key


@pytest.mark.parametrize("key", ["max_pages", "max_response_bytes", "request_deadline",
                                 "max_json_depth", "unavailable_after"])
def test_a_bound_out_of_range_is_refused_naming_the_key(key: str) -> None:
    from talk_core.errors import ConfigError

    with pytest.raises(ConfigError, match=key):
        parse_config(tomllib.loads(f"[sync]\n{key} = -1\n"), env={})
