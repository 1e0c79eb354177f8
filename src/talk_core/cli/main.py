"""``talk``: the command group, shared options, and how errors become exit codes.

Exit codes: 0 done; 1 done, with dead letters or conflicts to look at;
2 usage, configuration or state file error; 3 another sync holds the lock;
4 a circuit breaker stopped the run before deleting anything; 5 the run
stopped early (a request budget was spent) and the next run carries on;
6 a system refused talk's credentials (the message says what to run);
7 a system was unavailable; the others were synced;
130 stopped by Ctrl-C, progress kept.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import tomllib
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from talk_core import __version__
from talk_core.cli import logs
from talk_core.config import Config, load_config
from talk_core.errors import ConfigError, LockedError, StateError, TalkError
from talk_core.hookspecs import hookimpl
from talk_core.system import SystemSpec

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_LOCKED, EXIT_BREAKER, EXIT_EARLY = 0, 1, 2, 3, 4, 5
EXIT_AUTH, EXIT_UNAVAILABLE = 6, 7
EXIT_INTERRUPTED = 130

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


def handle_errors(fn: F) -> F:
    """Turn talk's errors into one clear line and a documented exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LockedError as exc:
            fail(str(exc), EXIT_LOCKED)
        except (ConfigError, StateError) as exc:
            fail(str(exc), EXIT_USAGE)
        except TalkError as exc:
            fail(str(exc), EXIT_ATTENTION)

    return wrapper  # type: ignore[return-value]


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"talk: {message}", err=True)
    sys.exit(code)


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

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._plugin_commands(ctx)
            command = super().get_command(ctx, cmd_name)
        return command


@click.group(cls=TalkGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              envvar="TALK_CONFIG", show_envvar=True,
              help="Config file to use. Default: ./talk.toml.")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors in the log.")
@click.version_option(__version__, prog_name="talk")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, quiet: bool) -> None:
    """Keep business records in sync between systems, in both directions.

    Configure the systems in talk.toml (`talk init` writes a commented
    example), look at the plan with `talk sync --dry-run`, then run
    `talk sync` by hand, from cron or a systemd timer.

    \b
    Exit codes:
      0   done
      1   done, with dead letters or conflicts to look at
      2   usage, configuration or state file error
      3   another sync holds the lock on the state
      4   a circuit breaker stopped the run before deleting anything
      5   stopped early (a request budget was spent); the next run carries on
      6   a system refused talk's credentials; the message says how to fix it
      7   a system was unavailable; the others were synced
      130 stopped by Ctrl-C; everything done so far is kept
    """
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
    cli(prog_name="talk")

