"""Fixtures every test here may ask for by name: the Exact emulator, and a state file.

``exact_emulator`` comes from ``talk_exactonline.testing``; imported here once
rather than into each module, where the import and each test's parameter of
the same name read as an unused import redefined.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from talk_core.store.sqlite import SQLiteStore
from talk_exactonline.testing import exact_emulator

__all__ = ["exact_emulator", "store"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    """A state file in the test's folder, where tokens and budgets are kept between runs."""
    opened = SQLiteStore(tmp_path / "state.db")
    yield opened
    opened.close()
