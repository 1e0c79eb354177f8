"""Reading Exact's OData answers and writing its filter literals.

Exact answers JSON only when asked and otherwise Atom XML; lists come as
``{"d": {"results": [...], "__next": url}}`` and single records as
``{"d": {...}}``. Anything else is an answer the connector cannot trust,
reported with the entity it was about so the user can find it.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from talk_core.errors import RecordError

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ExactResponseError(RecordError):
    """An answer that is not the OData JSON Exact promises (XML, no ``d``, garbage)."""

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and bool(GUID.match(value))


def literal(value: Any) -> str:
    """An OData literal: ``guid'...'`` for ids, quoted text with quotes doubled, numbers bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if is_guid(text):
        return f"guid'{text}'"
    return "'" + text.replace("'", "''") + "'"


_TITLE = re.compile(r"<(title|h1)[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


def _page_title(html: str) -> str:
    """What the page says it is: its title or first heading, else its first words."""
    found = _TITLE.search(html)
    text = found.group(2) if found else re.sub(r"<[^>]*>", " ", html)
    return " ".join(text.split())[:80]


def envelope(response: requests.Response, what: str) -> Any:
    """The content of ``d``, or a clear error naming ``what`` was being read."""
    kind = response.headers.get("Content-Type", "")
    text = response.text
    if "html" in kind or text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
        raise ExactResponseError(f"Exact Online {what}: answered an HTML page, not JSON "
                                 f"({_page_title(text)!r}; a proxy's or maintenance page?)",
                                 text[:2000])
    if "xml" in kind or text.lstrip().startswith("<"):
        raise ExactResponseError(f"Exact Online {what}: answered XML, not JSON "
                                 "(was Accept: application/json ignored?)", text[:2000])
    try:
        body = response.json()
    except ValueError:
        raise ExactResponseError(f"Exact Online {what}: the answer is not JSON",
                                 text[:2000]) from None
    if not isinstance(body, dict) or "d" not in body:
        raise ExactResponseError(f"Exact Online {what}: the answer has no 'd' envelope",
                                 text[:2000])
    return body["d"]


def results(d: Any, what: str) -> tuple[list[Any], str | None]:
    """A list answer's records and the next page's address."""
    if isinstance(d, list):
        return d, None
    if not isinstance(d, dict) or not isinstance(d.get("results"), list):
        raise ExactResponseError(f"Exact Online {what}: 'd' holds no 'results' list",
                                 repr(d)[:2000])
    following = d.get("__next")
    return d["results"], following if isinstance(following, str) and following else None


def describe_error(response: requests.Response) -> str:
    """Exact's error envelope ``{"error": {"message": {"value": ...}}}`` as one sentence."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip().replace("\n", " ")
        return text[:200] or response.reason
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, dict) and message.get("value"):
                return str(message["value"])[:300]
            if isinstance(message, str):
                return message[:300]
        if isinstance(error, str):
            return str(body.get("error_description") or error)[:300]
    return str(body)[:200]
