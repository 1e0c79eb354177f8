"""The demo's three systems: the connectors it needs, their emulators, the config that reaches them.

The connectors are found among the registered systems, never imported, so
that a missing one is a clear message naming what to install.
"""

from __future__ import annotations

import os
from collections.abc import Mapping as MappingABC
from pathlib import Path

import attrs

from talk_core.config import Config, load_config, toml_value
from talk_core.demo.data import BILLING, CRM, ERP
from talk_core.emulation import Served
from talk_core.errors import TalkError
from talk_core.system import SystemSpec


class MissingConnector(TalkError):
    """A connector the demo needs is not installed."""


@attrs.frozen
class Role:
    """One system of the demo: its instance name, the kind of system and where that comes from."""

    name: str
    kind: str
    label: str
    distribution: str


ROLES = (
    Role(BILLING, "invoiced", "Invoiced", "talk-invoiced"),
    Role(ERP, "exactonline", "Exact Online", "talk-exactonline"),
    Role(CRM, "customcrm", "Custom CRM", "talk-custom"),
)

CONFIG_NAME = "talk.toml"
STATE = ".talk/state.db"

#: Ties in the "newest" conflict policy go to the ERP, then billing.
PRIORITY = (ERP, BILLING, CRM)


def required(specs: MappingABC[str, SystemSpec]) -> dict[str, SystemSpec]:
    """The spec of every role, or ``MissingConnector`` naming the pip install that fixes it."""
    missing = [r for r in ROLES if r.kind not in specs]
    if missing:
        names = ", ".join(f"{r.label} ({r.kind})" for r in missing)
        raise MissingConnector(
            f"the demo needs the {names} connector{'s' if len(missing) > 1 else ''}; "
            f"install with: pip install {' '.join(r.distribution for r in missing)}")
    old = [r for r in ROLES if specs[r.kind].start_emulator is None]
    if old:
        raise MissingConnector(
            f"the installed {', '.join(r.label for r in old)} connector cannot start its "
            f"emulator for the demo; upgrade with: pip install -U "
            f"{' '.join(r.distribution for r in old)}")
    return {r.name: specs[r.kind] for r in ROLES}


@attrs.define
class Emulators:
    """The running emulators by role; ``stop()`` stops every one and closes its port."""

    served: dict[str, Served] = attrs.field(factory=dict)

    @classmethod
    def start(cls, specs: MappingABC[str, SystemSpec]) -> Emulators:
        running = cls()
        try:
            for role in ROLES:
                start = specs[role.name].start_emulator
                assert start is not None, "checked by required()"
                running.served[role.name] = start(port=0)
        except BaseException:
            running.stop()
            raise
        return running

    def url(self, role: str) -> str:
        return self.served[role].url

    def stop(self) -> None:
        while self.served:
            _, served = self.served.popitem()
            served.stop()


def env_name(role: str, option: str) -> str:
    return f"TALK_DEMO_{role.upper()}_{option.upper()}"


def write_config(folder: Path, specs: MappingABC[str, SystemSpec], emulators: Emulators
                 ) -> dict[str, str]:
    """Write ``talk.toml`` for the emulators; answer the environment its secrets come from."""
    env: dict[str, str] = {}
    lines = [
        "# Written by `talk demo`: three emulated systems of a small company.",
        "# Secrets come from the environment variables named below.",
        "",
        "[state]",
        f"path = {toml_value(STATE)}",
        "",
        "[sync]",
        'conflict = "newest"',
        f"priority = [{', '.join(toml_value(p) for p in PRIORITY)}]",
        'deletes = "propagate"',
    ]
    for role in ROLES:
        spec = specs[role.name]
        secret = {o.name for o in spec.options if o.secret}
        lines += ["", f"# {role.label}, emulated on {emulators.url(role.name)}",
                  f"[systems.{role.name}]", f"connector = {toml_value(role.kind)}"]
        for option, value in emulators.served[role.name].options().items():
            if option in secret:
                env[env_name(role.name, option)] = str(value)
                lines.append(f'{option} = "${{{env_name(role.name, option)}}}"')
            else:
                lines.append(f"{option} = {toml_value(value)}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return env


def load(folder: Path, env: MappingABC[str, str]) -> Config:
    """The written config, read the way ``talk --config`` reads it, with the demo's secrets."""
    return load_config(folder / CONFIG_NAME, env={**os.environ, **env})
