"""The one HTTP client every connector uses: retries, budgets, safe transport, no secrets.

Connectors differ in their APIs, not in how a request should be retried:
timeouts and 429/5xx are retried with exponential backoff and jitter
(``retry``, on tenacity; for at most ``unavailable_after`` seconds when
the system does not serve: then ``SystemUnavailable``, and the run leaves
that system alone), ``Retry-After`` is honoured (seconds or a date), a
``Budget`` may hold a request back or stop the run, and 4xx answers are
never retried blindly (Exact blocks keys that keep failing). Each attempt
runs so that a stop request abandons it within a fraction of a second
(``inflight``). An HTML page where JSON belongs is a maintenance page,
an outage like a 503 (``errors.MaintenancePage``). Transport is TLS with
verification for every address but loopback, and credentials never reach
a log line or an error message.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

import attrs
import requests
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from talk_core import interrupt
from talk_core import secrets as talk_secrets
from talk_core.errors import (
    ConfigError,
    RecordError,
    SystemUnavailable,
    TransientError,
    Unreachable,
)
from talk_core.limits import Limits
from talk_core.rest.auth import secrets_of
from talk_core.rest.errors import (
    CHECK_CREDENTIALS,
    RETRY_STATUS,
    AnswerOutOfBounds,
    ErrorMap,
    ForeignLink,
    MaintenancePage,
    MakeError,
    default_message,
    is_web_page,
    page_title,
)
from talk_core.rest.inflight import run_interruptibly
from talk_core.rest.paging import Paging
from talk_core.rest.retry import Again, Backoff, attempts

log = logging.getLogger("talk.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
#: ``Session.request``'s arguments that make the request (the rest say how to send it).
_REQUEST_PARTS = frozenset({"params", "data", "headers", "cookies", "files", "auth", "json",
                            "hooks"})
#: Requests that change nothing: abandoning one in flight costs nothing.
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
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


_limits = Limits()


def set_limits(limits: Limits) -> None:
    """The bounds every client without its own keeps to (``[sync]`` in talk.toml)."""
    global _limits
    _limits = limits


def current_limits() -> Limits:
    return _limits


class Budget(Protocol):
    """A request budget: may wait or raise ``BudgetExhausted`` before a request."""

    def before_request(self) -> None: ...

    def after_response(self, response: requests.Response) -> None: ...


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
        describe_error: Callable[[requests.Response], str] = default_message,
        verify: bool = True,
        sleep: Callable[[float], None] = interrupt.sleep,
        session: requests.Session | None = None,
        refused_hint: str | None = CHECK_CREDENTIALS,
        patience: float | None = None,
        limits: Limits | Mapping[str, Any] | None = None,
        errors: ErrorMap | Mapping[int, type[Any] | MakeError] | None = None,
        answers_json: bool = False,
        interruptible: bool = True,
    ) -> None:
        check_transport(base_url, verify=verify)
        self.base_url = base_url.rstrip("/") + "/"
        self.name = name or (urlsplit(base_url).hostname or "api")
        self.session = session or requests.Session()
        self.session.hooks["response"].append(self._refuse_foreign_redirect)
        self.session.max_redirects = 10
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
        #: this client's bounds: its own, or ``set_limits``'s with the ones a system sets
        self._limits = limits
        self.requests = 0
        #: which error a final error status raises (``errors.ErrorMap``; overrides by status)
        self.errors = errors if isinstance(errors, ErrorMap) else ErrorMap(errors or {})
        #: an API that always answers JSON: an HTML page instead is a maintenance page
        self.answers_json = answers_json
        #: each attempt on a thread of its own, so a stop request abandons it (``inflight``)
        self.interruptible = interruptible

    def _patience_now(self) -> float:
        return _patience if self.patience is None else self.patience

    def __repr__(self) -> str:
        return f"HttpClient({self.name!r}, {self.base_url!r})"

    @property
    def safe_base_url(self) -> str:
        """The base URL without user info: what a message may name."""
        return _origin(self.base_url) + (urlsplit(self.base_url).path or "/")

    @property
    def limits(self) -> Limits:
        if self._limits is None or isinstance(self._limits, Limits):
            return self._limits or _limits
        return attrs.evolve(_limits, **self._limits)

    def url(self, path: str) -> str:
        """The address ``path`` names, refused unless it is on the base's scheme, host and port.

        Checked after joining, on the normalised link (surrounding blanks and
        control characters dropped, the scheme in any case): a paging link
        ``HTTP://other-host/`` or `` https://other-host/`` is as absolute to
        ``requests`` as any, and the credentials go wherever the URL says.
        """
        cleaned = _clean_link(path)
        if not _SCHEME.match(cleaned):
            cleaned = cleaned.lstrip("/")  # relative to the base, never "//other-host"
        joined = urljoin(self.base_url, cleaned)
        if not self._same_origin(joined):
            raise ForeignLink(f"{self.name}: refusing to follow a link to another host "
                              f"or scheme: {_safe_link(joined)} (the credentials go only to "
                              f"{self.safe_base_url}'s scheme, host and port)")
        return joined

    def _same_origin(self, url: str) -> bool:
        return _origin_key(url) == _origin_key(self.base_url)

    def paging(self, what: str) -> Paging:
        """A guard for one read's pages: their number and no page asked for twice."""
        return Paging(f"{self.name} {what}", self.limits.max_pages)

    def _refuse_foreign_redirect(self, response: requests.Response, *_args: Any,
                                 **_kwargs: Any) -> None:
        """requests drops ``Authorization`` on a redirect to another host, not ``X-API-Key``.

        Nor does it mind a redirect from https to plain http on the same
        host. So a redirect leaving the API's scheme, host or port is refused
        before requests follows it with the credentials.
        """
        if not response.is_redirect:
            return
        target = urljoin(response.url, _clean_link(response.headers.get("Location", "")))
        if not self._same_origin(target):
            raise ForeignLink(f"{self.name}: refusing to follow a redirect to another host "
                              f"or scheme: {_safe_link(target)} (the credentials go only to "
                              f"{self.safe_base_url}'s scheme, host and port)")
        # requests reads a redirect's body whole before following it: under the bounds here
        self._read_body(response, f"redirect from {_path(response.url)}", time.monotonic())

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
        raises ``Interrupted`` before the next attempt, and abandons one in
        flight (``AbandonedInFlight``). A 401 with an authenticator that
        can renew its credentials (``OAuth2`` with ``on_refused``) costs one
        renewal and one more try.
        """
        method = method.upper()
        url = self.url(path)
        may_resend = method in IDEMPOTENT if retry is None else retry
        kwargs.setdefault("timeout", self.timeout)
        kwargs["stream"] = True  # the body is read under the bounds, never whole at once
        started = time.monotonic()
        renewal = [self._can_renew()]  # one renewal of the credentials a request, after a 401
        backoff = Backoff(self.backoff, self.max_backoff, self._patience_now)
        for attempt in attempts(backoff, self._wait, self.name):
            with attempt:
                return self._attempt(method, url, attempt.retry_state.attempt_number,
                                     may_resend, started, kwargs, renewal)
        raise AssertionError("unreachable: tenacity answers or raises")  # pragma: no cover

    def _wait(self, seconds: float) -> None:
        """The pause between two attempts (``sleep``: cut short by a stop request)."""
        self.sleep(seconds)

    def _can_renew(self) -> bool:
        return callable(getattr(self.session.auth, "refresh", None))

    def _renew(self, renewal: list[bool]) -> bool:
        """After a 401: renew the credentials once (``OAuth2``'s ``on_refused``) if possible."""
        if not renewal[0]:
            return False
        renewal[0] = False
        log.info("%s: 401; renewing the credentials once", self.name)
        return bool(self.session.auth.refresh())  # type: ignore[union-attr]

    def _attempt(self, method: str, url: str, attempt: int, may_resend: bool,
                 started: float, kwargs: dict[str, Any], renewal: list[bool]
                 ) -> requests.Response:
        """One attempt: its response, ``Again`` when another may pass, or the final error."""
        interrupt.check()
        if self.budget is not None:
            self.budget.before_request()
        self.requests += 1
        what = f"{method} {_path(url)}"
        try:
            sent = time.monotonic()
            # credentials are put on in this thread (a token provider may use the state
            # file, whose connection is this thread's); only the exchange runs on a worker
            prepared, options = self._prepare(method, url, kwargs)
            if self.interruptible:
                response = run_interruptibly(
                    lambda: self._send(prepared, options, what, sent), f"{self.name} {what}",
                    write=method not in _READS)
            else:
                response = self._send(prepared, options, what, sent)
        except (requests.ConnectionError, requests.Timeout) as exc:
            reason = type(exc).__name__
            unsent = never_sent(exc)
            if attempt > self.retries or self._impatient(started) or (
                    unsent is None and not may_resend):
                if unsent is not None:
                    raise Unreachable(f"{self.name} {what}: not sent, {unsent} "
                                      f"({self.safe_base_url}, {attempt} attempt(s))",
                                      where=self.safe_base_url) from None
                message = f"{self.name} {what}: {reason} after {attempt} attempt(s)"
                if attempt > 1:  # not a fluke of this one request
                    raise SystemUnavailable(message, where=self.safe_base_url) from None
                raise TransientError(message) from None
            # a request that never left may be sent again, whatever its method
            raise Again(f"{what}: {unsent or reason}", started=started) from None
        if self.budget is not None:
            self.budget.after_response(response)
        status = response.status_code
        log.debug("%s %s %s -> %s", self.name, method, _path(url), status)
        if status < 400:
            if self.answers_json and is_web_page(response):
                # a maintenance page served as a success: an outage, retried like a 503
                if may_resend and attempt <= self.retries and not self._impatient(started):
                    raise Again(f"{what}: an HTML page where JSON belongs", started=started)
                text = response.content.decode(response.encoding or "utf-8", "replace")
                raise MaintenancePage(
                    f"{self.name} {what}: answered an HTML page (text/html), not JSON "
                    f"({self._unsecret(page_title(text))!r}; down for maintenance, or a "
                    f"proxy's page), {attempt} attempt(s)", where=self.safe_base_url)
            return response
        if status == 401 and self._renew(renewal):
            raise Again(f"{what}: 401, credentials renewed", at_once=True)
        if status in RETRY_STATUS and attempt <= self.retries and (
            may_resend or status == 429
        ) and (status == 429 or not self._impatient(started)):
            raise Again(f"{what}: {status}", retry_after=response.headers.get("Retry-After"),
                        started=None if status == 429 else started)
        try:
            said = self._unsecret(self.describe_error(response))
        except RecursionError:
            said = f"an error body nested deeper than {self.limits.max_json_depth}"
        message = f"{self.name} {what}: {status} {said}"
        body = None
        if status not in RETRY_STATUS:
            try:
                body = response.json()
            except ValueError:
                body = None
        raise self.errors.error(
            status, message, body=body, attempts=attempt, where=self.safe_base_url,
            refused_hint=self.refused_hint,
            refused=f"{self.name} refused the credentials ({status} {said} on {what}); "
                    f"{self.refused_hint}")

    def _prepare(self, method: str, url: str, kwargs: dict[str, Any]
                 ) -> tuple[requests.PreparedRequest, dict[str, Any]]:
        """What ``Session.request`` does before it sends: the request, and how to send it."""
        built = {k: v for k, v in kwargs.items() if k in _REQUEST_PARTS}
        options = {k: v for k, v in kwargs.items() if k not in _REQUEST_PARTS}
        prepared = self.session.prepare_request(requests.Request(method, url, **built))
        settings = self.session.merge_environment_settings(
            prepared.url or url, options.pop("proxies", None) or {}, options.pop("stream", None),
            options.pop("verify", None), options.pop("cert", None))
        options.setdefault("allow_redirects", True)
        return prepared, {**options, **settings}

    def _send(self, prepared: requests.PreparedRequest, options: dict[str, Any], what: str,
              sent: float) -> requests.Response:
        response = self.session.send(prepared, **options)
        self._read_body(response, what, sent)
        return response

    def _read_body(self, response: requests.Response, what: str, sent: float) -> None:
        """Read the body in pieces under the size cap and the request's deadline.

        ``timeout`` bounds each read of the socket, not the request: a body
        trickling one byte a second would never end. The deadline is checked
        after every piece, and each piece is what the socket had
        (``read1``), so a trickle is cut within a read timeout of it. The
        body read becomes the response's content, and its ``json()`` keeps
        to the depth bound.
        """
        limits = self.limits
        cap = limits.max_response_bytes
        deadline = sent + limits.request_deadline
        told = response.headers.get("Content-Length", "")
        if told.isdigit() and int(told) > cap and "gzip" not in response.headers.get(
                "Content-Encoding", ""):
            response.close()
            raise AnswerOutOfBounds(f"{self.name} {what}: the answer is {int(told):,} bytes, "
                                    f"more than the {cap:,} allowed (max_response_bytes)")
        pieces: list[bytes] = []
        size = 0
        try:
            for piece in _pieces(response):
                size += len(piece)
                if size > cap:
                    raise AnswerOutOfBounds(f"{self.name} {what}: the answer passed the "
                                            f"{cap:,} bytes allowed (max_response_bytes)")
                if time.monotonic() > deadline:
                    raise AnswerOutOfBounds(
                        f"{self.name} {what}: the answer took longer than the "
                        f"{limits.request_deadline:g} s allowed (request_deadline)")
                if not self.interruptible:  # else the caller abandons it (``inflight``)
                    interrupt.check()
                pieces.append(piece)
        except BaseException:
            response.close()
            raise
        response._content = b"".join(pieces)
        response._content_consumed = True
        depth = limits.max_json_depth
        name = self.name

        def bounded_json(**kwargs: Any) -> Any:
            return decode_json(response, depth, f"{name} {what}", **kwargs)

        setattr(response, "json", bounded_json)  # noqa: B010 - every caller's json() is bounded

    def _unsecret(self, text: str) -> str:
        """An API may quote back the key it refused: never let it reach a message."""
        secrets = [str(v) for k, v in self.session.headers.items()
                   if k.lower() in SECRET_HEADERS]
        secrets.extend(secrets_of(self.session.auth))
        for secret in sorted(secrets, key=len, reverse=True):
            for part in (secret, *secret.split()):  # "Bearer <token>": the token alone too
                if len(part) >= 6 and part.lower() != "bearer":
                    text = text.replace(part, "***")
        # an auth object (Exact's bearer token) and every other secret talk knows of
        return talk_secrets.redact(text)

    def _impatient(self, started: float) -> bool:
        """Whether this request has spent the time a system that does not serve is given."""
        return time.monotonic() - started >= self._patience_now()

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def decode_json(response: requests.Response, max_depth: int, what: str = "answer",
                **kwargs: Any) -> Any:
    """``response``'s JSON, refused when it nests deeper than ``max_depth``.

    Python's decoder recurses: JSON nested a hundred thousand deep raises
    ``RecursionError``, which would end the run with a traceback. The bytes
    are scanned for their bracket depth first (strings skipped), so nothing
    deep is ever decoded. A body that is not JSON raises ``ValueError`` as
    ``requests`` does.
    """
    content = response.content or b""
    opened = content.count(b"[") + content.count(b"{")
    deepest = json_depth(content) if opened > max_depth else 0
    if deepest > max_depth:
        raise AnswerOutOfBounds(f"{what}: the JSON answer nests {deepest:,} deep, more than "
                                f"the {max_depth} allowed (max_json_depth)")
    try:
        return requests.Response.json(response, **kwargs)
    except RecursionError:
        raise AnswerOutOfBounds(f"{what}: the JSON answer nests too deep to decode "
                                "(max_json_depth)") from None


_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_OPEN = re.compile(rb"[\[{]")


def json_depth(content: bytes) -> int:
    """How deeply JSON ``content`` nests its arrays and objects (brackets in strings ignored).

    Cheap for what APIs send: bodies without a quote or bracket inside their
    strings pass on one C-level scan of the bytes.
    """
    depth = deepest = 0
    if not _OPEN.search(content):
        return 0
    for found in _STRUCTURE.finditer(content):
        char = found.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif char in (b"]", b"}"):
            depth -= 1
    return deepest


def path_segment(value: Any, what: str) -> str:
    """A record id as one path segment: percent-encoded, and never ``.``, ``..`` or empty.

    An id from another system or the store is data: ``1001/../../invoices/9``
    or ``7#`` put into a path as it is would address another record;
    ``.`` and ``..`` name the collection or the base even when encoded.
    """
    text = str(value) if value is not None else ""
    if text.strip() in ("", ".", ".."):
        raise RecordError(f"{what}: {text!r} cannot be a record id; nothing was sent")
    return quote(text, safe="")


def _pieces(response: requests.Response) -> Any:
    """The body as the socket gives it: ``read1`` returns what has come, never waits to fill."""
    raw = response.raw
    read1 = getattr(raw, "read1", None)
    if read1 is None or not hasattr(raw, "stream"):
        yield from response.iter_content(64 * 1024)
        return
    try:
        while True:
            piece = read1(64 * 1024, decode_content=True)
            if not piece:
                return
            yield piece
    except Exception as exc:  # as iter_content: urllib3's failures in requests' terms
        from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

        if isinstance(exc, ReadTimeoutError):
            raise requests.ConnectionError(exc) from None
        if isinstance(exc, ProtocolError):
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        if isinstance(exc, DecodeError):
            raise requests.exceptions.ContentDecodingError(exc) from None
        raise


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_BLANKS = "".join(chr(c) for c in range(33)) + "\x7f"


def _clean_link(link: str) -> str:
    """A link as a browser reads it: no surrounding blanks or control characters, no tabs
    or line breaks inside."""
    text = str(link).strip(_BLANKS)
    return re.sub(r"[\t\r\n]", "", text)


def _origin_key(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port, each as the network sees it (the scheme in lower case)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return (scheme, "\0invalid port", None)
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parts.hostname or "").lower().rstrip("."), port)


def _safe_link(url: str) -> str:
    """A link as a message may name it: no user info, no query (either may carry a key)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


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
