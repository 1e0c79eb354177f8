"""``talk sync``'s live lines: on a terminal every phase with its counts, in a pipe nothing."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from talk_core import notices
from talk_core.cli.progress_view import RunProgress
from talk_core.demo.scenario import Scenario
from talk_core.demo.systems import CONFIG_NAME, Emulators, required, write_config
from talk_core.plugins import get_systems
from talk_exactonline.budget import RateBudget

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The demo's three emulators with its company's records in each, and their config."""
    specs = required(get_systems())
    scenario = Scenario(tmp_path, specs)
    scenario.emulators = Emulators.start(specs)
    try:
        env = write_config(tmp_path, specs, scenario.emulators)
        scenario._seed()
        yield tmp_path, {**os.environ, **env, "HOME": str(tmp_path), "TERM": "xterm",
                         "COLUMNS": "120"}
    finally:
        scenario.stop()


def _sync_args(folder: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "talk_core.cli", "--config", str(folder / CONFIG_NAME),
            "sync", *extra]


def _in_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run ``args`` with stdin, stdout and stderr on a pseudo-terminal; all it drew."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(args, stdin=terminal, stdout=terminal, stderr=terminal, env=env,
                            cwd=cwd, close_fds=True)
    os.close(terminal)
    out = bytearray()
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            out += chunk
    finally:
        code = proc.wait(timeout=120)
        os.close(controller)
    return code, ANSI.sub("", out.decode("utf-8", "replace")).replace("\r", "\n")


def test_a_terminal_sees_reading_merging_and_writing_with_their_counts(
        seeded: tuple[Path, dict[str, str]]) -> None:
    folder, env = seeded
    code, drawn = _in_a_terminal(_sync_args(folder), env, folder)
    assert code in (0, 1), drawn  # done (with conflicts to look at: 1)
    read = re.findall(r"reading (\w+) (\w+): (\d+) records", drawn)
    assert {system for system, _dt, _n in read} == {"billing", "erp", "crm"}, drawn
    assert any(int(n) > 0 for _s, _d, n in read), drawn
    merged = re.findall(r"merging (\w+): (\d+) entities merged", drawn)
    assert any(gtype == "organisation" and int(n) > 0 for gtype, n in merged), drawn
    written = re.findall(r"writing (\w+) (\w+): (\d+) of (\d+)", drawn)
    assert written, drawn
    # the line is redrawn as it goes; at its end every planned write was made
    most: dict[tuple[str, str], tuple[int, int]] = {}
    for system, datatype, done, total in written:
        before = most.get((system, datatype), (0, 0))
        most[(system, datatype)] = (max(before[0], int(done)), max(before[1], int(total)))
    assert all(done == total > 0 for done, total in most.values()), most
    assert ("erp", "Accounts") in most and ("crm", "customer") in most, most


def test_a_pipe_and_json_get_no_progress(seeded: tuple[Path, dict[str, str]]) -> None:
    folder, env = seeded
    run = subprocess.run(_sync_args(folder), env=env, cwd=folder, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode in (0, 1), run.stdout + run.stderr
    assert "Run " in run.stdout  # the summary is there
    for phase in ("reading ", "merging ", "writing ", "\x1b["):
        assert phase not in run.stderr
    code, drawn = _in_a_terminal(_sync_args(folder, "--json"), env, folder)
    assert code in (0, 1), drawn
    assert "reading " not in drawn and "merging " not in drawn


def test_a_minute_budget_wait_is_reported_as_such() -> None:
    now = [1000.0]
    slept: list[float] = []
    heard: list[tuple[str, dict[str, object]]] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    budget = RateBudget(clock=lambda: now[0], sleep=sleep)
    budget.minutely_remaining, budget.minutely_reset = 0, now[0] + 42
    with notices.listening(lambda event, **info: heard.append((event, info))):
        budget.before_request()
    assert slept and slept[0] == pytest.approx(42.05)
    assert heard[0] == ("wait", {"system": "Exact Online", "reason": "minute budget spent",
                                 "seconds": pytest.approx(42.05)})
    assert heard[1][0] == "waited"
    budget.minutely_remaining = 0
    budget.minutely_reset = now[0] + 5
    budget.before_request()  # no listener: the wait is only slept
    assert len(heard) == 2 and len(slept) == 2


def test_the_lines_say_each_phase_and_a_wait_as_a_wait() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    progress = RunProgress(enabled=True, console=console)
    progress("read", system="erp", datatype="Accounts")
    progress("page", system="erp", datatype="Accounts", entities=60)
    progress("wait", system="Exact Online", reason="minute budget spent", seconds=42.0)
    progress._bar.refresh()  # type: ignore[union-attr]
    waiting = ANSI.sub("", out.getvalue())
    assert "Exact Online: minute budget spent, waiting 42 s" in waiting, waiting
    progress("waited", system="Exact Online", seconds=42.0)
    progress("page", system="erp", datatype="Accounts", entities=1)
    progress("merge", global_type="organisation", entities=61)
    for _ in range(3):
        progress("plan", system="billing", datatype="customers")
    progress("write", system="billing", datatype="customers")
    progress.close()
    drawn = ANSI.sub("", out.getvalue())
    assert "reading erp Accounts: 61 records" in drawn, drawn
    assert "Exact Online: minute budget spent, waited 42 s" in drawn, drawn
    assert "merging organisation: 61 entities merged" in drawn, drawn
    assert "writing billing customers: 1 of 3" in drawn, drawn


def test_disabled_it_draws_nothing() -> None:
    out = io.StringIO()
    progress = RunProgress(enabled=False, console=Console(file=out, force_terminal=True))
    progress("read", system="erp", datatype="Accounts")
    progress("page", system="erp", datatype="Accounts", entities=5)
    progress.close()
    assert out.getvalue() == ""
