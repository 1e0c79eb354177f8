"""``talk``: the command group and the options every command shares.

Exit codes and how errors become them are in ``cli.exits``.
"""

from __future__ import annotations

import contextlib
import sys
import tomllib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from talk_core import __version__
from talk_core.cli import logs
from talk_core.cli.exits import (
    EXIT_ATTENTION,
    EXIT_AUTH,
    EXIT_BREAKER,
    EXIT_CODES,
    EXIT_EARLY,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    fail,
    handle_errors,
)
from talk_core.config import Config, load_config
from talk_core.errors import ConfigError, TalkError
from talk_core.hookspecs import hookimpl
from talk_core.system import SystemSpec

#: what the command modules and plugins' commands use from here (defined in ``exits``)
__all__ = ["EXIT_ATTENTION", "EXIT_AUTH", "EXIT_BREAKER", "EXIT_CODES", "EXIT_EARLY",
           "EXIT_INTERRUPTED", "EXIT_LOCKED", "EXIT_OK", "EXIT_UNAVAILABLE", "EXIT_USAGE",
           "fail", "handle_errors"]

#: options of ``talk`` itself that may also come after the command's name
GLOBAL_VALUE_OPTIONS = ("--config",)
GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet")

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """What every command gets: where the config is, and loading it once."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    def specs(self) -> dict[str, SystemSpec]:
        """Registered system kinds, with the plugin modules the config names, if any."""
        from talk_core.config import find_config
        from talk_core.plugins import get_systems, load_modules

        path = find_config(self.config_path)
        if path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raw = {}
            modules = raw.get("plugins", [])
            if isinstance(modules, list):
                load_modules([str(x) for x in modules], where=str(path))
        return get_systems()

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            logs.REDACT.add(self._config.secrets())
        return self._config


pass_context = click.make_pass_decorator(Context)


class TalkGroup(click.Group):
    """Adds the plugins' commands, including plugins the config file names, on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: set[str] = set()  # plugins already asked for their commands, by name

    def _plugin_commands(self, ctx: click.Context) -> None:
        from talk_core.plugins import hooks, load_plugins, pm

        try:
            load_plugins()
        except ConfigError as exc:
            fail(str(exc), EXIT_USAGE)
        config_path = ctx.params.get("config_path") if ctx.params else None
        # loads modules named by the config's `plugins`; the command that reads the
        # config says what is wrong with it, if anything
        with contextlib.suppress(TalkError):
            Context(config_path).specs()
        # each plugin is asked once, also when the config's plugins load after the rest
        asked = [p for p in pm.get_plugins() if pm.get_name(p) in self._seen]
        self._seen.update(n for n in map(pm.get_name, pm.get_plugins()) if n is not None)
        hooks.register_commands(self, skip=asked)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._plugin_commands(ctx)
            command = super().get_command(ctx, cmd_name)
        return command


def hoist_global_options(args: list[str]) -> list[str]:
    """Move ``--config``, ``-v`` and ``-q`` given after the command's name in front of it.

    ``talk sync --config x.toml`` then means ``talk --config x.toml sync``.
    Nothing after ``--`` moves, nor anything before the command's name.
    """
    head: list[str] = []
    index = 0
    while index < len(args):  # talk's own options, up to the command's name
        word = args[index]
        if word == "--" or not word.startswith("-"):
            break
        head.append(word)
        index += 2 if word in GLOBAL_VALUE_OPTIONS else 1
        if word in GLOBAL_VALUE_OPTIONS and index - 1 < len(args):
            head.append(args[index - 1])
    if index >= len(args) or args[index] == "--":
        return list(args)
    command, rest = args[index], args[index + 1:]
    hoisted: list[str] = []
    kept: list[str] = []
    position = 0
    while position < len(rest):
        word = rest[position]
        if word == "--":
            kept.extend(rest[position:])
            break
        if word in GLOBAL_VALUE_OPTIONS and position + 1 < len(rest):
            hoisted += [word, rest[position + 1]]
            position += 2
            continue
        if word.startswith(tuple(f"{o}=" for o in GLOBAL_VALUE_OPTIONS)) or \
                word in GLOBAL_FLAGS or (len(word) > 2 and word.strip("v") == "-"):
            hoisted.append(word)
        else:
            kept.append(word)
        position += 1
    return [*head, *hoisted, command, *kept]


def _help() -> str:
    codes = "\n".join(f"  {code:<3} {text}" for code, text in EXIT_CODES)
    return (
        "Keep business records in sync between systems, in both directions.\n\n"
        "Configure the systems in talk.toml (`talk init` writes a commented\n"
        "example), look at the plan with `talk sync --dry-run`, then run\n"
        "`talk sync` by hand, from cron or a systemd timer.\n\n"
        "--config, -v and -q may also follow the command's name:\n"
        "`talk sync --config x.toml -v` is `talk --config x.toml -v sync`.\n\n"
        f"\b\nExit codes:\n{codes}\n"
    )


@click.group(cls=TalkGroup, help=_help(),
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="TALK_CONFIG", show_envvar=True,
              help="Config file to use. Default: ./talk.toml.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors in the log.")
@click.version_option(__version__, prog_name="talk")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """``talk``: what every command shares (config, logging); help text in ``_help``."""
    logs.setup(verbose, quiet)
    ctx.obj = Context(config_path)


class CoreCommands:
    """talk's own commands, added through the hook a plugin's go through."""

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        from talk_core.cli import demo_cmd, inspect_cmds, meta_cmds, sync_cmd

        for module in (sync_cmd, inspect_cmds, meta_cmds, demo_cmd):
            for command in module.COMMANDS:
                cli.add_command(command)


def _register_core_commands() -> None:
    """On import, so ``cli`` has its own commands before any plugin loads."""
    from talk_core.plugins import CORE, hooks, pm

    core = CoreCommands()
    pm.register(core, name=CORE)
    cli._seen.add(CORE)
    hooks.register_commands(cli, skip=[p for p in pm.get_plugins() if p is not core])


_register_core_commands()


def main() -> None:
    sys.excepthook = logs.redacted_excepthook
    cli(prog_name="talk")

