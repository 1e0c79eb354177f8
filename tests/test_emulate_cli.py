"""``talk emulate``: its help, its errors, the credentials it demands, and a real sync from it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from test_emulate_fill import linked_counts

from talk_core import secrets
from talk_core.cli.main import cli
from talk_core.plugins import get_systems
from talk_core.store.sqlite import SQLiteStore
from talk_core.system import SystemContext

KINDS = ("invoiced", "exactonline", "customcrm", "customwebshop", "custompms")
#: Credentials a test gives instead of the public defaults, per kind (some keep those).
GIVEN = {"invoiced": {"--api-key": "inv-secret-given"},
         "exactonline": {"--client-id": "my-app", "--client-secret": "exact-secret-given"},
         "customcrm": {"--api-key": "crm-secret-given"}}
#: Options of the copy, per kind: a filled Exact division has sales invoices, which the copy
#: then keeps as sales invoices too (by default Exact makes an invoice from elsewhere an order).
COPY_OPTIONS: dict[str, dict[str, str]] = {"exactonline": {"invoices_as": "salesinvoices"}}


def _synced(kind: str, options: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The datatypes an instance with these options syncs, and those it creates records of."""
    spec = get_systems()[kind]
    store = SQLiteStore.memory()
    try:
        connector = spec.factory(options=options, context=SystemContext("copy", store))
        mappings = (getattr(connector, "spec", None) or spec).mappings
    finally:
        store.close()
    return {m.datatype for m in mappings}, {m.datatype for m in mappings if m.creates}


def _env(cwd: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(cwd), "NO_COLOR": "1"}


