"""Token rotation, refresh timing, persistence before use, and the 401 rule, with `responses`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses

from talk_core.config import Secret
from talk_core.store.sqlite import SQLiteStore
from talk_core.system import SystemContext
from talk_exactonline.oauth import ExactAuthError, token_manager
from talk_exactonline.plugin import make_connector

BASE = "https://start.exactonline.nl"
TOKEN_URL = f"{BASE}/api/oauth2/token"
ME_URL = f"{BASE}/api/v1/current/Me"
SECRET = "client-secret-value"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def options(**extra: Any) -> dict[str, Any]:
    return {"base_url": BASE, "client_id": "cid", "client_secret": Secret(SECRET),
            "refresh_token": Secret("first-refresh"), **extra}


def token_answers(rsps: responses.RequestsMock, count: int) -> list[dict[str, str]]:
    """Register ``count`` rotating token answers; answers the forms that were sent."""
    sent: list[dict[str, str]] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        form = {k: v[-1] for k, v in parse_qs(str(request.body)).items()}
        sent.append(form)
        n = len(sent)
        return 200, {}, json.dumps({"access_token": f"access-{n}", "token_type": "bearer",
                                    "expires_in": "600", "refresh_token": f"refresh-{n}"})

    rsps.add_callback(responses.POST, TOKEN_URL, callback=answer)
    return sent


def test_first_refresh_comes_from_config_and_rotation_is_persisted(store: Any) -> None:
    clock = Clock()
    manager = token_manager(options(), SystemContext("exact", store), clock=clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sent = token_answers(rsps, 3)
        assert manager.access_token() == "access-1"
        assert sent[0]["refresh_token"] == "first-refresh"
        assert sent[0]["grant_type"] == "refresh_token"
        assert sent[0]["client_secret"] == SECRET
        assert store.get_token("exact")["refresh_token"] == "refresh-1"
        # still valid: no call
        clock.now += 500
        assert manager.access_token() == "access-1"
        assert len(sent) == 1
        # 30 s before expiry: refresh with the rotated token
        clock.now += 71
        assert manager.access_token() == "access-2"
        assert sent[1]["refresh_token"] == "refresh-1"
        assert store.get_token("exact")["refresh_token"] == "refresh-2"


def test_a_stored_token_wins_over_the_configured_one(store: Any) -> None:
    clock = Clock()
    store.put_token("exact", {"access_token": "old", "refresh_token": "stored-refresh",
                              "issued_at": clock.now - 590, "expires_at": clock.now + 10})
    manager = token_manager(options(), SystemContext("exact", store), clock=clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sent = token_answers(rsps, 1)
        assert manager.access_token() == "access-1"
    assert sent[0]["refresh_token"] == "stored-refresh"


def test_no_refresh_earlier_than_exact_allows(store: Any) -> None:
    clock = Clock()
    # a token that claims to expire soon but was issued a minute ago
    store.put_token("exact", {"access_token": "young", "refresh_token": "r",
                              "issued_at": clock.now - 60, "expires_at": clock.now + 20})
    manager = token_manager(options(), SystemContext("exact", store), clock=clock)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        token_answers(rsps, 1)
        assert manager.access_token() == "young"
        assert len(rsps.calls) == 0


def test_another_process_refreshed_meanwhile(store: Any) -> None:
    clock = Clock()
    store.put_token("exact", {"access_token": "a1", "refresh_token": "r1",
                              "issued_at": clock.now - 590, "expires_at": clock.now + 10})
    manager = token_manager(options(), SystemContext("exact", store), clock=clock)
    manager._token = store.get_token("exact")
    # another process rotates the chain after we loaded it
    store.put_token("exact", {"access_token": "a2", "refresh_token": "r2",
                              "issued_at": clock.now, "expires_at": clock.now + 600})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        token_answers(rsps, 1)
        assert manager.refresh_after_401() == "a2"
        assert len(rsps.calls) == 0


def test_new_token_is_persisted_before_it_is_used(store: Any) -> None:
    clock = Clock()
    conn = make_connector(options=options(division=5), context=SystemContext("exact", store))
    conn.tokens.clock = clock
    seen: list[str] = []

    def api(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        seen.append(SQLiteStore(store.path).get_token("exact")["refresh_token"])
        assert request.headers["Authorization"] == "Bearer access-1"
        return 200, {}, json.dumps({"d": {"results": []}})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        token_answers(rsps, 1)
        rsps.add_callback(responses.GET, f"{BASE}/api/v1/5/crm/Accounts", callback=api)
        assert conn.get("Accounts", "6f1c4a9e-8a7b-4c2d-9e0f-1a2b3c4d5e6f") is None
    assert seen == ["refresh-1"]
    conn.close()


def test_a_401_refreshes_once_then_fails_with_instructions(store: Any) -> None:
    clock = Clock()
    conn = make_connector(options=options(division=5), context=SystemContext("exact", store))
    conn.tokens.clock = clock
    url = f"{BASE}/api/v1/5/crm/Accounts"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        sent = token_answers(rsps, 3)
        rsps.add(responses.GET, url, status=401, json={"error": {"message": {"value": "no"}}})
        rsps.add(responses.GET, url, json={"d": {"results": []}})
        assert conn.get("Accounts", "6f1c4a9e-8a7b-4c2d-9e0f-1a2b3c4d5e6f") is None
        assert len(sent) == 2, "one refresh for the first token, one after the 401"
        rsps.replace(responses.GET, url, status=401, json={"error": {"message": {"value": "no"}}})
        clock.now += 1
        with pytest.raises(ExactAuthError) as caught:
            conn.get("Accounts", "6f1c4a9e-8a7b-4c2d-9e0f-1a2b3c4d5e6f")
    message = str(caught.value)
    assert "talk auth exactonline --system exact" in message
    assert SECRET not in message and "refresh-" not in message and "access-" not in message
    conn.close()


def test_old_refresh_token_used_tells_the_user_to_authorise_again(store: Any) -> None:
    manager = token_manager(options(), SystemContext("exact", store), clock=Clock())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, status=401,
                 json={"error": "invalid_grant", "error_description": "Old refresh token used."})
        with pytest.raises(ExactAuthError) as caught:
            manager.access_token()
    assert "Old refresh token used" in str(caught.value)
    assert "talk auth exactonline" in str(caught.value)
    assert SECRET not in str(caught.value) and "first-refresh" not in str(caught.value)
    assert SECRET not in repr(manager)


def test_a_refused_refresh_that_still_rotated_is_kept(store: Any) -> None:
    manager = token_manager(options(), SystemContext("exact", store), clock=Clock())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, status=400,
                 json={"error": "access_denied", "access_token": "a9", "refresh_token": "r9",
                       "expires_in": "600"})
        with pytest.raises(ExactAuthError):
            manager.access_token()
    assert store.get_token("exact")["refresh_token"] == "r9"


def test_division_comes_from_current_me(store: Any) -> None:
    conn = make_connector(options=options(), context=SystemContext("exact", store))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        token_answers(rsps, 1)
        rsps.add(responses.GET, ME_URL, json={"d": {"results": [{"CurrentDivision": 77}]}})
        assert conn.division == 77
        assert conn.division == 77
        assert len([c for c in rsps.calls if "current/Me" in c.request.url]) == 1
    conn.close()


def test_a_token_refreshed_during_a_dry_run_survives_the_rollback(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    clock = Clock()
    manager = token_manager(options(), SystemContext("exact", store), clock=clock)
    store.begin_dry_run()
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            token_answers(rsps, 1)
            assert manager.access_token() == "access-1"
        # the run holds the state: the token waits beside it, private, until the rollback
        assert oct(Path(store.held_notes_path or "").stat().st_mode & 0o777) == "0o600"
        assert "refresh-1" in Path(store.held_notes_path or "").read_text()
    finally:
        store.end_dry_run()
    manager._token = None
    assert manager.tokens.load()["refresh_token"] == "refresh-1"
    assert oct(Path(store.held_notes_path or "").stat().st_mode & 0o777) == "0o600"
    store.close()
    again = SQLiteStore(tmp_path / "state.db")  # moved into the state itself
    assert again.get_token("exact")["refresh_token"] == "refresh-1"
    assert Path(store.held_notes_path or "").read_text() == ""
    again.close()
