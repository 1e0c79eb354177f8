"""Printing for people (aligned tables) and for scripts (JSON), nothing else.

Everything the command line prints goes through ``echo``, which redacts
every secret talk knows of (``talk_core.secrets``): a token quoted in an
error body or a dead letter never reaches the terminal or a script. Remote
text (ids, names, errors) is shown through ``visible`` (or ``table``, which
applies it to every cell), so an escape sequence in it cannot act on the
terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

from talk_core import secrets
from talk_core.visible import visible

__all__ = ["echo", "emit_json", "heading", "table", "visible"]


def echo(message: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` with every known secret redacted."""
    click.echo(secrets.redact(message if isinstance(message, str) else str(message)),
               err=err, nl=nl)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def emit_json(data: Any) -> None:
    # json escapes C0 controls itself; C1 ones (``\x9b``, a one-byte CSI) it leaves as they are
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_plain)
    echo(re.sub(r"[\x7f-\x9f\u2028\u2029]", lambda m: f"\\u{ord(m.group(0)):04x}", text))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str = "none") -> None:
    """An aligned text table; ``empty`` is printed when there are no rows."""
    if not rows:
        echo(f"  ({empty})")
        return
    cells = [[_cell(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    echo("  " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        echo("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dict):
        return visible(", ".join(f"{k}={v!r}" for k, v in value.items()))
    return visible(str(value))


def heading(text: str) -> None:
    echo(click.style(visible(text), bold=True))
