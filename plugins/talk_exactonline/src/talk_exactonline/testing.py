"""Test kit: the emulator as a pytest fixture, and a connector wired to it.

Import the fixture into a test module (``from talk_exactonline.testing
import exact_emulator``) or a conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from talk_core.system import SystemContext
from talk_exactonline.connector import ExactConnector
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.plugin import make_connector


@pytest.fixture
def exact_emulator() -> Iterator[ExactEmulator]:
    """A fresh, empty emulator on a free loopback port."""
    emulator = ExactEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


def emulator_options(emulator: ExactEmulator, **extra: Any) -> dict[str, Any]:
    """Options of a system instance that talks to ``emulator`` (first token included)."""
    return {"base_url": emulator.url, "client_id": emulator.state.client_id,
            "client_secret": emulator.state.client_secret,
            "refresh_token": emulator.refresh_token(), **extra}


def emulator_connector(emulator: ExactEmulator, store: Any, name: str = "exact", *,
                       sleep: Callable[[float], None] | None = None,
                       clock: Callable[[], float] | None = None, **extra: Any
                       ) -> ExactConnector:
    kwargs: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    if clock is not None:
        kwargs["clock"] = clock
    return make_connector(options=emulator_options(emulator, **extra),
                          context=SystemContext(name, store), **kwargs)
