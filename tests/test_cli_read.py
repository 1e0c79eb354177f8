"""What a person reads in talk's command line: labels, short ids, cursors, names, exit codes."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from orders import invoice_with_lines, order_sync, order_systems
from test_cli import (
    CONFIG,
    PLUGINS,
    companies,
    conflicting_sync,
    process_env,
    records,
    seed,
    talk,
    workdir,
)

from talk_core.cli import shown
from talk_core.cli.main import EXIT_CODES, cli, hoist_global_options
from talk_core.cli.sync_cmd import labels_for, show
from talk_core.errors import ConfigError, LockedError, StateError, UnknownName
from talk_core.ids import new_global_id
from talk_core.labels import label, matches_id, short_ids
from talk_core.store.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["workdir"]  # the fixture, shared with test_cli


# -- labels and short ids ------------------------------------------------------------------

def test_each_global_type_has_a_natural_label() -> None:
    assert label("organisation", {"name": "Acme AS", "email": "a@b.no"}) == "Acme AS"
    assert label("organisation", {"org_number": "912345678"}) == "912345678"
    assert label("human", {"first_name": "Kari", "last_name": "Nordmann"}) == "Kari Nordmann"
    assert label("product", {"code": "ESP-1", "name": "Espresso"}) == "ESP-1 Espresso"
    assert label("agreement", {"kind": "invoice", "number": "INV-7"}) == "invoice INV-7"
    assert label("agreementline", {"line_number": 2}) == "line 2"
    assert label("location", {"kind": "visit", "address_line1": "Storgata 1",
                              "city": "Oslo"}) == "visit: Storgata 1, Oslo"
    assert label("organisation", {}) == "" and label("organisation", None) == ""


def test_short_ids_are_the_distinguishing_end_of_time_ordered_ids() -> None:
    ids = [new_global_id() for _ in range(50)]
    assert len({i[:8] for i in ids}) < len(ids)  # the start is what they share
    short = short_ids(ids)
    assert len(set(short.values())) == len(ids)
    assert all(ids_.endswith(s) and len(s) >= 6 for ids_, s in short.items())
    # two processes' counters start alike: the suffix grows until it tells them apart
    a, b = "18ef02b6" + "0" * 8 + "aaaaaaaa" + "00000001", "18ef02b6" + "0" * 8 + "bbbbbbbb" \
        + "00000001"
    grown = short_ids([a, b])
    assert grown[a] != grown[b] and grown[a] == "a00000001"[-len(grown[a]):]
    assert matches_id(a, grown[a]) and not matches_id(b, grown[a])
    assert not matches_id(a, "001")  # too short to name anything


# -- talk conflicts, links, deadletters, sync ----------------------------------------------

def _conflict(workdir: Path) -> tuple[str, str]:
    """A conflict on Acme's city; returns its global id and Acme's ERP id."""
    out, erp_id = conflicting_sync(workdir)
    assert out.exit_code == 1
    (conflict,) = json.loads(talk("conflicts", "--json").output)
    assert conflict["label"] == "Acme"
    gid = conflict["global_id"]
    assert f"Acme ({gid[-6:]})" in out.output  # the sync's own conflict table
    return gid, erp_id


def test_conflicts_show_the_label_and_the_end_of_the_global_id(workdir: Path) -> None:
    gid, _ = _conflict(workdir)
    text = talk("conflicts").output
    assert f"Acme ({gid[-6:]})" in text
    assert gid[:8] not in text


def test_links_find_by_the_shown_id_and_filter_by_type_system_name(workdir: Path) -> None:
    gid, erp_id = _conflict(workdir)
    seed(workdir / "crm.json", "customers", {
        "8": {"name": "Kari Nordmann", "type": "person"},
        **{str(100 + i): {"name": f"Firm {i}", "type": "company"} for i in range(5)}})
    assert talk("sync").exit_code == 0
    by_short = talk("links", gid[-6:])
    assert by_short.exit_code == 0
    assert "Acme" in by_short.output and erp_id in by_short.output and gid not in by_short.output
    people = json.loads(talk("links", "--type", "HUMAN", "--json").output)
    assert {x["label"] for x in people} == {"Kari Nordmann"}
    named = json.loads(talk("links", "--name", "nordMANN", "--json").output)
    assert {x["id"] for x in named} >= {"8"} and {x["label"] for x in named} == {"Kari Nordmann"}
    erp_only = json.loads(talk("links", "--system", "erp", "--datatype", "accounts",
                               "--json").output)
    assert erp_only and {(x["system"], x["datatype"]) for x in erp_only} == {("erp", "Accounts")}
    bad = talk("links", "--system", "ghost")
    assert bad.exit_code == 2 and "configured: crm, erp" in bad.output
    bad_type = talk("links", "--type", "widget")
    assert bad_type.exit_code == 2 and "organisation" in bad_type.output


def test_links_pages_entities(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(7))
    assert talk("sync").exit_code == 0
    everything = json.loads(talk("links", "--json", "--limit", "100").output)
    entities = list(dict.fromkeys(x["global_id"] for x in everything))
    assert len(entities) == 7
    second = json.loads(talk("links", "--json", "--limit", "3", "--page", "2").output)
    assert list(dict.fromkeys(x["global_id"] for x in second)) == entities[3:6]
    offset = json.loads(talk("links", "--json", "--limit", "3", "--offset", "6").output)
    assert list(dict.fromkeys(x["global_id"] for x in offset)) == entities[6:]
    text = talk("links", "--limit", "3")
    assert "entities 1-3 of 7; --page 2 for more" in text.output


def test_links_page_by_fifty_for_people_and_give_scripts_everything(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(55))
    assert talk("sync").exit_code == 0
    every = json.loads(talk("links", "--json").output)
    assert len({x["global_id"] for x in every}) == 55
    assert "entities 1-50 of 55; --page 2 for more" in talk("links").output


def test_deadletters_name_the_entity(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", {"1": {"name": "", "type": "company",
                                                    "email": "x@y.no"}})
    out = talk("sync")
    assert out.exit_code == 1
    (letter,) = json.loads(talk("deadletters", "--json").output)
    assert letter["label"] == "x@y.no"  # no name: the organisation's e-mail
    text = talk("deadletters").output
    assert f"organisation x@y.no ({letter['global_id'][-6:]})" in text
    assert f"[organisation x@y.no ({letter['global_id'][-6:]})]" in out.output


def test_a_planned_reference_shows_the_label_of_what_it_points_at(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conns = order_systems()
    invoice_with_lines(conns["billing"], "Acme")
    with order_sync(tmp_path / "state.db", conns) as sync:
        sync.run(datatypes=["organisation", "product"])  # Acme in both, the invoice not yet
        result = sync.run(dry_run=True)
        orders = [p for p in result.planned if p["datatype"] == "SalesOrders"]
        assert orders and len(orders[0]["values"]["customer"]) == 32
        show(result, labels_for(result, sync.store))
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if "SalesOrders" in x and "create" in x]
    customer = orders[0]["values"]["customer"]
    assert f"customer=<organisation Acme ({customer[-6:]})>" in line
    assert customer not in out


def test_sync_json_lists_zero_counts_and_every_datatype(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(1))
    data = json.loads(talk("sync", "--json").output)
    rows = {(r["system"], r["datatype"]): r for r in data["systems"]}
    assert set(rows) == {("crm", "customers"), ("erp", "Accounts"), ("erp", "Contacts")}
    assert rows[("erp", "Contacts")] == {"system": "erp", "datatype": "Contacts", "read": 0,
                                         "create": 0, "update": 0, "delete": 0,
                                         "dead_letter": 0, "read_error": 0}
    assert rows[("erp", "Accounts")]["create"] == 1 and rows[("erp", "Accounts")]["update"] == 0


# -- status ------------------------------------------------------------------------------

def test_cursor_and_budget_forms() -> None:
    assert shown.cursor("2026-12-07T17:12:44.5Z") == "since 2026-12-07 17:12 UTC"
    assert shown.cursor('{"since": "2026-12-07T17:12:00Z", "after": "13"}') == \
        "since 2026-12-07 17:12 UTC"
    assert shown.cursor('{"e": 1045, "t": 1796665924}') == "since 2026-12-07 17:52 UTC"
    assert shown.cursor("listed") == "listed in full" and shown.cursor(None) == "(start)"
    opaque = "x" * 80
    assert shown.cursor(opaque) == "x" * 23 + "…" and shown.cursor("1037:1") == "1037:1"
    notes = {"token": {"access_token": "secret-value", "expires": 1},
             "budget": {"client_id": "c", "daily_remaining": 4980, "daily_reset": 1796688000}}
    (budget,) = shown.budgets(notes)
    assert budget == {"note": "budget", "window": "daily", "remaining": 4980,
                      "reset": "2026-12-08T00:00:00+00:00"}
    assert "secret-value" not in json.dumps(shown.budgets(notes))
    before = datetime(2026, 12, 7, 18, tzinfo=UTC)
    assert shown.budget_text(budget, before) == \
        "daily: 4,980 calls left, resets 2026-12-08 00:00 UTC"
    assert "full again" in shown.budget_text(budget, datetime(2026, 12, 10, tzinfo=UTC))


def test_status_shows_cursors_readably_and_the_remembered_budget(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(1))
    assert talk("sync").exit_code == 0
    store = SQLiteStore(workdir / ".talk" / "state.db")
    try:
        store.set_cursor("erp", "Accounts", "2026-12-07T17:12:44Z")
        store.put_note("erp", "budget", {"daily_remaining": 12, "daily_reset": 4102444700})
        store.put_note("erp", "token", {"access_token": "tok-never-shown"})
    finally:
        store.close()
    text = talk("status").output
    assert re.search(r"erp\s+Accounts\s+since 2026-12-07 17:12 UTC", text)
    assert "2026-12-07T17:12:44Z" not in text and "tok-never-shown" not in text
    assert re.search(r"erp\s+daily: 12 calls left, resets 2099-12-31 \d\d:\d\d UTC", text)
    data = json.loads(talk("status", "--json").output)
    raw = {(c["system"], c["datatype"]): c["cursor"] for c in data["cursors"]}
    assert raw[("erp", "Accounts")] == "2026-12-07T17:12:44Z"
    assert data["budgets"] == [{"system": "erp", "note": "budget", "window": "daily",
                                "remaining": 12, "reset": "2099-12-31T23:58:20+00:00"}]


# -- names, options, exit codes -----------------------------------------------------------

def test_datatype_takes_a_system_or_global_name_in_any_case(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", {
        "1": {"name": "Firm", "type": "company"}, "2": {"name": "Kari", "type": "person"}})
    out = talk("sync", "--datatype", "CONTACTS", "--json")  # erp's Contacts: human
    assert out.exit_code == 0, out.output
    assert records(workdir / "erp.json", "Accounts") == {}
    assert len(records(workdir / "erp.json", "Contacts")) == 1
    assert talk("sync", "--datatype", "Organisation", "--json").exit_code == 0
    assert len(records(workdir / "erp.json", "Accounts")) == 1
    bad = talk("sync", "--datatype", "Widgets")
    assert bad.exit_code == 2
    assert "unknown datatype 'Widgets'" in bad.output
    assert "organisation" in bad.output and "Accounts" in bad.output and "customers" in bad.output


def test_systems_names_datatypes_as_declared(workdir: Path) -> None:
    text = talk("systems").output
    assert re.search(r"\n  customers\s+incremental", text)  # declared "customers", label "Customer"
    assert not re.search(r"\n  Customer\s", text)


def test_global_options_after_the_command(workdir: Path) -> None:
    other = workdir / "other.toml"
    other.write_text(CONFIG.format(crm_extra="colour = 'red'", erp_extra=""))
    out = talk("status", "--config", str(other))
    assert out.exit_code == 2 and "other.toml: [systems.crm] colour" in out.output
    out = talk("sync", "--dry-run", "--config", str(other))
    assert out.exit_code == 2 and "other.toml: [systems.crm] colour" in out.output
    out = talk("status", f"--config={other}")
    assert out.exit_code == 2 and "other.toml" in out.output
    assert hoist_global_options(["sync", "--dry-run", "-vv", "--config", "x.toml", "-q"]) == \
        ["-vv", "--config", "x.toml", "-q", "sync", "--dry-run"]
    assert hoist_global_options(["-v", "links", "--", "-q"]) == ["-v", "links", "--", "-q"]
    assert hoist_global_options(["--config", "a.toml", "sync"]) == ["--config", "a.toml", "sync"]


def test_verbose_after_the_command_reaches_the_log(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(1))
    proc = subprocess.run([sys.executable, "-m", "talk_core.cli", "sync", "-vv"], cwd=workdir,
                          env=process_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG talk" in proc.stderr


def _readme_codes() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text()
    block = text.split("| code | meaning |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    return [(int(c), m) for c, m in re.findall(r"^\| (\d+) \| (.+) \|$", block, re.M)]


def test_exit_codes_are_listed_alike_in_help_readme_and_cli_reference() -> None:
    help_text = CliRunner().invoke(cli, ["--help"]).output
    listed = help_text.split("Exit codes:\n", 1)[1].split("\n\n", 1)[0]
    from_help = [(int(c), m) for c, m in re.findall(r"^\s+(\d+)\s+(.+)$", listed, re.M)]
    cli_md = (ROOT / "docs" / "cli.md").read_text()
    block = cli_md.split("## Exit codes\n\n", 1)[1].split("\n\n", 1)[0]
    from_docs = [(int(c), m) for c, m in re.findall(r"^\| (\d+) \| (.+) \|$", block, re.M)]
    assert list(EXIT_CODES) == from_help == _readme_codes() == from_docs
    assert (7, "a system was unavailable; the others were synced") in EXIT_CODES
    assert {0, 1, 2, 3, 4, 5, 6, 7, 130} == {c for c, _ in EXIT_CODES}


def test_cli_reference_documents_every_command_and_option() -> None:
    from talk_core.cli import demo_cmd, inspect_cmds, meta_cmds, sync_cmd

    text = (ROOT / "docs" / "cli.md").read_text()
    for module in (sync_cmd, inspect_cmds, meta_cmds, demo_cmd):
        for command in module.COMMANDS:
            assert f"## talk {command.name}\n" in text
            for param in command.params:
                for opt in getattr(param, "opts", []):
                    if opt.startswith("-"):
                        section = text.split(f"## talk {command.name}\n", 1)[1].split("\n## ")[0]
                        assert opt in section, (command.name, opt)


# -- init ---------------------------------------------------------------------------------

def test_init_names_secrets_as_the_readme_walkthrough(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    out = CliRunner().invoke(cli, ["init", "t.toml"], catch_exceptions=False)
    assert out.exit_code == 0
    written = (tmp_path / "t.toml").read_text()
    readme = (ROOT / "README.md").read_text()
    walkthrough = readme.split("### 1. Configure", 1)[1].split("### 2.", 1)[0]
    toml_block = walkthrough.split("```toml\n", 1)[1].split("```", 1)[0]
    secrets = re.findall(r'^(api_key|client_secret|refresh_token) = "\$\{(\w+)\}"', toml_block,
                         re.M)
    assert secrets
    for option, name in secrets:
        assert f'{option} = "${{{name}}}"' in written, name
    assert "[state]\npath = \".talk/state.db\"" in written.replace(
        "# Where talk keeps links, cursors, conflicts and dead letters (SQLite).\n", "")


# -- the state path -----------------------------------------------------------------------

def test_a_file_that_is_not_talk_state_keeps_its_mode(workdir: Path) -> None:
    other = workdir / "notes.txt"
    other.write_text("my notes, not a database\n" * 100)
    other.chmod(0o644)
    (workdir / "talk.toml").write_text(CONFIG.format(crm_extra="", erp_extra="")
                                       + f'\n[state]\npath = "{other}"\n')
    out = talk("status")
    assert out.exit_code == 2 and "notes.txt" in out.output
    assert stat.S_IMODE(other.stat().st_mode) == 0o644


def test_a_talk_state_file_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    path.chmod(0o644)
    SQLiteStore(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_directory_at_the_state_path_is_a_usage_error(workdir: Path) -> None:
    (workdir / "state").mkdir()
    (workdir / "talk.toml").write_text(CONFIG.format(crm_extra="", erp_extra="")
                                       + '\n[state]\npath = "state"\n')
    out = talk("status")
    assert out.exit_code == 2 and "is a directory" in out.output and "state" in out.output
    with pytest.raises(StateError, match="is a directory"):
        SQLiteStore(workdir / "state")


# -- the library --------------------------------------------------------------------------

def test_sync_run_raises_documented_errors(tmp_path: Path) -> None:
    from talk_core.sync.engine import Sync

    assert Sync.run.__doc__ is not None
    for name in ("ConfigError", "LockedError", "StateError"):
        assert name in Sync.run.__doc__
    conns = order_systems()
    with order_sync(tmp_path / "state.db", conns) as sync:
        with pytest.raises(UnknownName, match="unknown global datatype"):
            sync.run(datatypes=["widgets"])
        with pytest.raises(ConfigError, match="unknown system instance"):
            sync.run(systems=["ghost"])
        holder = SQLiteStore(tmp_path / "state.db")
        try:
            holder.acquire_lock("someone else")
            with pytest.raises(LockedError):
                sync.run()
        finally:
            holder.close()
    for doc in (ROOT / "README.md", ROOT / "docs" / "design.md"):
        text = doc.read_text()
        assert "`LockedError` (another sync holds" in text, doc.name


def test_the_library_prints_nothing_unless_logging_is_configured(tmp_path: Path) -> None:
    program = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "import logging, talk_core\n"
        "held = logging.getLogger('talk').handlers\n"
        "assert any(isinstance(h, logging.NullHandler) for h in held)\n"
        "Path('crm.json').write_text(json.dumps({'next': 1, 'keys': {}, 'records': "
        "{'customers': {'1': {'name': '', 'type': 'company', 'email': 'x@y.no'}}}}))\n"
        "with talk_core.Sync(talk_core.load_config('talk.toml')) as sync:\n"
        "    result = sync.run()\n"
        "assert result.dead_letters, result\n"
    )
    env = {**process_env(), "PYTHONPATH": os.pathsep.join([PLUGINS, str(ROOT / "tests")])}
    configured = program.replace("import logging, talk_core\n",
                                 "import logging, talk_core\nlogging.basicConfig()\n")
    stderr = []
    for name, text in (("quiet", program), ("configured", configured)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "talk.toml").write_text(CONFIG.format(crm_extra="", erp_extra=""))
        proc = subprocess.run([sys.executable, "-c", text], cwd=tmp_path / name, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        stderr.append(proc.stderr)
    assert stderr[0] == ""
    assert "dead letter" in stderr[1]  # the same run logs once the program asks for it


def test_the_demo_summary_shows_records_with_the_end_of_their_global_id(
        capsys: pytest.CaptureFixture[str]) -> None:
    from talk_core.cli.demo_cmd import render
    from talk_core.demo.summary import ConflictOutcome, RemovalOutcome, Report

    gid, other = new_global_id(), new_global_id()
    report = Report(1, "f", "f/talk.toml", "f/state.db")
    report.conflicts.append(ConflictOutcome(1, "organisation Acme AS", "phone",
                                            {"a": "1", "b": "2"}, "a", "newest",
                                            {"a": "1", "b": "1"}, gid))
    report.removal = RemovalOutcome("a", "human Kari", {"a": False, "b": False}, other)
    render(report)
    out = capsys.readouterr().out
    assert f"organisation Acme AS ({gid[-6:]})" in out
    assert f"human Kari ({other[-6:]}), deleted in a" in out
    assert gid[:8] not in out
    assert report.as_dict()["conflicts"][0]["global_id"] == gid
