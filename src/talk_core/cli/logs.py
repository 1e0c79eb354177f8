"""Logging for the command line: levels from flags or TALK_LOG_LEVEL, secrets redacted."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING,
          "ERROR": logging.ERROR}


class Redact(logging.Filter):
    """Replaces every known secret in a log line by ``***``, whatever logged it."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        self.secrets.update(s for s in secrets if len(s) >= 4)

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, None
        return True


REDACT = Redact()


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
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(REDACT)
    root = logging.getLogger("talk")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for name in ("urllib3", "requests"):
        other = logging.getLogger(name)
        other.handlers[:] = [handler]
        other.setLevel(max(level, logging.INFO))
