"""Exact Online's rotating OAuth2 tokens, kept so that the chain never breaks.

Every refresh returns a new refresh token and kills the old one, so a lost
or doubly used refresh token means a person must authorise again. Hence:
tokens live in the state store, as notes written at once; a refresh happens
under an OS file lock shared by every process using that store
(``talk_core.store.file_lock``), the store is re-read after the lock is
taken (another process may have refreshed already), and the new token is
written to the store before the access token is used. Exact refuses
refreshes earlier than about 570 s after issue, and clients refresh about
30 s before the 10-minute expiry.

The grants themselves (authorisation code, refresh token) are authlib's
``OAuth2Session``; when to refresh, where tokens live and the lock are
talk's, since authlib's refresh-on-use knows neither the lock nor Exact's
570 s rule, and it would keep a dead refresh token when an answer lacks one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from talk_core import secrets as talk_secrets
from talk_core.errors import AccessDenied, ConfigError
from talk_core.http import HttpClient, HttpStatusError
from talk_core.rest import OAuth2
from talk_core.store import file_lock, private
from talk_core.system import SystemContext

log = logging.getLogger("talk.exactonline")

DEFAULT_BASE_URL = "https://start.exactonline.nl"
DEFAULT_REDIRECT = "http://127.0.0.1:8765/callback"
REFRESH_MARGIN = 30.0
MIN_REFRESH_AGE = 570.0
TOKEN_PATH = "api/oauth2/token"
AUTH_PATH = "api/oauth2/auth"
#: the note of the instance that holds its token (``NoteStore``)
TOKEN_NOTE = "token"
AGAIN = "run `talk auth exactonline --system {name}` to authorise talk again"
#: before the first authorisation: there is nothing to do again yet
FIRST = "run `talk auth exactonline --system {name}` to authorise talk"


class ExactAuthError(AccessDenied):
    """Exact refused talk's tokens: only a person can fix it, by authorising again."""


