"""How much of an API's answer talk takes before calling it hostile or broken.

An answer is untrusted data: without bounds a ``next`` link back to the same
page, a body of gigabytes, one byte every half second or JSON nested a
hundred thousand deep would each keep a run from ending or end it with a
traceback. ``[sync]`` in talk.toml sets the bounds for every system; the
same keys in a ``[systems.NAME]`` table set them for that system alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from talk_core.system import Option


@attrs.frozen
class Limits:
    """``max_pages``: pages one read of a datatype may take (a link or cursor seen
    before in the same read is a fault at once); ``max_response_bytes``: bytes of one
    body, decoded; ``request_deadline``: seconds one request may take, its whole body
    included; ``max_json_depth``: how deeply a JSON answer may nest."""

    max_pages: int = 100_000
    max_response_bytes: int = 64 * 1024 * 1024
    request_deadline: float = 120.0
    max_json_depth: int = 64


LIMIT_NAMES = ("max_pages", "max_response_bytes", "request_deadline", "max_json_depth")

#: The bounds as options of every system kind: unset, ``[sync]``'s hold.
LIMIT_OPTIONS = (
    Option("max_pages", int, help="pages one read of a datatype may take; default [sync]'s "
                                  "(100000)"),
    Option("max_response_bytes", int, help="bytes one answer may have; default [sync]'s "
                                           "(67108864, 64 MiB)"),
    Option("request_deadline", float, help="seconds one request may take, its body "
                                           "included; default [sync]'s (120)"),
    Option("max_json_depth", int, help="how deeply a JSON answer may nest; default "
                                       "[sync]'s (64)"),
)

_RANGES: dict[str, tuple[float, float]] = {
    "max_pages": (1, 10**9),
    "max_response_bytes": (1024, 2**40),
    "request_deadline": (1, 24 * 3600),
    "max_json_depth": (2, 900),  # Python's own decoder gives up near 1,000
}


def limit_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the bound ``name``, or None."""
    low, high = _RANGES[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not \
            low <= value <= high:
        return f"expected a number from {low:g} to {high:g}, got {value!r}"
    return None


def limit_overrides(options: Mapping[str, Any]) -> dict[str, Any]:
    """The bounds a system's options set for it alone (the rest stay ``[sync]``'s)."""
    return {name: options[name] for name in LIMIT_NAMES if options.get(name) is not None}
