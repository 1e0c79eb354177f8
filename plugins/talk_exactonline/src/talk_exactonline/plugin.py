"""Entry point of the Exact Online connector in the ``talk`` plugin group."""

from __future__ import annotations

import click

from talk_core.hookspecs import Register, hookimpl


@hookimpl
def register_systems(register: Register) -> None:
    from talk_exactonline.system import EXACT_ONLINE

    register(EXACT_ONLINE)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from talk_exactonline.auth_cmd import register

    register(cli)
