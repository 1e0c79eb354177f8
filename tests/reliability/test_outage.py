"""``talk sync`` as a person meets it: a system down, Ctrl-C in a wait, in recovery, twice.

Each test runs the CLI as a child process over emulators served by this
process (``outage_world``). Times are held to generous bounds only; the
figures measured are printed (``pytest -s``) for the record.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from outage_world import Finished, World, stop_with

from talk_core.emulation import TappedRequest

#: A stop request is honoured within this (the aim is 2 s; the bound leaves room for a busy CI).
STOP_BOUND = 5.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with World(tmp_path) as built:
        yield built


def figure(name: str, run: Finished) -> None:
    print(f"\n[figure] {name}: exit {run.code}, {run.seconds:.1f}s, {run.lines} lines")


def test_an_unreachable_system_with_2000_records_pending(world: World) -> None:
    world.customers(2000)
    down = world.talk("sync")
    figure("exact down, 2000 pending", down)
    assert down.code == 7, down
    assert down.lines < 20, down
    assert down.seconds < 60, down
    port = f"http://127.0.0.1:{world.erp_port}/"
    said = [line for line in down.stdout.splitlines() if "erp is unavailable" in line]
    assert said and port in said[0] and "connection was refused" in said[0], down
    assert world.state() == {"journal": 0, "letters": 0, "erp_links": 0}

    world.bring_up("erp")
    back = world.talk("sync", "--json")
    figure("exact back", back)
    assert back.code == 0, back
    # 2000 accounts, and the invoice address each CRM customer carries as a location,
    # which Exact keeps beside the account's own (visit) address
    assert json.loads(back.stdout)["totals"]["create"] == 4000
    addresses = world.erp.state.records["Addresses"].values()
    assert len(addresses) == 2000 and {a["Type"] for a in addresses} == {3}
    assert all(a["City"] for a in world.erp.state.records["Accounts"].values())
    names = world.account_names()
    assert len(names) == 2000 and max(names.values()) == 1, "created twice"
    again = world.talk("sync", "--json")
    assert again.code == 0 and json.loads(again.stdout)["totals"]["create"] == 0, again
    assert world.state() == {"journal": 0, "letters": 0, "erp_links": 2000}


def test_the_others_are_synced_while_one_is_down(tmp_path: Path) -> None:
    world = World(tmp_path, billing=True)
    try:
        world.configure(sync="unavailable_after = 2")
        world.bring_up("erp")
        world.customers(20)
        down = world.talk("sync")
        figure("invoiced down, 20 pending", down)
        assert down.code == 7, down
        assert down.lines < 20 and down.seconds < 60, down
        said = [line for line in down.stdout.splitlines() if "billing is unavailable" in line]
        assert said and f"http://127.0.0.1:{world.billing_port}/" in said[0], down
        assert len(world.account_names()) == 20, "crm to erp went on"
        assert world.state()["letters"] == 0 and world.state()["journal"] == 0
        world.bring_up("billing")
        back = world.talk("sync")
        assert back.code == 0, back
        assert world.billing is not None
        billed = Counter(c["name"] for c in world.billing.account.customers.values())
        assert len(billed) == 20 and max(billed.values()) == 1, billed
        assert len(world.account_names()) == 20
    finally:
        world.close()


def test_ctrl_c_in_exact_s_rate_limit_wait(tmp_path: Path) -> None:
    world = World(tmp_path, minutely_limit=8)  # the minute window: 60 s
    try:
        world.bring_up("erp")
        world.customers(30)
        child = world.start("sync")
        deadline = time.monotonic() + 60
        while world.erp.limits.used_minute < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # talk has seen the spent minute and waits for the next
        assert child.poll() is None, "the run should be waiting for the next minute"
        stopped, seconds = stop_with(child, signal.SIGINT)
        figure("ctrl-c in the rate-limit wait", stopped)
        assert stopped.code == 130, stopped
        assert seconds < STOP_BOUND, stopped
        assert "Aborted" not in stopped.stderr
        assert world.state()["journal"] == 0
        assert world.run_statuses() == ["interrupted"]
        made = len(world.account_names())
        assert made < 30
        world.erp.limits.minutely = 100_000
        rerun = world.talk("sync")
        assert rerun.code == 0, rerun
        names = world.account_names()
        assert len(names) == 30 and max(names.values()) == 1
    finally:
        world.close()


def test_sigterm_in_recovery_of_a_killed_runs_1000_creates(world: World) -> None:
    for i in range(1000):
        world.erp.state.create("Accounts", {"Name": f"Handel {i:04d} BV", "City": "Delft",
                                            "Country": "NL"})
    world.bring_up("erp")
    posts = Counter[str]()
    lookups = Counter[str]()

    def watch(request: TappedRequest) -> None:
        if request.stage != "received":
            return
        if request.method == "POST":
            posts["customer"] += 1
        elif "idempotency_key" in request.path:
            lookups["customer"] += 1
            time.sleep(0.003)  # recovery asks one by one: make it last a few seconds

    world.crm.tap.hook = watch
    first = world.start("sync")
    deadline = time.monotonic() + 120
    while posts["customer"] < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.kill()  # SIGKILL mid-batch: its creates stay in the journal
    first.wait(timeout=30)
    journal = world.state()["journal"]
    assert journal >= 900, journal
    assert world.run_statuses() == ["killed"], "a killed run's row is not left running"

    second = world.start("sync")
    while lookups["customer"] < 50 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert second.poll() is None
    stopped, seconds = stop_with(second, signal.SIGTERM)
    figure(f"sigterm in recovery of {journal} entries", stopped)
    assert stopped.code == 130, stopped
    assert seconds < STOP_BOUND, stopped
    assert lookups["customer"] < journal, "stopped before recovery was through"
    assert world.run_statuses() == ["interrupted", "killed"]

    world.crm.tap.hook = None
    rerun = world.talk("sync")
    assert rerun.code == 0, rerun
    names = Counter(c["name"] for c in world.crm.records("customer"))
    assert len(names) == 1000 and max(names.values()) == 1, "created twice"
    assert world.state()["journal"] == 0


def test_ctrl_c_twice_leaves_a_consistent_state_and_exit_130(world: World) -> None:
    """The first Ctrl-C waits for the create in flight, whose answer is slow; the second cuts it.

    The create was made: its journal entry lets the next run link it, not make it again.
    """
    for i in range(300):
        world.erp.state.create("Accounts", {"Name": f"Molen {i:03d} BV", "City": "Delft",
                                            "Country": "NL"})
    world.bring_up("erp")
    posts = Counter[str]()
    stalled = threading.Event()

    def slow_answer(request: TappedRequest) -> None:
        if request.method != "POST":
            return
        if request.stage == "received":
            posts["customer"] += 1
        elif posts["customer"] == 20 and not stalled.is_set():
            stalled.set()
            time.sleep(4)  # made, and its answer late

    world.crm.tap.hook = slow_answer
    child = world.start("sync")
    assert stalled.wait(120), "the run did not get to its 20th create"
    time.sleep(0.1)
    stopped, seconds = stop_with(child, signal.SIGINT, again_after=0.3)
    figure("ctrl-c twice during a slow create", stopped)
    assert stopped.code == 130, stopped
    assert seconds < STOP_BOUND, stopped
    assert "stopping now" in stopped.stderr, stopped
    assert "Aborted" not in stopped.stderr and "Traceback" not in stopped.stderr, stopped
    assert world.run_statuses() == ["interrupted"]
    assert world.state()["journal"] >= 1, "the create in flight is kept for recovery"
    world.crm.tap.hook = None
    time.sleep(4)
    rerun = world.talk("sync")
    assert rerun.code == 0, rerun
    names = Counter(c["name"] for c in world.crm.records("customer"))
    assert len(names) == 300 and max(names.values()) == 1, "created twice"
    assert world.state()["journal"] == 0
