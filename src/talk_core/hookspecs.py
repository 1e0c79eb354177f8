"""The hooks a talk plugin can implement. Each is handed a callback or object to extend."""

from __future__ import annotations

from typing import Any

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("talk")
hookimpl = HookimplMarker("talk")


@hookspec
def register_systems(register: Any) -> None:
    """Call ``register(SystemSpec(...))`` once for every kind of system the plugin provides."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``talk`` command line (``cli.add_command``)."""
