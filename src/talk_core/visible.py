"""Remote text made safe to show on a terminal.

Ids, names and error bodies come from systems talk does not control; an
escape sequence in one could clear the screen, retitle the terminal or
fake a line of output. Every control character is shown as a visible
escape instead (``\\x1b``, ``\\n``), so the text reads as what it is.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: Any) -> str:
    """``value`` as text with its control characters shown as escapes."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(_escape, text)


def visible_lines(text: str) -> str:
    """Like ``visible`` but keeping line breaks (a traceback, a multi-line message)."""
    return "\n".join(visible(line) for line in text.split("\n"))
