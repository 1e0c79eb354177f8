"""The command line, through click's runner and as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from talk_core.cli.main import cli
from talk_core.staged import StagedRecord
from talk_core.store.base import InboxRow
from talk_core.store.sqlite import SQLiteStore

PLUGINS = str(Path(__file__).parent / "plugins")
TOKEN = "tok-very-secret-4711"

CONFIG = """
plugins = ["talk_toy"]

[systems.crm]
connector = "toycrm"
path = "crm.json"
token = "${{TOY_TOKEN}}"
{crm_extra}

[systems.erp]
connector = "toyerp"
path = "erp.json"
{erp_extra}

[sync]
max_delete_fraction = 0.3
min_delete_count = 1
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.syspath_prepend(PLUGINS)
    monkeypatch.setenv("TOY_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_CONFIG", raising=False)
    (tmp_path / "talk.toml").write_text(CONFIG.format(crm_extra="", erp_extra=""))
    return tmp_path


def seed(path: Path, datatype: str, records: dict[str, dict[str, object]]) -> None:
    data = {"next": 1000, "records": {datatype: records}, "keys": {}}
    if path.exists():
        data = json.loads(path.read_text())
        data["records"].setdefault(datatype, {}).update(records)
    path.write_text(json.dumps(data))


def records(path: Path, datatype: str) -> dict[str, dict[str, object]]:
    return json.loads(path.read_text())["records"].get(datatype, {})


def companies(n: int) -> dict[str, dict[str, object]]:
    return {str(i): {"name": f"Firm {i}", "type": "company", "city": "Oslo"} for i in range(n)}


def talk(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def process_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PLUGINS, env.get("PYTHONPATH", "")])
    env["TOY_TOKEN"] = TOKEN
    env.pop("TALK_CONFIG", None)
    return env


def talk_process(cwd: Path, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "talk_core.cli", *args], cwd=cwd,
                          env=process_env(), capture_output=True, text=True, timeout=120,
                          **kw)  # type: ignore[call-overload]


def test_sync_then_rerun_writes_nothing(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(3))
    first = talk("sync")
    assert first.exit_code == 0, first.output
    assert "erp     Accounts" in first.output
    assert len(records(workdir / "erp.json", "Accounts")) == 3
    second = talk("sync", "--json")
    data = json.loads(second.output)
    assert second.exit_code == 0 and data["totals"]["create"] == 0
    assert set(data) >= {"run_id", "status", "systems", "totals", "conflicts", "dead_letters"}
    assert data["status"] == "done"


def test_dry_run_prints_the_plan_and_writes_nothing(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(2))
    out = talk("sync", "--dry-run")
    assert out.exit_code == 0
    assert "Planned writes (2)" in out.output and "create  erp" in out.output
    assert not (workdir / "erp.json").exists() or records(workdir / "erp.json", "Accounts") == {}


def test_datatype_and_system_filters(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", {
        "1": {"name": "Firm", "type": "company"}, "2": {"name": "Kari", "type": "person"}})
    out = talk("sync", "--datatype", "human", "--json")
    data = json.loads(out.output)
    assert data["totals"]["create"] == 1
    assert records(workdir / "erp.json", "Accounts") == {}
    assert len(records(workdir / "erp.json", "Contacts")) == 1
    bad = talk("sync", "--system", "ghost")
    assert bad.exit_code == 2 and "unknown system instance(s): ghost" in bad.output
    assert "configured: crm, erp" in bad.output


def test_dead_letters_give_exit_1_and_are_listed(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", {"1": {"name": "", "type": "company",
                                                    "email": "x@y.no"}})
    out = talk("sync")
    assert out.exit_code == 1
    assert "Name is required" in out.output
    listed = talk("deadletters", "--json")
    (letter,) = json.loads(listed.output)
    assert letter["system"] == "erp" and letter["direction"] == "write"
    text = talk("deadletters")
    assert "Name is required" in text.output and "1 attempt(s)" in text.output


def conflicting_sync(workdir: Path) -> tuple[Result, str]:
    """Acme (CRM id 7) synced, then its city edited on both sides: the next sync, and Acme's ERP id.

    The sync answers as ``talk`` does; its run records one conflict on the city.
    """
    seed(workdir / "crm.json", "customers", {"7": {"name": "Acme", "type": "company",
                                                    "city": "Oslo"}})
    talk("sync")
    erp_id = next(iter(records(workdir / "erp.json", "Accounts")))
    crm = json.loads((workdir / "crm.json").read_text())
    crm["records"]["customers"]["7"]["city"] = "Bergen"
    (workdir / "crm.json").write_text(json.dumps(crm))
    erp = json.loads((workdir / "erp.json").read_text())
    erp["records"]["Accounts"][erp_id]["City"] = "Tromsø"
    (workdir / "erp.json").write_text(json.dumps(erp))
    return talk("sync"), erp_id


