"""A token refresh that could not connect: the request it came before was not sent either."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError

from talk_core.config import Secret
from talk_core.errors import AccessDenied, NotSent
from talk_core.system import SystemContext
from talk_exactonline.plugin import make_connector

BASE = "https://start.exactonline.nl"
TOKEN_URL = f"{BASE}/api/oauth2/token"
SECRET = "client-secret-value"
GUID = "6f1c4a9e-8a7b-4c2d-9e0f-1a2b3c4d5e6f"


def options(base: str = BASE) -> dict[str, Any]:
    return {"base_url": base, "client_id": "cid", "client_secret": Secret(SECRET),
            "refresh_token": Secret("first-refresh"), "division": 5}


def _refused() -> requests.ConnectionError:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        try:
            raise NewConnectionError(None, "Failed to establish a new connection") from cause
        except NewConnectionError as inner:
            return requests.ConnectionError(MaxRetryError(None, "/api/oauth2/token", inner))


def test_a_refresh_that_cannot_connect_is_not_sent_and_nothing_else_is_sent(store: Any) -> None:
    conn = make_connector(options=options(), context=SystemContext("exact", store),
                          sleep=lambda _s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, body=_refused())
        accounts = rsps.add(responses.GET, f"{BASE}/api/v1/5/crm/Accounts",
                            json={"d": {"results": []}})
        with pytest.raises(NotSent) as caught:
            conn.get("Accounts", GUID)
        assert accounts.call_count == 0
    message = str(caught.value)
    assert "connection was refused" in message and BASE in message
    assert SECRET not in message and "first-refresh" not in message
    conn.close()


def test_a_refused_refresh_stays_access_denied(store: Any) -> None:
    conn = make_connector(options=options(), context=SystemContext("exact", store),
                          sleep=lambda _s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.POST, TOKEN_URL, status=400,
                 json={"error": "invalid_grant", "error_description": "expired"})
        with pytest.raises(AccessDenied) as caught:
            conn.get("Accounts", GUID)
    assert not isinstance(caught.value, NotSent)
    conn.close()


def test_a_closed_loopback_port_for_the_whole_system_is_not_sent(store: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conn = make_connector(options=options(f"http://127.0.0.1:{port}"),
                          context=SystemContext("exact", store), sleep=lambda _s: None)
    with pytest.raises(NotSent, match="refused"):
        conn.create("Accounts", {"Name": "Molen BV"}, key="k" * 32)
    conn.close()
