"""How a request shows its credentials: basic, bearer token, API-key header, OAuth2.

Each authenticator is a ``requests`` auth (it sets the header on every
prepared request, redirects included, which the client checks stay on the
API's origin) and names its secrets, so the client can keep them out of
every message. ``OAuth2`` takes a token provider (a callable answering a
current access token, such as Exact's ``TokenManager.access_token``) and
an optional refresher for a 401: then one refused request costs one
refresh and one more try before the credentials count as refused.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import requests


@runtime_checkable
class Authenticator(Protocol):
    """Puts credentials on a request; names them so no message ever shows them."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in a log line or an error message."""
        ...

    def refresh(self) -> bool:
        """After a 401: renew the credentials if that can help; True if a retry may pass."""
        ...


class _Static(requests.auth.AuthBase):
    """Credentials that do not change during a run: a 401 is final."""

    def secrets(self) -> tuple[str, ...]:
        return ()

    def refresh(self) -> bool:
        return False


class BasicAuth(_Static):
    """HTTP basic: ``Authorization: Basic base64(user:password)``."""

    def __init__(self, user: str, password: str) -> None:
        self._user, self._password = str(user), str(password)
        self._header = "Basic " + base64.b64encode(
            f"{self._user}:{self._password}".encode()).decode("ascii")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def secrets(self) -> tuple[str, ...]:
        return (self._password, self._header.split()[1])

    def __repr__(self) -> str:
        return f"BasicAuth({self._user!r}, <redacted>)"


class BearerToken(_Static):
    """A fixed token: ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._token = str(token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __repr__(self) -> str:
        return "BearerToken(<redacted>)"


class ApiKeyHeader(_Static):
    """A key in a header of the API's choosing (``X-API-Key`` unless told)."""

    def __init__(self, key: str, header: str = "X-API-Key") -> None:
        self._key, self.header = str(key), header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self._key
        return request

    def secrets(self) -> tuple[str, ...]:
        return (self._key,)

    def __repr__(self) -> str:
        return f"ApiKeyHeader({self.header!r}, <redacted>)"


class OAuth2(requests.auth.AuthBase):
    """A bearer token from ``token()``, asked for on every request (it refreshes when due).

    ``on_refused`` renews the token after a 401 (Exact's
    ``TokenManager.refresh_after_401``); without it a 401 is final.
    """

    def __init__(self, token: Callable[[], str],
                 on_refused: Callable[[], object] | None = None) -> None:
        self._token = token
        self._on_refused = on_refused
        self._last = ""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        self._last = self._token()
        request.headers["Authorization"] = f"Bearer {self._last}"
        return request

    def secrets(self) -> tuple[str, ...]:
        return (self._last,) if self._last else ()

    def refresh(self) -> bool:
        if self._on_refused is None:
            return False
        self._on_refused()
        return True

    def __repr__(self) -> str:
        return "OAuth2(<redacted>)"


class AllOf(requests.auth.AuthBase):
    """Several credentials on every request (a key header and a bearer token); none: no auth."""

    def __init__(self, *parts: Authenticator) -> None:
        self.parts = parts

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for part in self.parts:
            request = part(request)
        return request

    def secrets(self) -> tuple[str, ...]:
        return tuple(secret for part in self.parts for secret in part.secrets())

    def refresh(self) -> bool:
        renewed = [part.refresh() for part in self.parts]
        return any(renewed)

    def __repr__(self) -> str:
        return f"AllOf({', '.join(repr(p) for p in self.parts)})"


def secrets_of(auth: object) -> tuple[str, ...]:
    """The secrets an auth object names (a plain ``(user, password)`` tuple: the password)."""
    if isinstance(auth, tuple) and len(auth) == 2:
        return tuple(str(v) for v in auth)
    named = getattr(auth, "secrets", None)
    return tuple(named()) if callable(named) else ()
