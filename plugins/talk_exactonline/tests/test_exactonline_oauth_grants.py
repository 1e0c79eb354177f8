"""The grants as authlib sends them, and the answers talk still reads itself."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from talk_core.config import Secret
from talk_core.system import SystemContext
from talk_exactonline.oauth import ExactAuthError, token_manager

BASE = "https://start.exactonline.nl"
TOKEN_URL = f"{BASE}/api/oauth2/token"
SECRET = "client-secret-value"


def manager(store: Any) -> Any:
    return token_manager({"base_url": BASE, "client_id": "cid",
                          "client_secret": Secret(SECRET),
                          "refresh_token": Secret("first-refresh")},
                         SystemContext("exact", store), clock=lambda: 1_700_000_000.0)


def test_an_answer_without_a_new_refresh_token_is_refused_not_patched(store: Any) -> None:
    # authlib would carry the refresh token sent into the new token; Exact killed that one
    m = manager(store)
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json={"access_token": "a1", "token_type": "bearer",
                                   "expires_in": "600"})
        with pytest.raises(ExactAuthError, match="answered without tokens"):
            m.access_token()
    assert store.get_token("exact") is None


@pytest.mark.parametrize("lifetime", ["ten minutes", [600], None])
def test_a_lifetime_authlib_cannot_read_still_gives_the_tokens(store: Any,
                                                               lifetime: Any) -> None:
    m = manager(store)
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json={"access_token": "a1", "refresh_token": "r1",
                                   "expires_in": lifetime})
        assert m.access_token() == "a1"
    saved = store.get_token("exact")
    assert saved["refresh_token"] == "r1"
    assert saved["expires_at"] == 1_700_000_600.0  # Exact's ten minutes, taken as given


def test_a_2xx_answer_naming_an_error_is_a_refusal_without_secrets(store: Any) -> None:
    m = manager(store)
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json={"error": "invalid_grant",
                                   "error_description": f"bad first-refresh for {SECRET}"})
        with pytest.raises(ExactAuthError) as caught:
            m.access_token()
    message = str(caught.value)
    assert "refused to refresh the token of 'exact' (200 bad *** for ***)" in message
    assert "talk auth exactonline --system exact" in message
    assert SECRET not in message and "first-refresh" not in message
    assert store.get_token("exact") is None


def test_the_code_grant_sends_the_client_in_the_form(store: Any) -> None:
    m = manager(store)
    sent: list[dict[str, str]] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        sent.append({k: v[-1] for k, v in parse_qs(str(request.body)).items()})
        assert "Authorization" not in request.headers  # client_secret_post, not Basic
        return 200, {}, json.dumps({"access_token": "a1", "refresh_token": "r1",
                                    "expires_in": 600})

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.POST, TOKEN_URL, callback=answer)
        token = m.authorize("the-code", "http://127.0.0.1:8765/callback")
    assert sent == [{"grant_type": "authorization_code", "code": "the-code",
                     "redirect_uri": "http://127.0.0.1:8765/callback",
                     "client_id": "cid", "client_secret": SECRET}]
    assert token["refresh_token"] == "r1" and token["expires_at"] == 1_700_000_600.0
    assert store.get_token("exact")["refresh_token"] == "r1"


def test_the_authorization_url_asks_for_a_code_with_exacts_parameters(store: Any) -> None:
    url = manager(store).authorization_url("http://127.0.0.1:8765/callback", "st4te")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/api/oauth2/auth"
    assert {k: v[-1] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "cid", "redirect_uri": "http://127.0.0.1:8765/callback",
        "response_type": "code", "state": "st4te", "force_login": "0"}
    assert SECRET not in url
