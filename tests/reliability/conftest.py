"""Fixtures of the reliability suites: the crash suite's kill points, the fault suites' trio.

``TALK_CRASH_SEED`` picks the kill points (the same seed, the same points);
``TALK_CRASH_POINTS`` says how many (30 by default, what CI runs).
``trio`` and ``quick_http`` (from ``_faults_support``) serve the fault and
bad-input suites; imported here, each test asks for them by name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from _faults_support import quick_http, trio
from crash_points import KillPoint, draw
from crash_scenario import Scenario

__all__ = ["quick_http", "trio"]  # the fixtures imported, so that tests find them

DEFAULT_SEED = 20240917
DEFAULT_POINTS = 30


def _setting(name: str, default: int, least: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise pytest.UsageError(f"{name} must be a whole number, got {text!r}") from None
    if value < least:
        raise pytest.UsageError(f"{name} must be at least {least}, got {value}")
    return value


def crash_seed() -> int:
    return _setting("TALK_CRASH_SEED", DEFAULT_SEED, 0)


def crash_points() -> int:
    return _setting("TALK_CRASH_POINTS", DEFAULT_POINTS, 1)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "point_index" in metafunc.fixturenames:
        count = crash_points()
        metafunc.parametrize("point_index", range(count),
                             ids=[f"point{i:03d}" for i in range(count)])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The systems, filled and synced clean once: the reference every kill is held to."""
    built = Scenario(tmp_path_factory.mktemp("crash"))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def kill_points(scenario: Scenario) -> list[KillPoint]:
    return draw(scenario.requests, crash_points(), crash_seed())


@pytest.fixture
def replay_context() -> str:
    """What to set to replay a failure: printed with every failing assertion."""
    return f"TALK_CRASH_SEED={crash_seed()} TALK_CRASH_POINTS={crash_points()}"
