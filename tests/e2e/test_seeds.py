"""Every seed, end to end on the emulators through ``talk sync``: the same checks for each.

A seed's declaration is its own data module (``seed_000`` …). For each
seed, in order: the declaration covers the seed file and agrees with the
schemas and routes; one sync pairs every section and both sides hold every
row; an edit of each editable row on the target side comes back in a clean
sync; a rerun writes nothing; and the dry run before each of those syncs
planned exactly the writes the sync made, sending none. Test ids start with the seed (``000``),
and the row checks name the section and row after it.
"""

from __future__ import annotations

from typing import Any

import pytest
import seed_000
import seed_001
import seed_002
import seed_003
import seed_004
from seedflow import coverage_problems, declaration_problems, seed_path, seed_rows
from seedrun import (
    Edited,
    First,
    Rerun,
    Seed,
    assert_arrived,
    assert_came_back,
    assert_clean,
    assert_paired,
    assert_quiet,
    assert_rehearsed,
)

SEEDS: tuple[Seed, ...] = (seed_000, seed_001, seed_002, seed_003, seed_004)


def _seed_file_mark(seed: Seed) -> pytest.MarkDecorator:
    name = seed.DATAFLOW.seed
    return pytest.mark.skipif(seed_path(name) is None,
                              reason=f"seed {name} is not on this machine (TALK_SEED_DIR)")


def _each_seed(*, needs_file: bool = False) -> pytest.MarkDecorator:
    """One test per seed; ``needs_file`` skips a seed whose document is not here."""
    params = [pytest.param(seed, id=seed.DATAFLOW.seed,
                           marks=[_seed_file_mark(seed)] if needs_file else [])
              for seed in SEEDS]
    return pytest.mark.parametrize("seed", params, indirect=True, scope="module")


def _each_row(*, editable: bool = False) -> pytest.MarkDecorator:
    """One test per row of every seed, keeping each row's strict xfail if it has a gap."""
    params = [pytest.param(seed, *check.values, marks=check.marks,
                           id=f"{seed.DATAFLOW.seed}-{check.id}")
              for seed in SEEDS for check in seed.DATAFLOW.checks(editable=editable)]
    return pytest.mark.parametrize(("seed", "check"), params, indirect=["seed"], scope="module")


@_each_seed(needs_file=True)
def test_every_section_and_row_of_the_seed_is_declared(seed: Seed) -> None:
    path = seed_path(seed.DATAFLOW.seed)
    assert path is not None
    assert coverage_problems(seed.DATAFLOW, seed_rows(path)) == []


@_each_seed()
def test_the_declaration_agrees_with_the_schemas_and_routes(seed: Seed) -> None:
    assert declaration_problems(seed.DATAFLOW) == []


@_each_seed()
def test_one_sync_pairs_every_section(first: First) -> None:
    assert_clean(first.sync)
    assert_paired(first)


@_each_row()
def test_after_one_sync_both_sides_hold_the_row(first: First, check: Any) -> None:
    assert_arrived(first, *check)


@_each_row(editable=True)
def test_an_edit_on_the_target_side_comes_back(edited: Edited, check: Any) -> None:
    assert_came_back(edited, *check)


@_each_seed()
def test_the_sync_after_the_edits_is_clean(edited: Edited) -> None:
    assert_clean(edited.sync)


@_each_seed()
def test_a_rerun_writes_nothing(rerun: Rerun) -> None:
    assert_quiet(rerun)


@_each_seed()
def test_each_dry_run_plans_exactly_the_writes_of_the_sync_after_it(
        first: First, edited: Edited, rerun: Rerun) -> None:
    assert first.sync.writes > 0 and edited.sync.writes > 0
    for sync in (first.sync, edited.sync, rerun.sync):
        assert_rehearsed(sync)
