"""A stop request ends any wait at once, and a second Ctrl-C still ends the run cleanly.

Exact's minute window is waited out on the process-wide stop event
(``talk_core.interrupt``), so Ctrl-C does not wait up to a minute. A
``KeyboardInterrupt`` (what the CLI's second Ctrl-C raises) ends the run
as ``interrupted``, recorded as such, with the lock released and every
committed step kept; the next run converges.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from systems import SharedClock, make_connectors, make_sync

from talk_core import interrupt
from talk_core.errors import Interrupted
from talk_core.model import Entity
from talk_exactonline.budget import RateBudget


def test_a_stop_request_ends_exact_s_minute_wait_at_once() -> None:
    interrupt.clear()
    budget = RateBudget()  # sleeps on the stop event
    budget.minutely_remaining, budget.minutely_reset = 0, time.time() + 60
    timer = threading.Timer(0.2, interrupt.request_stop)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted):
            budget.before_request()
    finally:
        timer.cancel()
        interrupt.clear()
    assert time.monotonic() - started < 2


def test_sync_request_stop_sets_the_process_wide_event_and_a_run_clears_it(
        tmp_path: Path) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    with make_sync(tmp_path / "state.db", conns, clock) as sync:
        sync.request_stop()
        assert interrupt.requested()
        assert sync.run().status == "done"  # a request before the run is not this run's
        assert not interrupt.requested()


def test_a_keyboard_interrupt_in_a_write_ends_the_run_as_interrupted(tmp_path: Path) -> None:
    clock = SharedClock()
    conns = make_connectors(clock)
    for i in range(5):
        conns["crm"].put("customers", {"name": f"Firm {i}", "type": "company"})
    erp = conns["erp"]
    plain_create = erp.create
    made: list[Entity] = []

    def second_ctrl_c(*args: Any, **kwargs: Any) -> Entity:
        if len(made) == 2:
            raise KeyboardInterrupt
        made.append(plain_create(*args, **kwargs))
        return made[-1]

    erp.create = second_ctrl_c  # type: ignore[method-assign]
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
        assert result.status == "interrupted"
        assert [r.status for r in sync.store.runs()] == ["interrupted"]
    erp.create = plain_create  # type: ignore[method-assign]
    with make_sync(path, conns, clock) as sync:  # the lock was released
        again = sync.run()
        assert again.status == "done", again
        assert sync.store.journal_pending() == []
    names = sorted(a["Name"] for a in erp.records("Accounts").values())
    assert names == [f"Firm {i}" for i in range(5)], "each created once"
