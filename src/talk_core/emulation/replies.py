"""Requests and answers of an emulated JSON API: replies, errors and capped bodies.

Every emulator answers JSON and refuses what a real API refuses with that
API's own error body; ``ApiError`` carries the status, a code, a message and
the field at fault, and the emulator renders it in its API's shape.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response


class ApiError(Exception):
    """An answer other than success; the emulator's ``error_body`` shapes its body."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None
               ) -> Response:
    """``body`` as JSON; ``None`` answers an empty body without a content type (a 204)."""
    if body is None:
        response = Response(b"", status=status)
        response.headers.pop("Content-Type", None)
    else:
        response = Response(json.dumps(body), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def text_reply(text: str, status: int, content_type: str) -> Response:
    """A body that is not JSON (an HTML error page a proxy might send)."""
    return Response(text, status=status, content_type=content_type)


def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused with a 413 beyond ``limit`` bytes."""
    request.max_content_length = limit
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes") from None


def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body (``None`` when empty), or a 400 naming what is wrong."""
    raw = read_body(request, limit)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not UTF-8 text") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not JSON: {exc}") from None
