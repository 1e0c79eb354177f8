"""The unit of work around every write, and journal recovery through it.

A create that failed with ``NotSent`` is known never made: its journal entry
goes with the failure, and no later run asks the system about it. Creates a
crash left are asked for in one call per system's datatype where the
connector has ``recover_many``, one by one otherwise, and a stop requested
while they are settled is honoured between entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from systems import ERP_ACCOUNTS, ERP_CONTACTS, SharedClock, make_connectors, make_sync

from talk_core.connector import PendingCreate, Recovered
from talk_core.errors import AmbiguousRecovery, NotSent, TransientError
from talk_core.model import Entity
from talk_core.store.base import JournalEntry
from talk_core.store.sqlite import SQLiteStore
from talk_core.testing.memory import InMemoryConnector, SimulatedCrash


class Batched(InMemoryConnector):
    """An in-memory system whose connector also finds many crashed creates in one call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[tuple[str, list[str]]] = []

    def recover_many(self, datatype: str, pending: Sequence[PendingCreate]
                     ) -> dict[str, Recovered]:
        self.batches.append((datatype, [p.key for p in pending]))
        found: dict[str, Entity | AmbiguousRecovery | None] = {}
        for create in pending:
            assert create.sent is not None
            found[create.key] = InMemoryConnector.recover(self, datatype, create.key,
                                                          create.properties)
        return found


class OneByOne(InMemoryConnector):
    """An in-memory system whose connector can only look crashed creates up one at a time."""

    recover_many = None  # type: ignore[assignment]


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


def _companies(conns: dict[str, InMemoryConnector], count: int) -> None:
    for i in range(count):
        conns["crm"].put("customers", {"name": f"Firm {i}", "type": "company"})


@pytest.mark.parametrize("error,kept", [(NotSent("no route to erp"), False),
                                        (TransientError("erp timed out"), True)])
def test_a_create_that_never_left_the_machine_leaves_no_journal_entry(
        tmp_path: Path, clock: SharedClock, error: Exception, kept: bool) -> None:
    conns = make_connectors(clock)
    _companies(conns, 1)
    conns["erp"].fail_next("create", error, datatype="Accounts")
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
        assert [(d["system"], d["direction"]) for d in result.dead_letters] == [("erp", "write")]
        assert type(error).__name__ in result.dead_letters[0]["error"]
        pending = [(e.system, e.datatype) for e in sync.store.journal_pending()]
    assert pending == ([("erp", "Accounts")] if kept else [])
    assert conns["erp"].count("Accounts") == 0
    clock.advance(sync.settings.retry_max)  # the letter is due again
    with make_sync(path, conns, clock) as sync:
        conns["erp"].reset_stats()
        sync.run()
        # only a create whose outcome is unknown is asked about; the other is shared again
        asked = conns["erp"].stats["recover"] + conns["erp"].stats["recover_many"]
        assert asked == (1 if kept else 0)
        assert sync.store.journal_pending() == []
        assert sync.store.dead_letters() == []
    assert conns["erp"].count("Accounts") == 1


def _crash_in_the_first_create(tmp_path: Path, clock: SharedClock,
                               erp: InMemoryConnector) -> tuple[Path, dict[str, Any]]:
    conns: dict[str, Any] = {**make_connectors(clock), "erp": erp}
    _companies(conns, 3)
    erp.crash_after_next("create", datatype="Accounts")
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock, batch_size=10) as sync, pytest.raises(SimulatedCrash):
        sync.run()
    return path, conns


def _journal(path: Path) -> list[JournalEntry]:
    store = SQLiteStore(path)
    try:
        return store.journal_pending()
    finally:
        store.close()


def test_crashed_creates_are_asked_for_in_one_call_per_datatype(
        tmp_path: Path, clock: SharedClock) -> None:
    erp = Batched([ERP_ACCOUNTS, ERP_CONTACTS], page_size=3, id_prefix="e", clock=clock)
    path, conns = _crash_in_the_first_create(tmp_path, clock, erp)
    journalled = [e.key for e in _journal(path) if (e.system, e.datatype) == ("erp", "Accounts")]
    assert len(journalled) == 3 and conns["erp"].count("Accounts") == 1
    conns["shop"].reset_stats()
    with make_sync(path, conns, clock) as sync:
        assert sync.run().status == "done"
        assert sync.store.journal_pending() == []
        links = sync.store.count_links("organisation", "erp")
    assert erp.batches == [("Accounts", journalled)]
    # the in-memory shop has recover_many too: one call for its three creates
    assert (conns["shop"].stats["recover_many"], conns["shop"].stats["recover"]) == (1, 0)
    assert conns["erp"].count("Accounts") == 3 and links == 3, "the made one linked, not twice"
    assert conns["shop"].count("companies") == 3


def test_a_stop_requested_during_recovery_is_honoured_between_entries(
        tmp_path: Path, clock: SharedClock) -> None:
    erp = OneByOne([ERP_ACCOUNTS, ERP_CONTACTS], page_size=3, id_prefix="e", clock=clock)
    path, conns = _crash_in_the_first_create(tmp_path, clock, erp)
    before = len(_journal(path))
    sync = make_sync(path, conns, clock)
    asked: list[str] = []
    plain_recover = erp.recover

    def recover(datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        asked.append(key)
        sync.request_stop()  # Ctrl-C while the first entry is looked up
        return plain_recover(datatype, key, properties)

    erp.recover = recover  # type: ignore[method-assign]
    with sync:
        result = sync.run()
        left = len(sync.store.journal_pending())
    assert result.status == "interrupted"
    assert len(asked) == 1 and left == before - 1, "the entry asked about is settled, no more"
    erp.recover = plain_recover  # type: ignore[method-assign]
    with make_sync(path, conns, clock) as sync:
        assert sync.run().status == "done"
        assert sync.store.journal_pending() == []
    assert conns["erp"].count("Accounts") == 3


def test_a_failed_write_the_system_made_all_the_same_is_settled_by_the_next_run(
        tmp_path: Path, clock: SharedClock) -> None:
    """An update whose answer was lost leaves a letter; a run that finds it made clears it."""
    conns = make_connectors(clock)
    conns["crm"].put("customers", {"name": "Firm", "type": "company", "city": "Oslo"})
    path = tmp_path / "state.db"
    with make_sync(path, conns, clock) as sync:
        sync.run()
    [(crm_id, _row)] = conns["crm"].records("customers").items()
    conns["crm"].edit("customers", crm_id, city="Bergen")
    erp = conns["erp"]
    plain_update = erp.update

    def made_then_lost(datatype: str, id: str, changes: dict[str, Any],
                       **kw: Any) -> Entity:
        plain_update(datatype, id, changes, **kw)
        raise TransientError("erp: the connection dropped before the answer")

    erp.update = made_then_lost  # type: ignore[method-assign]
    with make_sync(path, conns, clock) as sync:
        result = sync.run()
    erp.update = plain_update  # type: ignore[method-assign]
    assert [(d["system"], d["direction"]) for d in result.dead_letters] == [("erp", "write")]
    [(_id, account)] = erp.records("Accounts").items()
    assert account["City"] == "Bergen", "the update was made although its answer was lost"
    clock.advance(sync.settings.retry_max)  # the letter is due
    erp.reset_stats()
    with make_sync(path, conns, clock) as sync:
        again = sync.run()
        assert sync.store.dead_letters() == [], "erp holds the value: nothing left to retry"
    assert again.status == "done" and erp.stats["update"] == 0
