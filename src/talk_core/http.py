"""The one HTTP client every connector uses: retries, budgets, safe transport, no secrets.

Connectors differ in their APIs, not in how a request should be retried:
timeouts and 429/5xx are retried with exponential backoff and jitter
(for at most ``unavailable_after`` seconds when the system does not serve:
then ``SystemUnavailable``, and the run leaves that system alone),
``Retry-After`` is honoured, a ``Budget`` may hold a request back or stop
the run, and 4xx answers are never retried blindly (Exact blocks keys that
keep failing). Transport is TLS with verification for every address but
loopback, and credentials never reach a log line or an error message.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from talk_core import interrupt
from talk_core import secrets as talk_secrets
from talk_core.errors import (
    AccessDenied,
    ConfigError,
    RecordError,
    SystemUnavailable,
    TransientError,
    Unreachable,
)

log = logging.getLogger("talk.http")

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
GATEWAY_STATUS = frozenset({502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: What a refusal of the credentials tells the user to do, unless the connector says better.
CHECK_CREDENTIALS = "check the system's credentials in the configuration"
#: Headers whose values are credentials: kept out of every message.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "x-auth-token"})
#: Seconds one request may spend failing for the system's reasons (no connection, timeouts,
#: 5xx) before it gives up and the system counts as unavailable; ``[sync] unavailable_after``.
DEFAULT_PATIENCE = 30.0
_patience = DEFAULT_PATIENCE


def set_patience(seconds: float) -> None:
    """How long a request keeps retrying a system that does not serve (every client)."""
    global _patience
    _patience = float(seconds)


class Budget(Protocol):
    """A request budget: may wait or raise ``BudgetExhausted`` before a request."""

    def before_request(self) -> None: ...

    def after_response(self, response: requests.Response) -> None: ...


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


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(url: str, *, verify: bool = True) -> None:
    """Refuse plain HTTP or unverified TLS to anything but this machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{url!r} is not an http(s) address")
    if is_loopback(url):
        return
    if parts.scheme != "https":
        raise ConfigError(f"{url}: plain http would send credentials in clear; use https "
                          "(only loopback addresses may use http)")
    if not verify:
        raise ConfigError(f"{url}: TLS verification cannot be turned off except for loopback "
                          "addresses")


_TAG = re.compile(r"<[^>]*>")


def _default_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        # a maintenance or proxy page is HTML: its words, not its markup, make the message
        text = " ".join(_TAG.sub(" ", response.text).split())
        return text[:200] or response.reason
    if isinstance(body, dict):
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return str(body)[:200]