class TokenStore:
    """Where one system instance's token lives, and the lock that serialises refreshes.

    The token is the instance's note ``token`` in the state store, written
    ``at_once``: committed before it is used, whatever transaction the run
    holds, and kept through a dry run's rollback (the store sees to both).
    """

    def __init__(self, name: str, store: Any, lock_path: str | None = None) -> None:
        self.name = name
        self.store = store
        path = getattr(store, "path", None)
        on_disk = isinstance(path, str) and path not in ("", ":memory:")
        self.lock_path = lock_path or (f"{path}.exact-token.lock" if on_disk else None)
        self._thread_lock = threading.RLock()

    def load(self) -> dict[str, Any] | None:
        if self.store is None:
            return None
        token = self.store.get_note(self.name, TOKEN_NOTE)
        return token if isinstance(token, dict) else None

    def save(self, token: dict[str, Any]) -> None:
        if self.store is None:
            raise ExactAuthError("no state store to keep Exact Online's rotating tokens in")
        self.store.put_note(self.name, TOKEN_NOTE, token, at_once=True)

    def load_note(self, kind: str) -> dict[str, Any] | None:
        """Something else this instance keeps between runs (``"budget"``), beside its token."""
        if self.store is None:
            return None
        note = self.store.get_note(self.name, kind)
        return note if isinstance(note, dict) else None

    def save_note(self, kind: str, note: dict[str, Any]) -> None:
        if self.store is None:
            return
        self.store.put_note(self.name, kind, note, at_once=True)

    def forget_note(self, kind: str) -> None:
        if self.store is not None:
            self.store.delete_note(self.name, kind, at_once=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One refresh at a time, across threads and processes."""
        with self._thread_lock:
            if self.lock_path is None:
                yield
                return
            fd = private.open_private(self.lock_path, os.O_RDWR | os.O_CREAT, "token lock file")
            try:
                file_lock.lock(fd)
            except BaseException:
                os.close(fd)
                raise
            try:
                yield
            finally:
                try:
                    file_lock.unlock(fd)
                finally:
                    os.close(fd)


def _token_from_answer(body: Any, now: float) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("access_token") or not body.get(
            "refresh_token"):
        raise ExactAuthError("Exact Online's token endpoint answered without tokens")
    talk_secrets.add(body["access_token"], body["refresh_token"])
    try:
        lifetime = float(body.get("expires_in", 600))
    except (TypeError, ValueError):
        lifetime = 600.0
    return {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
            "issued_at": now, "expires_at": now + lifetime}


class _TokenSession(OAuth2Session):
    """authlib's OAuth2 client whose token requests go out through talk's ``HttpClient``.

    authlib builds the grant's form and puts the client's credentials on it;
    ``HttpClient`` sends it, under its bounds and with its errors (a 4xx is
    an ``HttpStatusError`` holding the answer, a 5xx or no connection the
    system's unavailability). authlib's own refreshing on use
    (``ensure_active_token``) is not used: Exact's refresh must happen under
    the cross-process lock, after re-reading the state, and not before 570 s.
    """

    def __init__(self, http: HttpClient, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http = http

    def post(self, url: str | bytes, data: Any = None, json: Any = None,
             **kwargs: Any) -> requests.Response:
        return self._http.request("POST", str(url), data=data, json=json, **kwargs)

    def __repr__(self) -> str:
        return "_TokenSession(<redacted>)"


def _keep(answers: list[requests.Response]) -> Callable[[requests.Response], requests.Response]:
    """A compliance hook that keeps the token endpoint's raw answer.

    authlib fills a missing refresh token in from the one sent; after a
    rotation that one is dead, so talk reads the tokens from the answer itself.
    """
    def hook(response: requests.Response) -> requests.Response:
        answers.append(response)
        return response
    return hook


def _why(status: int, body: Any) -> str:
    """Why Exact refused, as it said it: the endpoint may quote back the secret or token sent."""
    reason = ""
    if isinstance(body, dict):
        reason = talk_secrets.redact(
            str(body.get("error_description") or body.get("error") or ""))
    return f"{status} {reason or 'no reason given'}"


def _json_of(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class TokenManager:
    """Hands out a valid access token, refreshing it when (and only when) it must."""

    def __init__(self, name: str, tokens: TokenStore, *, base_url: str, client_id: str,
                 client_secret: str, initial_refresh_token: str | None = None,
                 clock: Callable[[], float] = time.time, verify: bool = True) -> None:
        self.name = name
        self.tokens = tokens
        self.client_id = client_id
        self._client_secret = client_secret
        self._initial = initial_refresh_token
        talk_secrets.add(client_secret, initial_refresh_token)
        self.clock = clock
        # a refused refresh says why and how to authorise again (_exchange)
        self.http = HttpClient(base_url, name="Exact Online OAuth", retries=0, verify=verify,
                               refused_hint=None)
        self._token: dict[str, Any] | None = None
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenManager({self.name!r})"

    def _fresh(self, token: dict[str, Any] | None) -> bool:
        return bool(token) and self.clock() < float(token["expires_at"]) - REFRESH_MARGIN  # type: ignore[index]

    def access_token(self) -> str:
        if not self._fresh(self._token):
            self._token = self.tokens.load()
            if self._token:
                talk_secrets.add(self._token.get("access_token"), self._token.get("refresh_token"))
        if not self._fresh(self._token):
            self._token = self._refresh(stale=self._token)
        assert self._token is not None
        return str(self._token["access_token"])

    def refresh_after_401(self) -> str:
        """The access token was refused: refresh once, unless another process already did."""
        self._token = self._refresh(stale=self._token, refused=True)
        return str(self._token["access_token"])

    def _refresh(self, *, stale: dict[str, Any] | None, refused: bool = False
                 ) -> dict[str, Any]:
        with self.tokens.locked():
            current = self.tokens.load()
            if current:
                talk_secrets.add(current.get("access_token"), current.get("refresh_token"))
            moved_on = current is not None and (
                stale is None or current.get("access_token") != stale.get("access_token"))
            if moved_on and self._fresh(current) and not (refused and stale is None):
                # another process refreshed while we waited for the lock
                return current  # type: ignore[return-value]
            if current is None:
                if not self._initial:
                    raise ExactAuthError(f"Exact Online system {self.name!r} is not "
                                         "authorised yet (talk holds no token for it); "
                                         + FIRST.format(name=self.name))
                refresh_token = self._initial
            else:
                refresh_token = str(current["refresh_token"])
                age = self.clock() - float(current.get("issued_at", 0))
                if age < MIN_REFRESH_AGE and not refused:
                    # Exact would refuse ("access_token not expired"); the token still serves
                    return current
            token = self._exchange({"grant_type": "refresh_token",
                                    "refresh_token": refresh_token})
            self.refreshes += 1
            return token

    def _exchange(self, grant: dict[str, str]) -> dict[str, Any]:
        """Ask the token endpoint (through authlib); whatever tokens come back are saved first.

        A refusal says what was refused: a refresh token (authorise again) or
        an authorisation code (mistyped, used already or expired: get a new one).
        """
        talk_secrets.add(*(grant.get(k) for k in ("refresh_token", "code")))
        now = self.clock()
        session = self._session()
        answers: list[requests.Response] = []
        session.register_compliance_hook("access_token_response", _keep(answers))
        session.register_compliance_hook("refresh_token_response", _keep(answers))
        url = self.http.url(TOKEN_PATH)
        refused: str | None = None  # why, when Exact refused
        body: Any = None
        try:
            if grant["grant_type"] == "authorization_code":
                session.fetch_token(url, grant_type="authorization_code", code=grant["code"],
                                    redirect_uri=grant["redirect_uri"])
            else:
                session.refresh_token(url, refresh_token=grant["refresh_token"])
        except HttpStatusError as exc:  # a 4xx: HttpClient kept the answer
            refused, body = _why(exc.status, exc.body), exc.body
        except OAuthError as exc:  # a 2xx answer naming an error
            refused = _why(answers[-1].status_code if answers else 200,
                           {"error": exc.error, "error_description": exc.description})
        except (ValueError, TypeError):
            # an answer authlib cannot take as a token: the raw answer decides below
            body = None
        finally:
            session.close()
        if answers:
            body = _json_of(answers[-1])
        token: dict[str, Any] | None = None
        if isinstance(body, dict) and body.get("access_token") and body.get("refresh_token"):
            # saved before use, and even as Exact refuses: the old refresh token may be dead
            token = _token_from_answer(body, now)
            self.tokens.save(token)
        if refused is not None and grant["grant_type"] == "authorization_code":
            raise ExactAuthError(
                f"Exact Online refused the authorisation code for {self.name!r} ({refused}): "
                "a code is good for one use within a few minutes, so it may be mistyped, "
                "used already or expired; run `talk auth exactonline --system "
                f"{self.name}` again for a new one") from None
        if refused is not None:
            raise ExactAuthError(
                f"Exact Online refused to refresh the token of {self.name!r} ({refused}); "
                + AGAIN.format(name=self.name)) from None
        if token is None:
            token = _token_from_answer(body, now)  # refuses an answer without both tokens
        log.info("Exact Online token of %s refreshed", self.name)
        return token

    def _session(self) -> _TokenSession:
        """authlib's client for one exchange: it builds the grant and the client's credentials.

        ``client_secret_post``: Exact takes the client's id and secret in the
        form, not in a Basic header. The answer is read by talk's HttpClient
        (its size, time and depth bounds, its errors).
        """
        return _TokenSession(self.http, client_id=self.client_id,
                             client_secret=str(self._client_secret),
                             token_endpoint_auth_method="client_secret_post")

    def authorization_url(self, redirect_uri: str, state: str | None = None) -> str:
        session = self._session()
        try:
            url, _ = session.create_authorization_url(
                self.http.url(AUTH_PATH), state=state or secrets.token_urlsafe(16),
                redirect_uri=redirect_uri, force_login="0")
        finally:
            session.close()
        return str(url)

    def authorize(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """Trade an authorisation code for the first tokens, under the same lock."""
        with self.tokens.locked():
            token = self._exchange({"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": redirect_uri})
        self._token = token
        return token

    def close(self) -> None:
        self.http.close()


class BearerAuth(OAuth2):
    """The transport's ``OAuth2`` over the token manager: a current access token on every
    request (refreshed first when it is due), and one refresh after a 401."""

    def __init__(self, manager: TokenManager) -> None:
        super().__init__(manager.access_token, on_refused=manager.refresh_after_401)
        self.manager = manager

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


def token_manager(options: dict[str, Any], context: SystemContext, *,
                  clock: Callable[[], float] = time.time) -> TokenManager:
    base_url = str(options.get("base_url") or DEFAULT_BASE_URL)
    if not options.get("client_id") or not options.get("client_secret"):
        raise ConfigError(f"[systems.{context.name}]: client_id and client_secret are required")
    return TokenManager(context.name, TokenStore(context.name, context.store),
                        base_url=base_url, client_id=str(options["client_id"]),
                        client_secret=options["client_secret"],
                        initial_refresh_token=options.get("refresh_token") or None,
                        clock=clock, verify=True)
