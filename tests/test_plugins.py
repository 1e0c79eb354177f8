from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import click
import pytest

from talk_core import plugins
from talk_core.hookspecs import hookimpl
from talk_core.mapping import Mapping, mapped
from talk_core.model import DataType, Property
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

ACCOUNTS = DataType("accounts", "Accounts", (Property("Name"),))


class ToyPlugin:
    __name__ = "toy"

    @hookimpl
    def register_systems(self, register):  # type: ignore[no-untyped-def]
        register(SystemSpec(
            "toy", "Toy", (ACCOUNTS,),
            (Mapping("accounts", "organisation", mapped([("Name", "name")])),),
            factory=lambda **_: InMemoryConnector([ACCOUNTS]),
        ))

    @hookimpl
    def register_commands(self, cli):  # type: ignore[no-untyped-def]
        cli.add_command(click.Command("toy-command"))


@pytest.fixture
def toy():  # type: ignore[no-untyped-def]
    plugin = ToyPlugin()
    plugins.pm.register(plugin, name="toy")
    try:
        yield plugin
    finally:
        plugins.pm.unregister(name="toy")


def test_registered_plugin_provides_its_system(toy: ToyPlugin) -> None:
    systems = plugins.get_systems()
    assert "toy" in systems
    spec = systems["toy"]
    assert spec.label == "Toy"
    assert spec.global_types() == {"organisation"}
    assert spec.mappings_for("organisation")[0].datatype == "accounts"


def test_commands_hook_receives_the_cli(toy: ToyPlugin) -> None:
    cli = click.Group("talk")
    plugins.pm.hook.register_commands(cli=cli)
    assert "toy-command" in cli.commands


def test_get_plugins_lists_hooks(toy: ToyPlugin) -> None:
    listed = {p["name"]: p for p in plugins.get_plugins()}
    assert listed["toy"]["hooks"] == ["register_commands", "register_systems"]


def test_two_plugins_with_one_system_name_is_an_error(toy: ToyPlugin) -> None:
    class Twin(ToyPlugin):
        pass

    plugins.pm.register(Twin(), name="twin")
    try:
        with pytest.raises(ValueError, match="two plugins register a system named 'toy'"):
            plugins.get_systems()
    finally:
        plugins.pm.unregister(name="twin")


def test_mapping_to_unknown_datatype_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown datatype 'nope'"):
        SystemSpec("bad", "Bad", (ACCOUNTS,),
                   (Mapping("nope", "organisation", ()),), factory=lambda **_: None)  # type: ignore[arg-type,return-value]


def _installed_talk_plugins() -> set[str]:
    return {ep.name for ep in importlib.metadata.entry_points(group="talk")}


def _loaded_in_subprocess(env_value: str | None) -> set[str]:
    code = (
        "from talk_core import plugins\n"
        "print(','.join(sorted(str(p['name']) for p in plugins.get_plugins())))\n"
    )
    import os

    env = dict(os.environ)
    env.pop("TALK_LOAD_PLUGINS", None)
    if env_value is not None:
        env["TALK_LOAD_PLUGINS"] = env_value
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.strip()
    return set(filter(None, out.split(",")))


def test_talk_load_plugins_limits_what_loads() -> None:
    installed = _installed_talk_plugins()
    if not installed:
        pytest.skip("no talk plugin distribution is installed")
    assert _loaded_in_subprocess(None) == installed
    assert _loaded_in_subprocess("") == set()
    one = sorted(installed)[0]
    assert _loaded_in_subprocess(one) == {one}