class HttpClient:
    """A ``requests`` session bound to one API, with the retry policy above.

    ``describe_error(response)`` turns an error answer into a sentence (the
    API's message and the field it names); ``budget`` is consulted around
    every request; ``sleep`` is injectable so tests do not wait (the default
    is cut short by a stop request, ``talk_core.interrupt``). A 401
    raises ``CredentialsRefused`` with ``refused_hint`` (what to fix) in its
    message; ``refused_hint=None`` leaves a 401 to the caller as an
    ``HttpStatusError`` (a client that refreshes a token first).
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str = "",
        auth: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        budget: Budget | None = None,
        describe_error: Callable[[requests.Response], str] = _default_message,
        verify: bool = True,
        sleep: Callable[[float], None] = interrupt.sleep,
        session: requests.Session | None = None,
        refused_hint: str | None = CHECK_CREDENTIALS,
        patience: float | None = None,
    ) -> None:
        check_transport(base_url, verify=verify)
        self.base_url = base_url.rstrip("/") + "/"
        self.name = name or (urlsplit(base_url).hostname or "api")
        self.session = session or requests.Session()
        self.session.hooks["response"].append(self._refuse_foreign_redirect)
        self.session.auth = auth
        self.session.verify = verify
        if headers:
            self.session.headers.update(headers)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.budget = budget
        self.describe_error = describe_error
        self.sleep = sleep
        self.refused_hint = refused_hint
        #: seconds of failing for the system's reasons; None: ``set_patience``'s, for every client
        self.patience = patience
        self.requests = 0

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, {self.base_url!r})"

    @property
    def safe_base_url(self) -> str:
        """The base URL without user info: what a message may name."""
        return _origin(self.base_url) + (urlsplit(self.base_url).path or "/")

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if not self._same_origin(path):
                raise RecordError(f"{self.name}: refusing to follow a link to another host "
                                  f"or scheme: {_origin(path)}")
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def _same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.base_url)

    def _refuse_foreign_redirect(self, response: requests.Response, *_args: Any,
                                 **_kwargs: Any) -> None:
        """requests drops ``Authorization`` on a redirect to another host, not ``X-API-Key``.

        Nor does it mind a redirect from https to plain http on the same
        host. So a redirect leaving the API's scheme and host is refused
        before requests follows it with the credentials.
        """
        if not response.is_redirect:
            return
        target = urljoin(response.url, response.headers.get("Location", ""))
        if not self._same_origin(target):
            raise RecordError(f"{self.name}: refusing to follow a redirect to another host "
                              f"or scheme: {_origin(target)}")

    def request(self, method: str, path: str, *, retry: bool | None = None,
                **kwargs: Any) -> requests.Response:
        """Send, retrying what may pass; answer a 2xx/3xx response or raise.

        ``retry`` says whether a request that may have reached the server can
        be sent again; by default only idempotent methods are (a POST with an
        idempotency key may pass ``retry=True``). A failure that is the
        system's, not the request's, raises ``SystemUnavailable`` once the
        retries (or the patience, ``set_patience``) run out: no connection at
        all (``Unreachable``, also ``NotSent``), or timeouts, resets and 5xx
        answers after at least one retry. A stop request (``interrupt``)
        raises ``Interrupted`` before the next attempt.
        """
        method = method.upper()
        url = self.url(path)
        may_resend = method in IDEMPOTENT if retry is None else retry
        kwargs.setdefault("timeout", self.timeout)
        attempt = 0
        started = time.monotonic()
        while True:
            attempt += 1
            interrupt.check()
            if self.budget is not None:
                self.budget.before_request()
            self.requests += 1
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                reason = type(exc).__name__
                unsent = never_sent(exc)
                if attempt > self.retries or self._impatient(started) or (
                        unsent is None and not may_resend):
                    if unsent is not None:
                        raise Unreachable(f"{self.name} {method} {_path(url)}: not sent, "
                                          f"{unsent} ({self.safe_base_url}, {attempt} "
                                          "attempt(s))", where=self.safe_base_url) from None
                    message = f"{self.name} {method} {_path(url)}: {reason} after " \
                              f"{attempt} attempt(s)"
                    if attempt > 1:  # not a fluke of this one request
                        raise SystemUnavailable(message, where=self.safe_base_url) from None
                    raise TransientError(message) from None
                # a request that never left may be sent again, whatever its method
                self._wait(attempt, None, f"{method} {_path(url)}: {unsent or reason}",
                           started)
                continue
            if self.budget is not None:
                self.budget.after_response(response)
            status = response.status_code
            log.debug("%s %s %s -> %s", self.name, method, _path(url), status)
            if status < 400:
                return response
            if status in RETRY_STATUS and attempt <= self.retries and (
                may_resend or status == 429
            ) and (status == 429 or not self._impatient(started)):
                self._wait(attempt, response.headers.get("Retry-After"),
                           f"{method} {_path(url)}: {status}",
                           None if status == 429 else started)
                continue
            said = self._unsecret(self.describe_error(response))
            message = f"{self.name} {method} {_path(url)}: {status} {said}"
            if status in RETRY_STATUS:
                # a gateway's or a maintenance page's answer is the system's, whatever was
                # sent; a 500 may be the request's own until a retry failed the same way
                if status in GATEWAY_STATUS or (status != 429 and attempt > 1):
                    raise SystemUnavailable(message, where=self.safe_base_url)
                raise TransientError(message)
            try:
                body = response.json()
            except ValueError:
                body = None
            if status == 401 and self.refused_hint is not None:
                raise CredentialsRefused(
                    f"{self.name} refused the credentials ({status} {said} on {method} "
                    f"{_path(url)}); {self.refused_hint}", body)
            raise HttpStatusError(message, status, body)

    def _unsecret(self, text: str) -> str:
        """An API may quote back the key it refused: never let it reach a message."""
        secrets = [str(v) for k, v in self.session.headers.items()
                   if k.lower() in SECRET_HEADERS]
        if isinstance(self.session.auth, tuple):
            secrets.extend(str(v) for v in self.session.auth)
        for secret in sorted(secrets, key=len, reverse=True):
            for part in (secret, *secret.split()):  # "Bearer <token>": the token alone too
                if len(part) >= 6 and part.lower() != "bearer":
                    text = text.replace(part, "***")
        # an auth object (Exact's bearer token) and every other secret talk knows of
        return talk_secrets.redact(text)

    def _impatient(self, started: float) -> bool:
        """Whether this request has spent the time a system that does not serve is given."""
        patience = _patience if self.patience is None else self.patience
        return time.monotonic() - started >= patience

    def _wait(self, attempt: int, retry_after: str | None, what: str,
              started: float | None = None) -> None:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        delay = delay / 2 + random.uniform(0, delay / 2)
        if retry_after and retry_after.strip().replace(".", "", 1).isdigit():
            delay = max(delay, min(float(retry_after), self.max_backoff * 4))
        elif started is not None:  # never wait past the patience: then it is given up
            patience = _patience if self.patience is None else self.patience
            delay = max(0.0, min(delay, patience - (time.monotonic() - started)))
        log.info("%s %s; retrying in %.1fs", self.name, what, delay)
        self.sleep(delay)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def never_sent(exc: BaseException) -> str | None:
    """Why a failed request provably never reached the server, or None if it may have.

    Only a failure to connect proves it: no such host, connection refused,
    no answer to the connect. A read timeout, a reset or a 5xx came after
    the request was (perhaps) received, so a create that failed so may
    have made its record. The answer names the cause, never the URL's
    query or any header, so it is safe in a message.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return "the connection timed out"
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NameResolutionError):
            return "the host name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(current, NewConnectionError):
            return ("the connection was refused" if _refused(current)
                    else "no connection could be made")
        if isinstance(current, MaxRetryError) and isinstance(current.reason, BaseException):
            todo.append(current.reason)
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return None


def _refused(exc: BaseException) -> bool:
    linked: BaseException | None = exc
    for _ in range(8):
        linked = linked.__cause__ or linked.__context__ if linked is not None else None
        if linked is None:
            return False
        if isinstance(linked, ConnectionRefusedError):
            return True
    return False


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _path(url: str) -> str:
    """The URL without scheme, host or query: what is safe and useful in a message."""
    return urlsplit(url).path or "/"
