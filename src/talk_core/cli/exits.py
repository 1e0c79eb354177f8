"""Exit codes, and how talk's errors become one line and one of them.

Kept apart from ``cli.main`` so that a plugin's own commands (``talk auth
exactonline``) report errors the same way without importing the command
group. ``EXIT_CODES`` is the one list: ``talk --help`` prints it, and the
README and docs/cli.md repeat it word for word (a test holds them to it).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from talk_core import secrets
from talk_core.errors import ConfigError, LockedError, StateError, TalkError
from talk_core.visible import visible_lines

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_LOCKED, EXIT_BREAKER, EXIT_EARLY = 0, 1, 2, 3, 4, 5
EXIT_AUTH, EXIT_UNAVAILABLE = 6, 7
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "done"),
    (EXIT_ATTENTION, "done, with dead letters or conflicts to look at"),
    (EXIT_USAGE, "usage, configuration or state file error"),
    (EXIT_LOCKED, "another sync holds the lock on the state"),
    (EXIT_BREAKER, "a circuit breaker stopped the run before deleting anything"),
    (EXIT_EARLY, "stopped early (a request budget was spent); the next run carries on"),
    (EXIT_AUTH, "a system refused talk's credentials; the message says how to fix it"),
    (EXIT_UNAVAILABLE, "a system was unavailable; the others were synced"),
    (EXIT_INTERRUPTED, "stopped by Ctrl-C; everything done so far is kept"),
)


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
    # a message may quote a remote system's answer: no secret, no control character in it
    click.echo(f"talk: {visible_lines(secrets.redact(message))}", err=True)
    sys.exit(code)
