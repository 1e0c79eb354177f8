"""Exact Online's rotating OAuth2 tokens, kept so that the chain never breaks.

Every refresh returns a new refresh token and kills the old one, so a lost
or doubly used refresh token means a person must authorise again. Hence:
tokens live in the state store, as notes written at once; a refresh happens
under an OS file lock (``talk_core.store.file_lock``) shared by every
process using that store, the store is re-read after the
lock is taken (another process may have refreshed already), and the new
token is written to the store before the access token is used. Exact
refuses refreshes earlier than about 570 s after issue, and clients refresh
about 30 s before the 10-minute expiry.
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
from urllib.parse import urlencode

import requests

from talk_core import secrets as talk_secrets
from talk_core.errors import AccessDenied, ConfigError
from talk_core.http import HttpClient, HttpStatusError
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

    def _exchange(self, form: dict[str, str]) -> dict[str, Any]:
        """POST to the token endpoint; whatever tokens come back are saved before use.

        A refusal says what was refused: a refresh token (authorise again) or
        an authorisation code (mistyped, used already or expired: get a new one).
        """
        form = {**form, "client_id": self.client_id, "client_secret": str(self._client_secret)}
        talk_secrets.add(*(form.get(k) for k in ("client_secret", "refresh_token", "code")))
        now = self.clock()
        try:
            response = self.http.request("POST", TOKEN_PATH, data=form,
                                         headers={"Accept": "application/json"})
        except HttpStatusError as exc:
            body = exc.body
            if isinstance(body, dict) and body.get("access_token") and body.get(
                    "refresh_token"):
                self.tokens.save(_token_from_answer(body, now))
            reason = ""
            if isinstance(body, dict):
                # the endpoint may quote back what it was sent: the secret, the refresh token
                reason = talk_secrets.redact(
                    str(body.get("error_description") or body.get("error") or ""))
            why = f"{exc.status} {reason or 'no reason given'}"
            if form.get("grant_type") == "authorization_code":
                raise ExactAuthError(
                    f"Exact Online refused the authorisation code for {self.name!r} ({why}): "
                    "a code is good for one use within a few minutes, so it may be mistyped, "
                    "used already or expired; run `talk auth exactonline --system "
                    f"{self.name}` again for a new one") from None
            raise ExactAuthError(
                f"Exact Online refused to refresh the token of {self.name!r} ({why}); "
                + AGAIN.format(name=self.name)) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        token = _token_from_answer(body, now)
        self.tokens.save(token)
        log.info("Exact Online token of %s refreshed", self.name)
        return token

    def authorization_url(self, redirect_uri: str, state: str | None = None) -> str:
        query = urlencode({"client_id": self.client_id, "redirect_uri": redirect_uri,
                           "response_type": "code", "state": state or secrets.token_urlsafe(16),
                           "force_login": "0"})
        return self.http.url(AUTH_PATH) + "?" + query

    def authorize(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """Trade an authorisation code for the first tokens, under the same lock."""
        with self.tokens.locked():
            token = self._exchange({"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": redirect_uri})
        self._token = token
        return token

    def close(self) -> None:
        self.http.close()


class BearerAuth(requests.auth.AuthBase):
    """Puts a current access token on every request, refreshing first when it is due."""

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self.manager.access_token()
        return request

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
