"""Every URL a credential goes to is checked after joining; ids are one path segment each."""

from __future__ import annotations

from typing import Any

import pytest
import responses

from talk_core.config import Secret
from talk_core.errors import RecordError
from talk_core.http import ForeignLink, HttpClient, json_depth, path_segment
from talk_core.plugins import get_systems
from talk_core.system import SystemContext

BASE = "https://api.example.com/v1"
KEY = "sk_live_9a8b7c6d5e"


def client(base: str = BASE) -> HttpClient:
    return HttpClient(base, name="api", headers={"X-API-Key": KEY}, retries=0,
                      sleep=lambda _s: None)


@pytest.mark.parametrize("link", [
    "HTTP://api.example.com/v1/customers?page=2",      # downgrade, in capitals
    "Http://api.example.com/v1/customers",
    "HTTPS://evil.example.org/v1/customers",            # another host, in capitals
    " https://evil.example.org/v1/customers",           # a leading space
    "\thttps://evil.example.org/v1/customers",          # a leading tab
    "\x00https://evil.example.org/",                    # a control character
    "ht\ttps://evil.example.org/",                      # a tab inside the scheme
    "https://api.example.com:8443/v1/customers",        # another port
    "https://api.example.com.evil.example.org/",
    "ftp://api.example.com/v1/customers",
    "javascript:alert(1)",
])
def test_a_link_off_the_base_in_any_spelling_is_refused(link: str) -> None:
    with responses.RequestsMock() as rsps, pytest.raises(ForeignLink) as caught:
        client().get(link)
    assert len(rsps.calls) == 0
    assert "refusing to follow a link to another host or scheme" in str(caught.value)


@pytest.mark.parametrize(("link", "expected"), [
    ("customers?page=2", "https://api.example.com/v1/customers?page=2"),
    ("/customers", "https://api.example.com/v1/customers"),
    ("//evil.example.org/x", "https://api.example.com/v1/evil.example.org/x"),
    ("\n //evil.example.org/x", "https://api.example.com/v1/evil.example.org/x"),
    ("HTTPS://API.EXAMPLE.COM/v1/customers", "https://API.EXAMPLE.COM/v1/customers"),
    ("https://api.example.com:443/v1/x", "https://api.example.com:443/v1/x"),
    (" https://api.example.com/v1/x\t", "https://api.example.com/v1/x"),
])
def test_links_on_the_base_are_followed(link: str, expected: str) -> None:
    assert client().url(link) == expected


def test_the_refusal_names_the_link_without_its_credentials() -> None:
    with pytest.raises(ForeignLink) as caught:
        client().url("HTTP://user:hunter22pw@evil.example.org:8080/steal?api_key=sk_xyz_123")
    message = str(caught.value)
    assert "http://evil.example.org:8080/steal" in message
    assert "hunter22pw" not in message and "sk_xyz_123" not in message and KEY not in message


@pytest.mark.parametrize("location", ["HTTP://api.example.com/v1/next",
                                      "  https://evil.example.org/next",
                                      "Https://api.example.com:444/next"])
def test_a_redirect_off_the_base_is_refused_before_it_is_followed(location: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, f"{BASE}/customers", status=302,
                 headers={"Location": location})
        with pytest.raises(ForeignLink, match="redirect"):
            client().get("customers")
        assert [c.request.url for c in rsps.calls] == [f"{BASE}/customers"]


def test_json_depth_skips_brackets_inside_strings() -> None:
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, {"c": "]]]\\"[["}]}') == 3
    assert json_depth(b"[" * 5000 + b"]" * 5000) == 5000
    assert json_depth(b'"plain"') == 0


@pytest.mark.parametrize(("ident", "segment"), [
    ("1001/../../invoices/9", "1001%2F..%2F..%2Finvoices%2F9"), ("7#", "7%23"),
    ("a?b=c", "a%3Fb%3Dc"), ("42", "42"), ("...", "..."),
])
def test_ids_are_percent_encoded_into_one_segment(ident: str, segment: str) -> None:
    assert path_segment(ident, "x") == segment


@pytest.mark.parametrize("ident", [".", "..", "", " "])
def test_an_id_that_names_no_record_is_refused(ident: str) -> None:
    with pytest.raises(RecordError, match="cannot be a record id"):
        path_segment(ident, "x")


def invoiced() -> Any:
    spec = get_systems()["invoiced"]
    return spec.factory(options={"api_key": Secret(KEY), "base_url": "https://api.invoiced.com"},
                        context=None)


@pytest.mark.parametrize(("ident", "path"), [
    ("1001/../../invoices/9", "/invoices/1001%2F..%2F..%2Finvoices%2F9"),
    ("7#", "/invoices/7%23"),
])
def test_invoiced_sends_an_id_as_one_segment(ident: str, path: str) -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"https://api.invoiced.com{path}", status=404,
                 json={"message": "not found"})
        assert invoiced().get("invoices", ident) is None
        assert [c.request.path_url for c in rsps.calls] == [path]


@pytest.mark.parametrize("ident", [".", "..", ""])
@pytest.mark.parametrize("action", ["get", "delete", "update"])
def test_invoiced_refuses_an_impossible_id_before_any_request(ident: str, action: str) -> None:
    connector = invoiced()
    with responses.RequestsMock() as rsps, pytest.raises(RecordError,
                                                          match="cannot be a record id"):
        if action == "get":
            connector.get("customers", ident)
        elif action == "delete":
            connector.delete("customers", ident)
        else:
            connector.update("customers", ident, {"name": "x"})
    assert len(rsps.calls) == 0


def custom() -> Any:
    spec = get_systems()["customcrm"]
    return spec.factory(options={"base_url": "https://crm.example.com/api",
                                 "api_key": Secret(KEY)}, context=SystemContext("crm"))


@pytest.mark.parametrize("ident", [".", "..", ""])
@pytest.mark.parametrize("action", ["get", "delete", "update"])
def test_custom_rest_refuses_dot_ids_before_any_request(ident: str, action: str) -> None:
    connector = custom()
    with responses.RequestsMock() as rsps, pytest.raises(RecordError,
                                                          match="cannot be a record id"):
        if action == "get":
            connector.get("customer", ident)
        elif action == "delete":
            connector.delete("customer", ident)
        else:
            connector.update("customer", ident, {"name": "x"})
    assert len(rsps.calls) == 0


def test_custom_rest_sends_an_id_as_one_segment() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.DELETE, "https://crm.example.com/api/customers/..%2F..%2Fadmin",
                 status=204)
        custom().delete("customer", "../../admin")
        assert [c.request.path_url for c in rsps.calls] == ["/api/customers/..%2F..%2Fadmin"]


def test_a_same_host_redirect_is_followed_and_its_body_bounded() -> None:
    from talk_core.http import AnswerOutOfBounds
    from talk_core.limits import Limits

    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/old", status=301,
                 headers={"Location": "HTTPS://api.example.com/v1/new"})
        rsps.add(responses.GET, f"{BASE}/new", json={"ok": True})
        assert client().get("old").json() == {"ok": True}
    big = HttpClient(BASE, name="api", retries=0, limits=Limits(max_response_bytes=2048))
    with responses.RequestsMock() as rsps:
        rsps.add(responses.GET, f"{BASE}/old", status=302, body=b"x" * 10_000,
                 headers={"Location": f"{BASE}/new"})
        with pytest.raises(AnswerOutOfBounds, match="2,048 bytes"):
            big.get("old")
