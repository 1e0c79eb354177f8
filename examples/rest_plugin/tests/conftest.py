"""Lets these tests run from a checkout without installing the example.

When ``talk_crmlite`` is not installed, the package is imported from its
source folder by location (not put on ``sys.path``, as in
examples/plugin/tests/conftest.py). ``crmlite_plugin`` registers the plugin
module with talk's plugin manager under its entry-point name, as
installing the distribution would; ``emulator`` serves an empty account.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "talk_crmlite"


def _import_from_checkout() -> None:
    if importlib.util.find_spec("talk_crmlite") is not None:
        return
    spec = importlib.util.spec_from_file_location(
        "talk_crmlite", PACKAGE / "__init__.py", submodule_search_locations=[str(PACKAGE)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["talk_crmlite"] = module
    spec.loader.exec_module(module)


_import_from_checkout()


@pytest.fixture
def crmlite_plugin() -> Iterator[ModuleType]:
    from talk_core import plugins
    from talk_crmlite import plugin

    plugins.load_plugins()
    registered = plugins.pm.get_plugin("crmlite") is None
    if registered:
        plugins.pm.register(plugin, name="crmlite")
    try:
        yield plugin
    finally:
        if registered:
            plugins.pm.unregister(name="crmlite")


@pytest.fixture
def emulator() -> Iterator[object]:
    from talk_crmlite import CrmLiteEmulator

    with CrmLiteEmulator(api_key="key-of-the-test") as running:
        yield running
