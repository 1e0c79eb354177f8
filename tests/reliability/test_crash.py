"""Crash safety: ``talk sync`` killed with SIGKILL at chosen points, rerun, and checked.

Invoiced, Exact Online and a Custom CRM (all emulated, in this process)
hold a few hundred records of every datatype between them. A clean run
syncs them (phase 1), people then edit, delete and add records in all
three (phase 2), and a clean run syncs that. Each kill point replays one
phase from its start, kills the ``talk sync`` child process at one request
(a create the system has stored but talk never heard back from, a create
journalled but never applied, an update, a delete, a second page of a
listing, or simply the Nth request), reruns ``talk sync`` until it settles,
and then holds every system and talk's state to the clean run's:

- no record is there twice, in any system;
- every change is there: each system holds exactly what it held after the
  clean run (ids, timestamps and system-assigned numbers aside);
- links are consistent: each points at a record that exists, no record is
  linked twice, and every entity is linked in the same systems as in the
  clean run;
- the journal is empty, and a last run writes nothing.

``TALK_CRASH_SEED`` chooses the points and ``TALK_CRASH_POINTS`` their
number; a failure prints both, and the point, to replay it.
"""

from __future__ import annotations

from collections import Counter

import pytest
from crash_checks import differences, duplicates, holding
from crash_points import KINDS, KillPoint
from crash_scenario import Scenario


def test_the_clean_run_is_a_sound_reference(scenario: Scenario) -> None:
    for number, phase in scenario.phases.items():
        ending = phase.ending
        assert duplicates(ending.contents) == [], f"phase {number}"
        assert ending.state.link_problems == [], f"phase {number}"
        assert ending.state.journal == [] and ending.state.unmerged == 0, f"phase {number}"
    records = sum(sum(c.values()) for c in scenario.phases[1].ending.contents.values())
    assert records >= 300, f"only {records} records in the three systems"
    # every datatype of every system holds records after phase 1
    assert [where for where, c in scenario.phases[1].ending.contents.items() if not c] == []
    kinds = Counter(counter.split("@")[0] for seen in scenario.phases[2].requests
                    for counter, _n in seen.ordinals)
    assert kinds["create"] and kinds["update"] and kinds["delete"] >= 6, kinds
    # phase 2's edits, deletes and new records reached the other systems
    after = scenario.phases[2].ending.contents
    assert holding(after, "erp/Accounts", Name="Fjord 0-0 AS", City="Drammen")
    assert holding(after, "crm/customer", name="Fjord 0-0 AS", city="Drammen")
    assert holding(after, "billing/customers", name="Nordlys 0-1 AS", city="Bodø")
    assert holding(after, "crm/product", code="CRM-P0-3", price=77)
    assert holding(after, "erp/Items", Description="Gadget 0-3", CostPriceStandard=77)
    assert holding(after, "billing/customers", name="Nordlys 0 ny AS")
    assert holding(after, "erp/Accounts", Name="Molen 0 nieuw BV")
    for where, field in (("billing/contacts", "name"), ("crm/contact", "name"),
                         ("erp/Contacts", "FullName")):
        assert not holding(after, where, **{field: "Ola 0-3 Hansen"}), where
        assert not holding(after, where, **{field: "Per 0-2 Olsen"}), where
    assert not holding(after, "billing/invoices", number="BIL-0-5")
    assert not holding(after, "crm/order", number="BIL-0-5")
    assert not holding(after, "crm/order", number="CRM-0-1004")


def test_the_kill_points_are_distinct_and_of_every_kind(
        kill_points: list[KillPoint], replay_context: str) -> None:
    assert len(set(kill_points)) == len(kill_points), replay_context
    if len(kill_points) < 30:
        pytest.skip(f"{len(kill_points)} kill points, fewer than the 30 CI runs")
    assert {p.kind for p in kill_points} == set(KINDS), replay_context
    assert {p.stage for p in kill_points if p.kind == "create"} == {"received", "applied"}
    assert {p.system for p in kill_points if p.kind == "create"} == {"billing", "erp", "crm"}
    assert {p.phase for p in kill_points} == {1, 2}


def test_a_kill_at_any_point_is_repaired_by_the_next_runs(
        scenario: Scenario, kill_points: list[KillPoint], point_index: int,
        replay_context: str) -> None:
    point = kill_points[point_index]
    replay = scenario.replay(point)
    context = f"\n{replay_context} (point {point_index})\n{replay.story()}"
    assert replay.fired is not None, "the kill point was never met" + context
    assert replay.killed_runs[-1].killed, "talk sync was not killed" + context
    assert replay.ending is not None, "the reruns did not settle" + context
    expected, found = scenario.phases[point.phase].ending, replay.ending

    assert duplicates(found.contents) == [], context
    assert differences(expected.contents, found.contents) == [], context
    assert found.state.link_problems == [], context
    assert found.state.link_shapes == expected.state.link_shapes, (
        f"linked differently: {found.state.link_shapes - expected.state.link_shapes} instead "
        f"of {expected.state.link_shapes - found.state.link_shapes}{context}")
    assert found.state.journal == [], context
    assert found.state.unmerged == 0, context
    assert found.state.waiting == expected.state.waiting, context
    assert found.state.dead_letters == expected.state.dead_letters, context
    assert replay.after[-1].code == 0, context  # the last rerun: done, nothing to write