def test_status_links_conflicts(workdir: Path) -> None:
    out, erp_id = conflicting_sync(workdir)
    assert out.exit_code == 1 and "Conflicts (1)" in out.output
    status = json.loads(talk("status", "--json").output)
    assert {(x["system"], x["count"]) for x in status["links"]} == {("crm", 1), ("erp", 1)}
    assert status["pending"] == {"journal": 0, "inbox": 0, "deferred": 0}
    assert status["runs"][0]["status"] == "done" and status["conflicts"] == 1
    shown = json.loads(talk("links", "7", "--json").output)
    assert sorted((x["system"], x["id"]) for x in shown) == [("crm", "7"), ("erp", erp_id)]
    conflicts = json.loads(talk("conflicts", "--json").output)
    assert conflicts[0]["property"] == "city"
    assert set(conflicts[0]["values"].values()) == {"Bergen", "Tromsø"}
    assert "city" in talk("conflicts").output and "Last runs" in talk("status").output


def test_config_errors_exit_2_with_where_and_what(workdir: Path) -> None:
    (workdir / "talk.toml").write_text(CONFIG.format(crm_extra="colour = 'red'", erp_extra=""))
    out = talk("sync")
    assert out.exit_code == 2
    assert "talk.toml: [systems.crm] colour: unknown option" in out.output
    (workdir / "talk.toml").write_text(
        CONFIG.format(crm_extra="", erp_extra="").replace('"${TOY_TOKEN}"', '"literal-token"'))
    out = talk("sync")
    assert out.exit_code == 2 and "a secret must come from the environment" in out.output
    out = talk("--config", str(workdir / "missing.toml"), "status")
    assert out.exit_code == 2 and "no such config file" in out.output


def test_init_writes_a_config_that_loads(workdir: Path) -> None:
    target = workdir / "new.toml"
    out = talk("init", str(target))
    assert out.exit_code == 0 and target.exists()
    parsed = tomllib.loads(target.read_text())
    assert parsed["sync"]["conflict"] == "newest" and "state" in parsed
    again = talk("init", str(target))
    assert again.exit_code == 2 and "--force" in again.output
    assert talk("init", str(target), "--force").exit_code == 0


def test_init_includes_installed_system_kinds(workdir: Path) -> None:
    out = talk("init", "example.toml")
    text = (workdir / "example.toml").read_text()
    assert out.exit_code == 0
    assert 'connector = "toycrm"' in text
    assert '\n# token = "${TOYCRM_TOKEN}"' in text  # optional: commented out
    assert '\npath = ""' in text  # required: to fill in


def test_plugins_and_systems(workdir: Path) -> None:
    systems = json.loads(talk("systems", "--json").output)
    crm = next(s for s in systems if s["name"] == "toycrm")
    assert [m["facet"] for m in crm["datatypes"][0]["maps_to"]] == [
        "organisation data", "human data"]
    plugins = talk("plugins", "--json")
    assert plugins.exit_code == 0 and any(p["name"] == "talk_toy"
                                          for p in json.loads(plugins.output))


def test_docs_for_two_kinds(workdir: Path) -> None:
    out = talk("docs", "toycrm", "toyerp")
    assert out.exit_code == 0
    assert "Toy CRM Customer (organisation data) to Toy ERP Accounts\n" in out.output
    assert "   * - email\n     - Email\n     - \"string\"" in out.output
    md = talk("docs", "toyerp", "toycrm", "--format", "md")
    # a whole datatype into a facet names the kind of record it creates (type = "person")
    assert "## Toy ERP Contacts to Toy CRM Customer person" in md.output
    bad = talk("docs", "toycrm", "nothing")
    assert bad.exit_code == 2 and "unknown system kind 'nothing'" in bad.output


def test_emulate_without_emulator_is_a_clear_error(workdir: Path) -> None:
    out = talk("emulate", "toycrm")
    assert out.exit_code == 2 and "Toy CRM has no emulator" in out.output


def test_emulate_starts_the_plugins_emulator(workdir: Path) -> None:
    import talk_toy

    out = talk("emulate", "toyerp", "--port", "8099", "--seed")
    assert out.exit_code == 0, out.output
    assert talk_toy.EMULATED[-1] == {"port": 8099, "seed": True}


def test_plugin_commands_join_the_cli(workdir: Path) -> None:
    out = talk("toy-hello", "world")
    assert out.exit_code == 0 and "hello world from the toy plugin" in out.output
    assert "toy-hello" in talk("--help").output


