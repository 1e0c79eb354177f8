"""What an HTTP answer means for the run: one record's failure, a pause, or the run's end.

The engine sorts errors by class (``talk_core.errors``), so the mapping
from a status to a class decides whether a refusal costs one record
(``RecordError``), is tried again later (``TransientError``), leaves the
system alone for the run (``SystemUnavailable``) or ends it
(``AccessDenied``, ``StopRun``). Every connector used to decide that for
itself; ``ErrorMap`` makes it data, with a connector's exceptions as
overrides (``{403: AccessDenied}`` for an API whose 403 means a revoked key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import requests

from talk_core.errors import (
    AccessDenied,
    ConnectorError,
    RecordError,
    StopRun,
    SystemUnavailable,
    TransientError,
)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
#: Answers that are the system's (a gateway, a maintenance page), whatever was sent.
GATEWAY_STATUS = frozenset({502, 503, 504})
#: What a refusal of the credentials tells the user to do, unless the connector says better.
CHECK_CREDENTIALS = "check the system's credentials in the configuration"


class AnswerOutOfBounds(RecordError):
    """An answer broke one of the ``Limits``: too many pages, too big, too slow, too deep."""


class ForeignLink(RecordError):
    """A link or redirect would take the credentials to another scheme, host or port."""


class HttpStatusError(RecordError):
    """A 4xx answer: the request was refused for a reason the body explains."""

    def __init__(self, message: str, status: int, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class CredentialsRefused(AccessDenied):
    """The API answered 401: it refuses the credentials, so no other request can pass.

    An ``AccessDenied``: the run stops cleanly (exit code 6) instead of
    failing every record and datatype one by one.
    """

    def __init__(self, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.http_status = 401
        self.body = body


class MaintenancePage(SystemUnavailable):
    """A web page (HTML) came where the API's JSON belongs, with a success status.

    Proxies and maintenance windows answer so: the page is the system's
    state, not the record's or the page's, so it is an outage like a 503
    (the run leaves the system alone and ends ``unavailable``, exit 7)
    instead of a dead letter that the next clean read would only settle.
    """


#: Makes the error for a status from (message, status, body): for an error class of a
#: connector's own that says more than the status can (what the user should do).
MakeError = Callable[[str, int, Any], Exception]


@attrs.frozen
class ErrorMap:
    """Which error class a final (not retried) error status raises.

    ``overrides`` maps a status to a class from ``talk_core.errors`` (or a
    subclass), or to a function ``(message, status, body)`` making the error;
    statuses not named keep the defaults: 401 ``CredentialsRefused``
    (when the client has a hint for the user), 429 ``TransientError``, 502-504
    ``SystemUnavailable``, 500 ``SystemUnavailable`` once a retry failed the
    same way (``TransientError`` before), any other 4xx ``HttpStatusError``.
    """

    overrides: Mapping[int, type[ConnectorError] | MakeError] = attrs.field(factory=dict)

    def error(self, status: int, message: str, *, body: Any = None, attempts: int = 1,
              where: str = "", refused_hint: str | None = None,
              refused: str = "") -> Exception:
        """The error to raise for ``status``; ``refused`` is the sentence for a 401."""
        chosen = self.overrides.get(status)
        if isinstance(chosen, type):
            return _build(chosen, message, status, body, where)
        if chosen is not None:
            return chosen(message, status, body)
        if status in RETRY_STATUS:
            if status in GATEWAY_STATUS or (status != 429 and attempts > 1):
                return SystemUnavailable(message, where=where)
            return TransientError(message)
        if status == 401 and refused_hint is not None:
            return CredentialsRefused(refused or message, body)
        return HttpStatusError(message, status, body)


def _build(kind: type[ConnectorError], message: str, status: int, body: Any,
           where: str) -> ConnectorError:
    if issubclass(kind, HttpStatusError):
        return kind(message, status, body)
    if issubclass(kind, SystemUnavailable):
        return kind(message, where=where)
    error = kind(message)
    if isinstance(error, (StopRun, RecordError, TransientError)):
        setattr(error, "http_status", status)  # noqa: B010 - for callers that ask
    return error


_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"<(title|h1)[^>]*>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


def page_words(html: str, size: int = 200) -> str:
    """A web page's words without its markup: what a message may quote."""
    return " ".join(_TAG.sub(" ", html).split())[:size]


def page_title(html: str) -> str:
    """What a page says it is: its title or first heading, else its first words."""
    found = _TITLE.search(html)
    return page_words(found.group(2) if found else html, 80)


def is_web_page(response: requests.Response) -> bool:
    """Whether ``response`` is an HTML page (by its content type or its first bytes)."""
    kind = response.headers.get("Content-Type", "").lower()
    if "html" in kind:
        return True
    start = (response.content or b"")[:64].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def refuse_web_page(response: requests.Response, what: str, where: str) -> None:
    """Raise ``MaintenancePage`` when a success answer is a web page where JSON belongs."""
    if response.status_code < 300 and is_web_page(response):
        text = response.content.decode(response.encoding or "utf-8", "replace")
        raise MaintenancePage(f"{what}: answered an HTML page (text/html), not JSON "
                              f"({page_title(text)!r}): the system is down for maintenance "
                              "or behind a proxy that is", where=where)


def default_message(response: requests.Response) -> str:
    """An error answer as a sentence: the API's message, or a page's words."""
    try:
        body = response.json()
    except ValueError:
        # a maintenance or proxy page is HTML: its words, not its markup, make the message
        return page_words(response.text) or response.reason
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return str(body)[:200]
