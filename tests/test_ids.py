from __future__ import annotations

import subprocess
import sys

from talk_core.ids import new_global_id


def test_ids_are_unique_and_ordered_by_creation() -> None:
    ids = [new_global_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert {len(i) for i in ids} == {32}


def test_two_processes_do_not_collide() -> None:
    code = "from talk_core.ids import new_global_id as n; print(' '.join(n() for _ in range(2000)))"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split() for _ in range(2)]
    assert not set(runs[0]) & set(runs[1])
