"""``talk demo``: a company seeded, synced, edited and synced again, and nothing left behind.

The demo runs on the three emulators in a few seconds, so the tests run it
whole: through click's runner for what it reports, and as a process for
the exit code, Ctrl-C with ``--keep`` and the ports it leaves closed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest
from click.testing import CliRunner

from talk_core.cli.main import cli
from talk_core.demo.data import BILLING, CRM, ERP, company
from talk_core.demo.scenario import Hooks, Scenario
from talk_core.demo.systems import MissingConnector, required
from talk_core.plugins import get_systems
from talk_core.sync.result import RunResult

SYSTEMS = {BILLING, ERP, CRM}


def demo(*args: str) -> Any:
    return CliRunner().invoke(cli, ["demo", *args], catch_exceptions=False)


def listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((parts.hostname or "", parts.port or 0)) == 0


def talk_process(*args: str, env: dict[str, str] | None = None, **kw: Any
                 ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "talk_core.cli", *args], capture_output=True,
                          text=True, timeout=120, env=env or _env(), **kw)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TALK_CONFIG", "TALK_LOAD_PLUGINS")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """One demo with --json and --seed 7, shared by the tests that read its summary."""
    result = demo("--json", "--seed", "7")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_first_sync_matches_shared_records_and_copies_the_rest(
        report: dict[str, Any]) -> None:
    links = {x["global_type"]: x for x in report["links"]}
    assert links["organisation"]["matched"] >= 3  # customers two or three systems shared
    assert links["product"]["matched"] >= 1
    assert links["human"]["matched"] >= 1
    assert all(x["copied"] > 0 for x in links.values())
    for system in report["systems"]:
        before, after = system["records"]["before"], system["records"]["after_first_sync"]
        assert system["writes"][0]["create"] > 0, system
        for gt in ("organisation", "human", "product", "agreement", "agreementline"):
            # every system ends the first sync with every record of the company
            assert after[gt] == max(s["records"]["after_first_sync"][gt]
                                    for s in report["systems"]), (system["name"], gt)
            assert after[gt] >= before.get(gt, 0)
        assert sum(after.values()) > sum(before.values())


def test_each_sync_settles_in_one_run_and_a_quiet_one(report: dict[str, Any]) -> None:
    # the run that carries the edits also carries what its own writes changed in other
    # facets (a customer's address is a location too, and goes on to Exact's addresses)
    assert [s["sync"] for s in report["runs"]] == [1, 2]
    for sync in report["runs"]:
        first, quiet = sync["runs"]
        assert sum(first["totals"][w] for w in ("create", "update", "delete")) > 0, first
        assert sum(quiet["totals"][w] for w in ("create", "update", "delete")) == 0, quiet
        assert quiet["conflicts"] == [] and quiet["deferred"] == 0
    carried = {(x["system"], x["datatype"]): x for x in report["runs"][1]["runs"][0]["systems"]}
    # the edited customers' new phone and address; the deleted person held no address, so
    # Invoiced's copy of them made no (empty) postal address in Exact, and none is deleted
    assert carried[(ERP, "Addresses")].get("update", 0) >= 2
    assert carried[(ERP, "Addresses")].get("delete", 0) == 0


def test_each_edit_arrives_in_every_system(report: dict[str, Any]) -> None:
    edits = report["edits"]
    assert {e["system"] for e in edits} == SYSTEMS
    for edit in edits:
        assert edit["old"] != edit["new"]
        assert set(edit["now"]) == SYSTEMS, edit
        assert all(str(v) == str(edit["new"]) for v in edit["now"].values()), edit


def test_the_conflict_shows_both_values_the_winner_and_the_policy(
        report: dict[str, Any]) -> None:
    [conflict] = [c for c in report["conflicts"] if c["sync"] == 2]
    assert conflict["property"] == "phone"
    values = conflict["values"]
    assert set(values) == {BILLING, ERP} and values[BILLING] != values[ERP]
    # the edit made last wins under "newest"; the seed decides the numbers
    planned = [e.changes["phone"] for e in company(7).edits
               if e.record == "nordlys" and "phone" in e.changes]
    assert [values[BILLING], values[ERP]] == planned
    assert conflict["winner"] == ERP and conflict["policy"] == "newest"
    assert conflict["now"] == {s: values[ERP] for s in SYSTEMS}


def test_the_delete_reaches_every_system(report: dict[str, Any]) -> None:
    removal = report["delete"]
    assert removal["system"] == CRM and removal["record"] == "human Lars Haugen"
    assert removal["present"] == {s: False for s in SYSTEMS}
    for system in report["systems"]:
        assert system["records"]["after"]["human"] == \
            system["records"]["after_first_sync"]["human"] - 1
    assert sum(s["writes"][1]["delete"] for s in report["systems"]) >= 2


def test_the_counts_add_up(report: dict[str, Any]) -> None:
    for system in report["systems"]:
        records, writes = system["records"], system["writes"]
        made = sum(w["create"] for w in writes)
        deleted = sum(w["delete"] for w in writes) + system["removed_by_a_person"]
        assert sum(records["before"].values()) + made - deleted == \
            sum(records["after"].values()), system
        first = writes[0]
        assert sum(records["before"].values()) + first["create"] - first["delete"] == \
            sum(records["after_first_sync"].values()), system
    assert sum(s["removed_by_a_person"] for s in report["systems"]) == 1
    # what the links say talk created is what the systems gained in the first sync
    assert sum(x["copied"] for x in report["links"]) == \
        sum(s["writes"][0]["create"] for s in report["systems"])


def test_a_conflicts_winner_is_held_wherever_talk_writes_it(report: dict[str, Any]) -> None:
    own = [c for c in report["conflicts"] if c["property"] == "customer_number"]
    assert own, report["conflicts"]
    for conflict in report["conflicts"]:
        winner = str(conflict["values"][conflict["winner"]])
        for system, value in conflict["now"].items():
            assert value is None or str(value) == winner or system in conflict["own"], \
                (system, conflict)
    for conflict in own:  # billing numbers its customers itself; talk reads that number only
        assert BILLING in conflict["own"]
        assert str(conflict["now"][BILLING]) == str(conflict["values"][BILLING])


def test_nothing_is_left_running_or_on_disk(report: dict[str, Any]) -> None:
    assert not any(listening(s["url"]) for s in report["systems"])
    assert not Path(report["folder"]).exists()
    # the report names the environment variables of the secrets, never their values
    assert report["env"] and all(name.startswith("TALK_DEMO_") for name in report["env"])


def _writes(result: RunResult) -> Counter[tuple[str, str, str]]:
    return Counter({(system, datatype, what): counts[what]
                    for (system, datatype), counts in result.counts.items()
                    for what in ("create", "update", "delete") if counts[what]})


def test_a_dry_run_before_each_run_plans_exactly_what_the_run_does(tmp_path: Path) -> None:
    dry: dict[tuple[str, int], RunResult] = {}
    real: dict[tuple[str, int], RunResult] = {}
    hooks = Hooks(ran=lambda title, n, result: real.__setitem__((title, n), result),
                  rehearsed=lambda title, n, result: dry.__setitem__((title, n), result))
    scenario = Scenario(tmp_path / "demo", required(get_systems()), seed=7, hooks=hooks,
                        rehearse=True)
    try:
        scenario.run()
    finally:
        scenario.stop()
    assert set(dry) == set(real) and len(real) >= 4
    # the first sync creates records with other facets (customers with addresses) and
    # orders that Exact Online takes only with their lines
    assert max(r.writes for r in real.values()) > 50
    for run, result in real.items():
        planned = dry[run]
        assert planned.dry_run and planned.status == "done", run
        assert planned.dead_letters == [] and planned.errors == [], (run, planned.dead_letters)
        listed = Counter((p["system"], p["datatype"], p["action"]) for p in planned.planned)
        assert listed == _writes(result), (run, sorted(listed.items()),
                                           sorted(_writes(result).items()))
        assert _writes(planned) == _writes(result), run
        assert len(planned.conflicts) == len(result.conflicts), run


def test_the_text_summary(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    out = demo("--dir", str(folder))
    assert out.exit_code == 0, out.output
    text = out.output
    for title in ("Systems", "Records per datatype", "Links made by the first sync",
                  "Edits between the syncs", "Conflicts", "Delete"):
        assert title in text, title
    assert re.search(r"organisation\s+8\s+4\s+\d+", text), text
    assert re.search(r"2\s+organisation Nordlys Bryggeri AS \([0-9a-f]{6}\)\s+phone\s+"
                     r"billing='[^']+', "
                     r"erp='[^']+'\s+erp\s+newest\s+billing, erp, crm", text), text
    assert re.search(r"human Lars Haugen \([0-9a-f]{6}\), deleted in crm; talk deleted it in "
                     r"billing, erp\n", text), text
    # every run in one line: what it read and wrote, or that it found nothing to do
    runs = re.findall(r"^Run (\d+): done, (.*)$", text, re.M)
    assert [n for n, _ in runs] == ["1", "2", "3", "4"], text
    for _n, line in runs:
        assert re.fullmatch(r"read what changed: read \d+ records, created \d+, updated \d+, "
                            r"deleted \d+(; \d+ conflicts? settled)?|read \d+ records back "
                            r"and wrote nothing: every system holds what the run before wrote",
                            line), line
    # a winner a system does not hold is said to be that system's own value
    assert re.search(r"customer_number\s+billing='\d+', erp='\d+'\s+erp\s+newest\s+"
                     r"billing keeps its own \(\d+\), erp, crm has none", text), text
    assert "customer_number is billing's own: talk reads it but never writes it there" in text
    assert "customer_number is erp's own" not in text
    assert re.search(r"records before\s+talk created\s+updated\s+talk deleted\s+"
                     r"a person deleted\s+after", text), text
    # each sync: the run that does the work, then one that finds nothing left to do
    assert re.findall(r"^Run (\d+): done, read \d+ records back and wrote nothing", text,
                      re.M) == ["2", "4"], text
    assert not re.search(r"^Run 5", text, re.M), text
    # the config stays, and talk reads it like any other with the secrets in the environment
    config = folder / "talk.toml"
    assert "${TALK_DEMO_BILLING_API_KEY}" in config.read_text()
    secrets = re.findall(r"^(\w+) = \"\$\{(\w+)\}\"", config.read_text(), re.M)
    assert {option for option, _ in secrets} == {"api_key", "client_secret", "refresh_token"}
    env = {name: "unused-after-the-demo" for _, name in secrets}
    status = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    links = {(x["system"], x["global_type"]) for x in json.loads(status.stdout)["links"]}
    assert {(s, "organisation") for s in SYSTEMS} <= links
    again = demo("--dir", str(folder))
    assert again.exit_code == 2 and "talk.toml exists" in again.output


def test_the_same_seed_gives_the_same_company() -> None:
    assert company(3) == company(3)
    assert company(3).edits != company(4).edits
    assert [r.key for r in company(3).records] == [r.key for r in company(4).records]


def test_as_a_process_it_exits_0_and_closes_its_ports() -> None:
    proc = talk_process("demo")
    assert proc.returncode == 0, proc.stderr
    urls = re.findall(r"http://127\.0\.0\.1:\d+", proc.stdout)
    assert len(set(urls)) == 3, proc.stdout
    assert not any(listening(url) for url in urls)


def test_a_missing_connector_names_the_package_to_install() -> None:
    proc = talk_process("demo", env=_env(TALK_LOAD_PLUGINS="talk-invoiced,talk-custom"))
    assert proc.returncode == 2
    assert "Exact Online (exactonline)" in proc.stderr
    assert "pip install talk-exactonline" in proc.stderr


def test_a_connector_that_cannot_start_its_emulator_asks_for_an_upgrade() -> None:
    specs = get_systems()
    old = {**specs, "exactonline": attrs.evolve(specs["exactonline"], start_emulator=None)}
    with pytest.raises(MissingConnector, match=r"pip install -U talk-exactonline$"):
        required(old)
    assert set(required(specs)) == SYSTEMS


def test_keep_serves_until_ctrl_c_then_stops_cleanly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "talk_core.cli", "demo", "--keep"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env())
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        text = "".join(lines)
        urls = re.findall(r"^\s+\w+\s+.+?\s(http://127\.0\.0\.1:\d+)$", text, re.M)
        assert len(urls) == 3, text
        assert all(listening(url) for url in urls)
        config = re.search(r"^Config: (\S+)", text, re.M)
        assert config is not None, text
        exports = dict(re.findall(r"^\s+export (\w+)=(\S+)$", text, re.M))
        links = talk_process("--config", config[1], "links", "--json", env=_env(**exports))
        assert links.returncode == 0, links.stderr
        assert {x["system"] for x in json.loads(links.stdout)} == SYSTEMS
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not any(listening(url) for url in urls)
    assert not Path(config[1]).parent.exists()
