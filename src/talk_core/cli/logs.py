"""Logging for the command line: levels from flags or TALK_LOG_LEVEL, secrets redacted."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType

from talk_core import secrets
from talk_core.visible import visible, visible_lines

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
          "ERROR": logging.ERROR}


class Redact(logging.Filter):
    """Replaces every known secret in a log line by ``***``, whatever logged it.

    Remote text in the message (ids, names, error bodies) has its control
    characters shown as escapes, so a log line cannot move the cursor or be
    split into a forged second line.
    """

    def add(self, values: Iterable[str]) -> None:
        secrets.add_all(values)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        record.msg, record.args = visible(secrets.redact(text)), None
        return True


class RedactingFormatter(logging.Formatter):
    """The whole formatted line, traceback included (``-vv``), with secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return visible_lines(secrets.redact(super().format(record)))


REDACT = Redact()


def redacted_excepthook(kind: type[BaseException], exc: BaseException,
                        tb: TracebackType | None) -> None:
    """A traceback that escapes talk (a bug) is shown without the secrets in it."""
    text = "".join(traceback.format_exception(kind, exc, tb))
    sys.stderr.write(visible_lines(secrets.redact(text)))


def setup(verbose: int, quiet: bool) -> None:
    env = os.environ.get("TALK_LOG_LEVEL", "").upper()
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    else:
        level = LEVELS.get(env, logging.WARNING)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(REDACT)
    root = logging.getLogger("talk")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for name in ("urllib3", "requests"):
        other = logging.getLogger(name)
        other.handlers[:] = [handler]
        other.setLevel(max(level, logging.INFO))
