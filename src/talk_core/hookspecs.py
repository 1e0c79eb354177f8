"""The hooks a talk plugin can implement. Each is handed a callback or object to extend."""

from __future__ import annotations

from collections.abc import Callable

import click
from pluggy import HookimplMarker, HookspecMarker

from talk_core.system import SystemSpec

hookspec = HookspecMarker("talk")
hookimpl = HookimplMarker("talk")

Register = Callable[[SystemSpec], None]
"""What ``register_systems`` is handed: call it with each ``SystemSpec``."""


@hookspec
def register_systems(register: Register) -> None:
    """Call ``register(SystemSpec(...))`` once for every kind of system the plugin provides."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``talk`` command line (``cli.add_command``)."""
