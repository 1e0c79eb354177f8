from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from talk_core import plugins
from talk_core.cli.main import TalkGroup
from talk_core.errors import ConfigError
from talk_core.hookspecs import Register, hookimpl
from talk_core.mapping import Mapping, mapped
from talk_core.model import DataType, Property
from talk_core.system import SystemSpec
from talk_core.testing import InMemoryConnector

ACCOUNTS = DataType("accounts", "Accounts", (Property("Name"),))


class ToyPlugin:
    __name__ = "toy"

    @hookimpl
    def register_systems(self, register: Register) -> None:
        register(SystemSpec(
            "toy", "Toy", (ACCOUNTS,),
            (Mapping("accounts", "organisation", mapped([("Name", "name")])),),
            factory=lambda **_: InMemoryConnector([ACCOUNTS]),
        ))

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
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


class MisspeltPlugin:
    """``register_system``, one letter short: pluggy alone would never call it."""

    @hookimpl
    def register_system(self, register: Register) -> None:
        register(SystemSpec("misspelt", "Misspelt", (ACCOUNTS,), (),
                            factory=lambda **_: InMemoryConnector([ACCOUNTS])))


def test_a_misspelt_hook_is_refused_naming_the_plugin_and_the_hook() -> None:
    with pytest.raises(ConfigError) as refused:
        plugins.register(MisspeltPlugin(), "misspelt")
    assert str(refused.value) == (
        "plugin 'misspelt': unknown hook 'register_system'; did you mean 'register_systems'?")
    assert not plugins.pm.has_plugin("misspelt")
    assert "misspelt" not in plugins.get_systems()


def test_a_hook_with_arguments_talk_does_not_pass_is_refused() -> None:
    class WrongArgument:
        @hookimpl
        def register_systems(self, add: Register) -> None:
            pass

    with pytest.raises(ConfigError, match=(
            r"^plugin 'wrong': hook 'register_systems' asks for 'add'; "
            r"talk passes only 'register'$")):
        plugins.register(WrongArgument(), "wrong")
    assert not plugins.pm.has_plugin("wrong")


def test_a_config_module_with_a_misspelt_hook_names_the_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "talk_misspelt_module.py").write_text(
        "from talk_core.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_command(cli):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=(
            r"^talk.toml: plugins: 'talk_misspelt_module': unknown hook 'register_command'; "
            r"did you mean 'register_commands'\?$")):
        plugins.load_modules(["talk_misspelt_module"], where="talk.toml")
    assert not plugins.pm.has_plugin("talk_misspelt_module")


def _installed_misspelt_plugin(root: Path) -> dict[str, str]:
    """A distribution on PYTHONPATH whose ``talk`` entry point has a misspelt hook."""
    (root / "talk_misspelt.py").write_text(
        "from talk_core.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_system(register):\n    pass\n")
    info = root / "talk_misspelt-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: talk-misspelt\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[talk]\nmisspelt = talk_misspelt\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    env.pop("TALK_CONFIG", None)
    return env


@pytest.mark.parametrize("load", [None, "misspelt"])
def test_the_cli_refuses_an_installed_plugin_with_a_misspelt_hook_in_one_line(
        tmp_path: Path, load: str | None) -> None:
    env = _installed_misspelt_plugin(tmp_path)
    env.pop("TALK_LOAD_PLUGINS", None)
    if load is not None:
        env["TALK_LOAD_PLUGINS"] = load
    done = subprocess.run([sys.executable, "-m", "talk_core.cli", "systems"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr == ("talk: installed plugin 'misspelt': unknown hook 'register_system'; "
                           "did you mean 'register_systems'?\n")


def test_plugin_commands_reach_the_cli_through_pluggy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An implementation named by ``specname`` is found only by pluggy, not by its name."""

    class Renamed:
        @hookimpl(specname="register_commands")
        def add_my_commands(self, cli: click.Group) -> None:
            cli.add_command(click.Command("renamed-command"))

    monkeypatch.chdir(tmp_path)
    plugins.register(Renamed(), "renamed")
    try:
        group = TalkGroup("talk")
        assert "renamed-command" in group.list_commands(click.Context(group))
    finally:
        plugins.pm.unregister(name="renamed")


def test_talks_own_commands_come_through_the_same_hook() -> None:
    core = plugins.pm.get_plugin(plugins.CORE)
    assert core is not None
    group = click.Group("talk")
    plugins.hooks.register_commands(
        group, skip=[p for p in plugins.pm.get_plugins() if p is not core])
    assert {"sync", "status", "init", "demo"} <= set(group.commands)
    assert plugins.CORE not in {p["name"] for p in plugins.get_plugins()}


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
