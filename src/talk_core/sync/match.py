"""First-link matching: is a record seen for the first time one we already know?

Keys are normalised so that "ACME  AS" and "acme as" meet. An empty part
makes the whole key unusable: empty values never merge records.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

_SPACES = re.compile(r"\s+")


def normalise(value: Any) -> str:
    text = str(value)
    if text.isascii():
        # NFKC leaves ASCII as it is, and casefold is lower there; runs of
        # blanks and other white space (never printable) are what the
        # pattern has to join
        text = text.lower().strip()
        if "  " in text or not text.isprintable():
            text = _SPACES.sub(" ", text)
        return text
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    return _SPACES.sub(" ", text)


def key_name(parts: Sequence[str]) -> str:
    return "+".join(parts)


def match_keys(values: dict[str, Any], keys: Sequence[Sequence[str]]) -> dict[str, str]:
    """The usable keys of ``values``: key name -> normalised value."""
    out: dict[str, str] = {}
    for parts in keys:
        pieces = []
        for part in parts:
            value = values.get(part)
            if value is None or str(value).strip() == "":
                break
            pieces.append(normalise(value))
        else:
            if pieces:
                out[key_name(parts)] = "\x1f".join(pieces)
    return out


def key_values(values: dict[str, Any], keys: Sequence[Sequence[str]]) -> tuple[Any, ...]:
    """The raw values the keys are made of: equal tuples make equal keys, cheaply.

    Asked twice for every record merged, so the keys' parts are listed once
    per keys object (the engine keeps one per global type).
    """
    known = _PARTS.get(id(keys))
    if known is None or known[0] is not keys:
        if len(_PARTS) > 64:
            _PARTS.clear()
        known = _PARTS[id(keys)] = (keys, tuple(part for parts in keys for part in parts))
    return tuple(map(values.get, known[1]))


#: id(keys) -> (keys, their parts in order); the keys are held, so the id stays theirs
_PARTS: dict[int, tuple[Sequence[Sequence[str]], tuple[str, ...]]] = {}