@contextmanager
def emulating(cwd: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``talk emulate ARGS`` in the background; its start-up lines once it serves."""
    proc = subprocess.Popen([sys.executable, "-m", "talk_core.cli", "emulate", *args], cwd=cwd,
                            env=_env(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "Ctrl-C stops it.":
            line = proc.stdout.readline()
            if not line:
                assert proc.stderr is not None
                pytest.fail(f"talk emulate stopped: {proc.stderr.read()}")
            lines.append(line.rstrip("\n"))
        yield proc, lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _fragment(lines: list[str]) -> tuple[str, dict[str, str]]:
    """The printed talk.toml fragment, and the environment it names."""
    start = lines.index("talk.toml:") + 2
    end = lines.index("with, in the environment:")
    exports = dict(re.fullmatch(r"export (\w+)=(.*)", line).groups()  # type: ignore[union-attr]
                   for line in lines[end + 2:] if line.startswith("export "))
    return "\n".join(lines[start:end]).strip() + "\n", exports


def _generated(lines: list[str]) -> dict[str, int]:
    first = next(i for i, line in enumerate(lines) if line.startswith("Generated "))
    out = {}
    for line in lines[first + 1:]:
        if not line.startswith("  "):
            break
        name, count = line.split()
        out[name] = int(count.replace(",", ""))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_a_filled_emulator_syncs_every_record_without_dead_letters(kind: str,
                                                                   tmp_path: Path) -> None:
    given = GIVEN.get(kind, {})
    args = [kind, "--records", "200", "--port", "0", "--random-seed", "5"]
    with emulating(tmp_path, *args, *(x for pair in given.items() for x in pair)) as (_, lines):
        text = "\n".join(lines)
        url = re.search(r"emulator on (http://127\.0\.0\.1:\d+)", text)
        assert url is not None, text
        made = _generated(lines)
        assert sum(made.values()) == 200, text
        assert re.search(r"Generated 200 records in \d+\.\d\d s", text)
        for flag, value in given.items():
            if "secret" in flag or "key" in flag:
                assert value not in text  # a secret given is never echoed
            else:
                assert value in text
        fragment, exports = _fragment(lines)
        assert f'base_url = "{url.group(1)}"' in fragment
        assert "${" in fragment and "secret-given" not in fragment
        env = {name: given.get("--api-key") or given.get("--client-secret") or ""
               if value == "<the value given>" else value for name, value in exports.items()}
        # the copy is another emulator of the same kind, started here
        spec = get_systems()[kind]
        assert spec.start_emulator is not None
        target = spec.start_emulator(port=0)
        try:
            secret = {o.name for o in spec.options if o.secret}
            copy = ["[systems.copy]", f'connector = "{kind}"']
            options = {**target.options(), **COPY_OPTIONS.get(kind, {})}
            synced, created = _synced(kind, options)
            for option, value in options.items():
                if option in secret:
                    env[f"COPY_{option.upper()}"] = str(value)
                    copy.append(f'{option} = "${{COPY_{option.upper()}}}"')
                else:
                    copy.append(f"{option} = {json.dumps(value)}")
            (tmp_path / "talk.toml").write_text(
                '[state]\npath = "state.db"\n\n' + fragment + "\n" + "\n".join(copy) + "\n",
                encoding="utf-8")
            for _ in range(2):  # lines may wait a run for their documents
                run = subprocess.run([sys.executable, "-m", "talk_core.cli", "sync", "--json"],
                                     cwd=tmp_path, env={**_env(tmp_path), **env},
                                     capture_output=True, text=True, timeout=300)
                assert run.returncode == 0, run.stdout + run.stderr
                assert json.loads(run.stdout)["dead_letters"] == []
        finally:
            target.stop()
    store = SQLiteStore(tmp_path / "state.db")
    try:
        assert store.dead_letters() == []
        linked, copied_counts = linked_counts(store, kind), linked_counts(store, "copy")
        for datatype, count in made.items():
            if not count:
                continue
            if datatype not in synced:  # made, but the default options keep it out of the sync
                assert datatype not in linked, (datatype, linked)
                continue
            assert count in linked.get(datatype, []), (datatype, count, linked)
            copied = copied_counts.get(datatype, [])
            if datatype in created:
                assert count in copied, (datatype, count, copied)
            else:  # what the system lets be read only is the copy's own (Exact's units)
                assert datatype not in copied_counts, (datatype, copied)
    finally:
        store.close()


def test_the_help_lists_the_kinds_from_the_plugins() -> None:
    out = CliRunner().invoke(cli, ["emulate", "--help"])
    assert out.exit_code == 0, out.output
    kinds = out.output.split("Kinds (from the installed plugins):", 1)[1]
    for kind in KINDS:
        assert re.search(rf"^  {kind} +\S", kinds, re.MULTILINE), kinds
    assert "Invoiced (talk-invoiced); takes --api-key" in kinds


def test_an_unknown_kind_is_a_usage_error_naming_the_kinds() -> None:
    # earlier tests in this process may have made "secret" a known secret value, which
    # would mask the option's name in the message
    secrets.forget()
    out = CliRunner().invoke(cli, ["emulate", "nosuchcrm"])
    assert out.exit_code == 2
    assert "unknown system kind 'nosuchcrm'" in out.output
    assert "customcrm, custompms, customwebshop, exactonline, invoiced" in out.output
    wrong = CliRunner().invoke(cli, ["emulate", "invoiced", "--client-secret", "x"])
    assert wrong.exit_code == 2 and "takes no --client-secret" in wrong.output
    assert CliRunner().invoke(cli, ["emulate"]).exit_code == 2


def test_the_custom_emulator_refuses_requests_without_its_key(tmp_path: Path) -> None:
    with emulating(tmp_path, "customcrm", "--seed") as (_, lines):
        text = "\n".join(lines)
        assert "api_key: test_key (public default)" in text
        url = re.search(r"emulator on (http://127\.0\.0\.1:\d+)", text)
        assert url is not None
        customers = url.group(1) + "/customers"
        assert requests.get(customers, timeout=5).status_code == 401
        wrong = requests.get(customers, headers={"X-API-Key": "guess"}, timeout=5)
        assert wrong.status_code == 401
        right = requests.get(customers, headers={"X-API-Key": "test_key"}, timeout=5)
        assert right.status_code == 200
        assert [r["name"] for r in right.json()["data"]] == ["Fjord Bakeri AS", "Nordlys Hotell"]


def test_the_invoiced_emulator_demands_the_key_it_was_given(tmp_path: Path) -> None:
    with emulating(tmp_path, "invoiced", "--api-key", "only-this") as (_, lines):
        text = "\n".join(lines)
        assert "only-this" not in text and "not shown" in text
        url = re.search(r"emulator on (http://127\.0\.0\.1:\d+)", text)
        assert url is not None
        customers = url.group(1) + "/customers"
        assert requests.get(customers, auth=("test_key", ""), timeout=5).status_code == 401
        assert requests.get(customers, auth=("only-this", ""), timeout=5).status_code == 200
