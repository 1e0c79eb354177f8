"""Every secret value talk knows of, so that no text it writes shows one.

Redaction by value rather than by place: a token echoed back in an error
body, a client secret in a token endpoint's ``error_description`` or an API
key in a traceback is caught wherever it ends up, because whatever talk
prints, logs or stores as a dead letter passes through ``redact``. Secrets
are added as they become known: configured secret options and every value
read from ``${VAR}`` when the config is read, OAuth tokens when they are
obtained or refreshed. Their common encodings (URL-encoded, base64 of
``user:secret`` for basic auth) are redacted too.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

#: what a secret is replaced by
MASK = "***"
#: shorter values are too likely to occur by chance (and too weak to matter)
SHORTEST = 4

_lock = threading.Lock()
_values: set[str] = set()
_ordered: list[str] = []  # longest first, so a secret inside another goes with it


def _forms(value: str) -> set[str]:
    forms = {value, quote(value, safe=""), quote_plus(value, safe="")}
    raw = value.encode("utf-8")
    b64 = base64.b64encode(raw).decode("ascii")
    forms.add(b64)
    forms.add(b64.rstrip("="))
    forms.add(base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="))
    return {f for f in forms if len(f) >= SHORTEST}


def add(*values: Any) -> None:
    """Remember secret values (anything not a text of at least 4 characters is ignored)."""
    new: set[str] = set()
    for value in values:
        if isinstance(value, str) and len(value.strip()) >= SHORTEST:
            new |= _forms(str(value))
    with _lock:
        if new - _values:
            _values.update(new)
            _ordered[:] = sorted(_values, key=len, reverse=True)


def add_all(values: Iterable[Any]) -> None:
    add(*values)


def add_basic(user: str, secret: str) -> None:
    """A basic-auth pair: the secret, and the header value that carries it."""
    add(secret)
    pair = f"{user}:{secret}".encode()
    add(base64.b64encode(pair).decode("ascii"))


def known() -> list[str]:
    with _lock:
        return list(_ordered)


def forget() -> None:
    """Forget every secret (between tests: a process normally keeps them to its end)."""
    with _lock:
        _values.clear()
        _ordered.clear()


def redact(text: str) -> str:
    """``text`` with every known secret, in any of its known forms, replaced by ``***``."""
    if not text:
        return text
    for value in known():
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact_data(data: Any) -> Any:
    """A JSON-like value with every text in it redacted (keys included)."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact_data(k): redact_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(redact_data(v) for v in data) if isinstance(data, list) else \
            tuple(redact_data(v) for v in data)
    return data
