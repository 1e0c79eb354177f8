"""Entry point of the Exact Online connector in the ``talk`` plugin group."""

from __future__ import annotations

from typing import Any

from talk_core.hookspecs import hookimpl


@hookimpl
def register_systems(register: Any) -> None:
    from talk_exactonline.system import EXACT_ONLINE

    register(EXACT_ONLINE)


@hookimpl
def register_commands(cli: Any) -> None:
    from talk_exactonline.auth_cmd import register

    register(cli)