def test_secrets_never_reach_the_log(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(1))
    proc = talk_process(workdir, "-vv", "sync", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "with token ***" in proc.stderr
    assert TOKEN not in proc.stderr and TOKEN not in proc.stdout


def test_circuit_breaker_exit_4(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(10))
    assert talk("sync").exit_code == 0
    crm = json.loads((workdir / "crm.json").read_text())
    for i in range(6):
        del crm["records"]["customers"][str(i)]
    (workdir / "crm.json").write_text(json.dumps(crm))
    proc = talk_process(workdir, "sync")
    assert proc.returncode == 4
    assert "would delete 6 of 10" in proc.stdout
    assert len(records(workdir / "erp.json", "Accounts")) == 10


def test_a_second_sync_fails_at_once_with_exit_3(workdir: Path) -> None:
    holder = SQLiteStore(workdir / ".talk" / "state.db")
    holder.acquire_lock("the other sync")
    try:
        started = time.monotonic()
        proc = talk_process(workdir, "sync")
        assert proc.returncode == 3
        assert "holds the lock" in proc.stderr and str(os.getpid()) in proc.stderr
        assert time.monotonic() - started < 20
    finally:
        holder.release_lock()
        holder.close()


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(workdir: Path) -> None:
    (workdir / "talk.toml").write_text(CONFIG.format(crm_extra="", erp_extra="delay = 0.2"))
    seed(workdir / "crm.json", "customers", companies(12))
    proc = subprocess.Popen([sys.executable, "-m", "talk_core.cli", "sync"], cwd=workdir,
                            env=process_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    erp = workdir / "erp.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if erp.exists() and records(erp, "Accounts"):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping; a write in flight is settled now or by the next run" in err
    written = len(records(erp, "Accounts"))
    assert 1 <= written < 12
    store = SQLiteStore(workdir / ".talk" / "state.db")
    try:
        assert store.journal_pending() == []
        assert store.count_links("organisation", "erp") == written
    finally:
        store.close()
    rerun = talk_process(workdir, "sync")
    assert rerun.returncode == 0, rerun.stderr
    names = [r["Name"] for r in records(erp, "Accounts").values()]
    assert sorted(names) == sorted(f"Firm {i}" for i in range(12))


def test_a_damaged_state_file_is_a_clear_error(workdir: Path) -> None:
    state = workdir / ".talk" / "state.db"
    state.parent.mkdir()
    state.write_bytes(b"this is not a database, it is a shopping list\n" * 50)
    out = talk("status")
    assert out.exit_code == 2
    assert str(state) in out.output and "Traceback" not in out.output
    assert "move it away" in out.output


def test_log_level_from_the_environment_and_quiet(workdir: Path) -> None:
    seed(workdir / "crm.json", "customers", companies(1))
    env = process_env()
    env["TALK_LOG_LEVEL"] = "debug"
    loud = subprocess.run([sys.executable, "-m", "talk_core.cli", "sync"], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=120)
    assert loud.returncode == 0 and "DEBUG talk.toy: opening" in loud.stderr
    assert TOKEN not in loud.stderr
    quiet = subprocess.run([sys.executable, "-m", "talk_core.cli", "-q", "sync"], cwd=workdir,
                           env=env, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "DEBUG" not in quiet.stderr


def test_status_counts_why_staged_records_wait(workdir: Path) -> None:
    state = workdir / ".talk" / "state.db"
    state.parent.mkdir()
    store = SQLiteStore(state)
    lines = ("erp Quotations: not created until it has lines; erp refuses quotations "
             "without QuotationLines")
    with store.transaction():
        store.stage([InboxRow("agreementline", "erp", "Quotations", "", kind="parent",
                              global_id=f"q{i}") for i in range(2)])
        store.stage([InboxRow("human", "crm", "contacts", str(i), payload=StagedRecord({}))
                     for i in (7, 8, 9)])
        for row in store.inbox_groups("agreementline", None, 10):
            store.inbox_defer(row.seq, lines)  # type: ignore[arg-type]
        for row in store.inbox_unresolved("human", 10)[:2]:
            store.inbox_defer(row.seq,  # type: ignore[arg-type]
                              f"organisation refers to crm customers {row.external_id}, "
                              "not linked yet")
    store.close()

    data = json.loads(talk("status", "--json").output)
    assert data["pending"] == {"journal": 0, "inbox": 5, "deferred": 4}
    assert [(w["system"], w["datatype"], w["waiting_for"], w["count"])
            for w in data["waiting"]] == [("crm", "contacts", "record", 2),
                                          ("erp", "Quotations", "lines", 2)]
    text = talk("status").output
    assert text.endswith(
        "Pending\n"
        "  journal 0, staged 5 (waiting for a reference: 2), dead letters 0, "
        "conflicts recorded 0\n"
        "    crm contacts: 2 waiting, e.g. organisation refers to crm customers 7, "
        "not linked yet\n"
        "    erp Quotations: 2 not created until they have lines; erp refuses quotations "
        "without QuotationLines\n")
