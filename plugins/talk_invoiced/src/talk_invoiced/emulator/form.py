"""Form-encoded request bodies, as Invoiced takes them beside JSON (``curl -d name=Acme``).

Keys nest the way PHP reads them: ``metadata[tier]=gold`` is an object,
``items[0][name]=A`` and ``items[][name]=A`` a list of objects, ``to[]=x``
a list. A form carries only text, so values are given the type their
field has (booleans, timestamps and ids, amounts), and an empty value is
``null``, as Invoiced reads an empty string.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

from talk_invoiced.emulator.errors import ApiError

BOOLEANS = frozenset({"taxable", "discountable", "active", "draft", "closed", "sent",
                      "primary", "sms_enabled"})
INTEGERS = frozenset({"customer", "date", "due_date", "expires"})
NUMBERS = frozenset({"quantity", "unit_cost", "amount"})
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_form(raw: bytes) -> dict[str, Any]:
    """The object a form-encoded body stands for; 400 naming a key that cannot nest."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "Invalid form-encoded body") from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise ApiError(400, f"Invalid parameter name: {key}", key)
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        _put(root, path, value, key)
    body = _typed(_listed(root), None)
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be an object, not a list")
    return body


def _put(node: dict[str, Any], path: list[str], value: str, key: str) -> None:
    """Set ``value`` at ``path``; an empty step (``[]``) is a new index, as in PHP."""
    for step in path[:-1]:
        if step == "":
            step = str(len(node))
        child = node.setdefault(step, {})
        if not isinstance(child, dict):
            raise ApiError(400, f"Parameter {key} is both a value and an object", key)
        node = child
    last = path[-1] or str(len(node))
    if isinstance(node.get(last), dict):
        raise ApiError(400, f"Parameter {key} is both a value and an object", key)
    node[last] = value


def _listed(value: Any) -> Any:
    """Objects whose keys are all indexes become lists, in index order."""
    if not isinstance(value, dict):
        return value
    out = {k: _listed(v) for k, v in value.items()}
    if out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


def _typed(value: Any, field: str | None) -> Any:
    if isinstance(value, dict):
        return {k: _typed(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v, field) for v in value]
    if value == "":
        return None
    if field in BOOLEANS:
        if value.lower() in ("1", "true"):
            return True
        if value.lower() in ("0", "false"):
            return False
        raise ApiError(400, f"{field} must be a boolean", field)
    if field in INTEGERS and value.lstrip("-").isdigit():
        return int(value)
    if field in NUMBERS:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ApiError(400, f"{field} must be a number", field) from None
        if not number.is_finite():
            raise ApiError(400, f"{field} must be a number", field)
        return int(number) if number == number.to_integral_value() else float(number)
    return value
