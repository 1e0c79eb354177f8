"""Lets these tests run from a checkout without installing the example.

When ``talk_jsonfile`` is not installed, the package is imported from its
source folder by location. The folder does not go on ``sys.path``: it may
hold the metadata an earlier ``pip install -e`` left there, which would make
entry-point discovery believe the plugin is installed. The
``jsonfile_plugin`` fixture registers the plugin module with talk's plugin
manager under its entry-point name, as installing the distribution would.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "talk_jsonfile"


def _import_from_checkout() -> None:
    if importlib.util.find_spec("talk_jsonfile") is not None:
        return
    spec = importlib.util.spec_from_file_location(
        "talk_jsonfile", PACKAGE / "__init__.py", submodule_search_locations=[str(PACKAGE)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["talk_jsonfile"] = module
    spec.loader.exec_module(module)


_import_from_checkout()


@pytest.fixture
def jsonfile_plugin() -> Iterator[ModuleType]:
    from talk_core import plugins
    from talk_jsonfile import plugin

    plugins.load_plugins()
    registered = plugins.pm.get_plugin("jsonfile") is None
    if registered:
        plugins.pm.register(plugin, name="jsonfile")
    try:
        yield plugin
    finally:
        if registered:
            plugins.pm.unregister(name="jsonfile")
