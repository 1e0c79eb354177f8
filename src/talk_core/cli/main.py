"""``talk``: the command group, shared options, and how errors become exit codes.

Exit codes: 0 done; 1 done, with dead letters or conflicts to look at;
2 usage, configuration or state file error; 3 another sync holds the lock;
4 a circuit breaker stopped the run before deleting anything; 5 the run
stopped early (a request budget was spent) and the next run carries on;
130 stopped by Ctrl-C, progress kept.
"""

from __future__ import annotations

import functools
import sys
import tomllib
from collections.abc import Callable
from typing import Any, TypeVar

import click

from talk_core import __version__
from talk_core.cli import logs
from talk_core.config import Config, load_config
from talk_core.errors import ConfigError, LockedError, StateError, TalkError
from talk_core.system import SystemSpec

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_LOCKED, EXIT_BREAKER, EXIT_EARLY = 0, 1, 2, 3, 4, 5
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


def fail(message: str, code: int) -> None:
    click.echo(f"talk: {message}", err=True)
    sys.exit(code)


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
      130 stopped by Ctrl-C; everything done so far is kept
    """
    logs.setup(verbose, quiet)
    ctx.obj = Context(config_path)


def _register_commands() -> None:
    from talk_core.cli import inspect_cmds, meta_cmds, sync_cmd

    for module in (sync_cmd, inspect_cmds, meta_cmds):
        for command in module.COMMANDS:
            cli.add_command(command)
    from talk_core.plugins import load_plugins, pm

    load_plugins()
    pm.hook.register_commands(cli=cli)


_register_commands()


def main() -> None:
    cli(prog_name="talk")

