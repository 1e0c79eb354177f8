"""One Ctrl-C during a request that hangs: ``talk`` ends within 2 s, and the next run is clean.

A request whose answer does not come used to keep the run waiting for it
after the first Ctrl-C. The transport abandons it instead
(``talk_core.rest.inflight``): a read abandoned costs nothing, and a
create abandoned may have been made, so its journal entry stays and the
next run's recovery links it rather than making it twice. The hang is 30
s at the emulator (released when the test ends); the figures are printed
(``pytest -s``).
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from outage_world import Finished, World, stop_with

from talk_core.emulation import TappedRequest

#: The promise: stopped within 2 s of the first Ctrl-C (exit 130, an interrupted run).
PROMISE = 2.0
HANG = 30.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with World(tmp_path) as built:
        yield built


def _one_ctrl_c_while_held(world: World, hanging: threading.Event, release: threading.Event,
                           reached: str, figure: str) -> Finished:
    """``talk sync`` stopped by one Ctrl-C while a tap hook holds a request, held to the promise.

    ``hanging`` is set by the hook once it holds the request (the run got to
    ``reached``); ``release`` lets the hook go, after the stop or on failure.
    """
    child = world.start("sync")
    try:
        assert hanging.wait(120), f"the run did not get to {reached}"
        time.sleep(0.3)
        assert child.poll() is None
        stopped, seconds = stop_with(child, signal.SIGINT)
    finally:
        release.set()
    print(f"\n[figure] one ctrl-c during {figure}: exit {stopped.code} "
          f"{seconds:.2f}s after the signal")
    assert stopped.code == 130, stopped
    assert seconds < PROMISE, stopped
    return stopped


def test_one_ctrl_c_during_a_create_that_hangs_stops_within_2_s_and_the_rerun_makes_none_twice(
        world: World) -> None:
    for i in range(40):
        world.erp.state.create("Accounts", {"Name": f"Vaart {i:02d} BV", "City": "Delft",
                                            "Country": "NL"})
    world.bring_up("erp")
    posts = Counter[str]()
    hanging, release = threading.Event(), threading.Event()

    def hang_the_tenth_answer(request: TappedRequest) -> None:
        if request.method != "POST":
            return
        if request.stage == "received":
            posts["customer"] += 1
        elif posts["customer"] == 10 and not hanging.is_set():
            hanging.set()
            release.wait(HANG)  # made, and its answer 30 s late

    world.crm.tap.hook = hang_the_tenth_answer
    stopped = _one_ctrl_c_while_held(world, hanging, release, "its tenth create",
                                     "a hanging create")
    assert "stopping now" not in stopped.stderr, "one Ctrl-C was enough"
    assert "Traceback" not in stopped.stderr, stopped
    assert world.run_statuses() == ["interrupted"]
    assert world.state()["journal"] >= 1, "the create in flight is kept for recovery"

    world.crm.tap.hook = None
    rerun = world.talk("sync")
    assert rerun.code == 0, rerun
    names = Counter(c["name"] for c in world.crm.records("customer"))
    assert len(names) == 40 and max(names.values()) == 1, "created twice"
    assert world.state()["journal"] == 0


def test_one_ctrl_c_during_a_read_that_hangs_stops_within_2_s(world: World) -> None:
    world.customers(5)
    world.bring_up("erp")
    hanging, release = threading.Event(), threading.Event()

    def hang_the_listing(request: TappedRequest) -> None:
        if request.method == "GET" and request.stage == "applied" and not hanging.is_set():
            hanging.set()
            release.wait(HANG)

    world.crm.tap.hook = hang_the_listing
    _one_ctrl_c_while_held(world, hanging, release, "the CRM's listing", "a hanging read")
    assert world.run_statuses() == ["interrupted"]
    world.crm.tap.hook = None
    rerun = world.talk("sync")
    assert rerun.code == 0, rerun
    names = world.account_names()
    assert len(names) == 5 and max(names.values()) == 1
