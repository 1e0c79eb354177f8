"""A pytest fixture that starts emulators on free loopback ports and stops them after the test.

Use it from a test module with ``from talk_custom.testing import custom_emulator``
(or list ``talk_custom.testing`` in ``pytest_plugins``)::

    def test_sync(custom_emulator):
        crm = custom_emulator("customcrm", seed=True)
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from talk_custom.emulator import CustomEmulator

StartEmulator = Callable[..., CustomEmulator]


@pytest.fixture
def custom_emulator() -> Iterator[StartEmulator]:
    """``start(profile, seed=False, **options)`` answers a running ``CustomEmulator``."""
    running: list[CustomEmulator] = []

    def start(profile: str = "customcrm", *, seed: bool = False, **options: Any
              ) -> CustomEmulator:
        emulator = CustomEmulator(profile, **options)
        if seed:
            emulator.seed()
        running.append(emulator.start())
        return emulator

    yield start
    for emulator in running:
        emulator.stop()
