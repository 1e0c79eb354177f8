"""Hostile or broken API answers stay bounded, and credentials never leave their host.

Each connector (Invoiced, Exact Online with its OAuth token, the custom REST
contract) reads from a hostile server on 127.0.0.1 (``hostile_server``):
endless paging, a huge body, a deep body, a trickling body, and next links
to another host written in capitals or behind blanks. Each read ends by
itself within small bounds with a clear error; a second loopback server
stands as the foreign host and must receive no credential.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_server import HostileServer

from talk_core.config import Secret
from talk_core.http import AnswerOutOfBounds, ForeignLink
from talk_core.plugins import get_systems
from talk_core.store.sqlite import SQLiteStore
from talk_core.system import SystemContext

KEY = "hostile-key-5d1f0a7c"
SECRET = "hostile-secret-e3b9"
REFRESH = "hostile-refresh-77aa"
ACCESS = "access-token-4f9a1c"  # what the hostile token endpoint hands out
SMALL = {"max_pages": 20, "max_response_bytes": 4 * 1024 * 1024, "request_deadline": 2.0,
         "max_json_depth": 64}
#: (flavour of the server, connector kind, datatype read)
KINDS = [("invoiced", "invoiced", "customers"), ("exact", "exactonline", "Accounts"),
         ("custom", "customcrm", "customer")]


def credentials() -> list[str]:
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    return [KEY, SECRET, REFRESH, ACCESS, basic, basic.rstrip("=")]


def options(kind: str, url: str) -> dict[str, Any]:
    if kind == "invoiced":
        given: dict[str, Any] = {"api_key": Secret(KEY), "base_url": url}
    elif kind == "exactonline":
        given = {"base_url": url, "client_id": "cid", "client_secret": Secret(SECRET),
                 "refresh_token": Secret(REFRESH), "division": 5}
    else:
        given = {"base_url": url, "api_key": Secret(KEY), "token": Secret(SECRET)}
    return {**given, **SMALL}


@pytest.fixture
def connect(tmp_path: Path) -> Iterator[Any]:
    stores: list[SQLiteStore] = []

    def build(kind: str, url: str) -> Any:
        store = SQLiteStore(tmp_path / f"{kind}-{len(stores)}.db")
        stores.append(store)
        spec = get_systems()[kind]
        return spec.factory(options=options(kind, url), context=SystemContext("hostile", store))

    yield build
    for store in stores:
        store.close()


def read_all(connector: Any, datatype: str) -> list[Any]:
    return list(connector.read(datatype, None))


@pytest.mark.parametrize(("flavour", "kind", "datatype"), KINDS)
def test_a_next_link_or_cursor_back_to_a_page_already_read_stops_the_read(
        connect: Any, flavour: str, kind: str, datatype: str) -> None:
    with HostileServer("same_next", flavour) as server:
        started = time.monotonic()
        with pytest.raises(AnswerOutOfBounds, match="already read"):
            read_all(connect(kind, server.url), datatype)
    assert time.monotonic() - started < 10
    assert len(server.received) <= 4  # the token, and the same page twice at most


@pytest.mark.parametrize(("flavour", "kind", "datatype"), KINDS)
def test_paging_that_moves_forever_stops_at_max_pages(
        connect: Any, flavour: str, kind: str, datatype: str) -> None:
    with HostileServer("moving", flavour) as server, \
            pytest.raises(AnswerOutOfBounds, match="more than 20 pages"):
        read_all(connect(kind, server.url), datatype)
    pages = [r for r in server.received if r[0] == "GET"]
    assert 19 <= len(pages) <= 21


@pytest.mark.parametrize(("flavour", "kind", "datatype"), KINDS)
def test_a_huge_body_is_cut_at_max_response_bytes(
        connect: Any, flavour: str, kind: str, datatype: str) -> None:
    with HostileServer("huge", flavour, huge_bytes=100 * 1024 * 1024) as server:
        with pytest.raises(AnswerOutOfBounds, match="4,194,304 bytes"):
            read_all(connect(kind, server.url), datatype)
        time.sleep(0.2)
        assert server.sent_bytes < 40 * 1024 * 1024  # the client hung up, never read it all


@pytest.mark.parametrize(("flavour", "kind", "datatype"), KINDS)
def test_json_nested_100000_deep_is_refused_not_a_recursion_error(
        connect: Any, flavour: str, kind: str, datatype: str) -> None:
    with HostileServer("deep", flavour) as server, \
            pytest.raises(AnswerOutOfBounds, match=r"nests 100,0\d\d deep.*64 allowed"):
        read_all(connect(kind, server.url), datatype)


@pytest.mark.parametrize(("flavour", "kind", "datatype"), KINDS)
def test_a_trickling_body_is_cut_at_the_request_deadline(
        connect: Any, flavour: str, kind: str, datatype: str) -> None:
    with HostileServer("trickle", flavour) as server:
        started = time.monotonic()
        with pytest.raises(AnswerOutOfBounds, match="longer than the 2 s"):
            read_all(connect(kind, server.url), datatype)
    assert time.monotonic() - started < 6


FOREIGN_FORMS = ["HTTP://127.0.0.1:{port}/customers?page=2",
                 "Http://127.0.0.1:{port}/customers",
                 " http://127.0.0.1:{port}/customers",
                 "\thttp://127.0.0.1:{port}/customers",
                 "\t HTTP://127.0.0.1:{port}/x"]


@pytest.mark.parametrize("form", FOREIGN_FORMS)
@pytest.mark.parametrize(("flavour", "kind", "datatype"), KINDS[:2])
def test_a_next_link_to_another_host_in_any_spelling_gets_no_credential(
        connect: Any, flavour: str, kind: str, datatype: str, form: str) -> None:
    with HostileServer("same_next", flavour) as foreign:
        link = form.format(port=foreign.httpd.server_address[1])
        with HostileServer("foreign", flavour, foreign=link) as server, \
                pytest.raises(ForeignLink) as caught:
            read_all(connect(kind, server.url), datatype)
    assert foreign.received == []
    message = str(caught.value)
    assert f"127.0.0.1:{foreign.httpd.server_address[1]}" in message
    assert not [c for c in credentials() if c in message]
    assert server.received  # the API itself was asked, with its credentials


def test_hostile_answers_cost_one_datatype_and_talk_sync_ends_without_traceback(
        tmp_path: Path) -> None:
    """``talk sync`` as a child process against every hostile mode: it ends by itself."""
    foreign = HostileServer("same_next", "invoiced").__enter__()
    servers = {mode: HostileServer(mode, "invoiced", huge_bytes=64 * 1024 * 1024,
                                   foreign=f"HTTP://127.0.0.1:{foreign.httpd.server_address[1]}"
                                           "/customers").__enter__()
               for mode in ("same_next", "moving", "huge", "deep", "trickle", "foreign")}
    exact = HostileServer("same_next", "exact").__enter__()
    crm = HostileServer("moving", "custom").__enter__()
    try:
        tables = "".join(textwrap.dedent(f"""
            [systems.{mode}]
            connector = "invoiced"
            base_url = "{server.url}"
            api_key = "${{INV_KEY}}"
            """) for mode, server in servers.items())
        tables += textwrap.dedent(f"""
            [systems.erp]
            connector = "exactonline"
            base_url = "{exact.url}"
            client_id = "cid"
            client_secret = "${{EXACT_SECRET}}"
            refresh_token = "${{EXACT_REFRESH}}"
            division = 5

            [systems.crm]
            connector = "customcrm"
            base_url = "{crm.url}"
            api_key = "${{INV_KEY}}"
            max_pages = 15
            """)
        (tmp_path / "talk.toml").write_text(textwrap.dedent("""
            [sync]
            max_pages = 20
            max_response_bytes = 4194304
            request_deadline = 2
            max_json_depth = 64
            unavailable_after = 5
            """) + tables, encoding="utf-8")
        env = {**os.environ, "INV_KEY": KEY, "EXACT_SECRET": SECRET, "EXACT_REFRESH": REFRESH}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "talk_core.cli", "sync"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=240)
        took = time.monotonic() - started
    finally:
        for server in (*servers.values(), exact, crm, foreign):
            server.__exit__(None, None, None)
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "RecursionError" not in output, output[-3000:]
    assert took < 200
    assert "max_pages" in output and "max_response_bytes" in output, output[-3000:]
    assert "max_json_depth" in output and "request_deadline" in output, output[-3000:]
    assert "refusing to follow a link to another host or scheme" in output
    assert foreign.received == []
    assert not [c for c in credentials() if c in output]
    assert "more than 15 pages" in output  # the custom system's own bound, not [sync]'s
    per_path: dict[str, int] = {}
    for method, path, _headers in crm.received:
        if method == "GET":
            per_path[path.split("?")[0]] = per_path.get(path.split("?")[0], 0) + 1
    assert per_path and max(per_path.values()) <= 15, per_path


MEMORY_SCRIPT = """
import resource, sys
sys.path.insert(0, {tests!r})
from hostile_server import HostileServer
from talk_core.http import AnswerOutOfBounds, set_limits
from talk_core.limits import Limits
from talk_invoiced.api import InvoicedApi

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
set_limits(Limits(max_response_bytes=64 * 1024 * 1024))
with HostileServer("huge", "invoiced", huge_bytes=400 * 1024 * 1024) as server:
    api = InvoicedApi("key-123456", server.url)
    try:
        list(api.pages("customers"))
    except AnswerOutOfBounds as exc:
        print("refused:", exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("growth_kib", after - before)
"""


def test_a_body_of_hundreds_of_megabytes_is_never_held_whole() -> None:
    """A 400 MB answer against the default 64 MiB cap: memory grows by the cap, not the body."""
    script = MEMORY_SCRIPT.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert "refused:" in done.stdout and "67,108,864 bytes" in done.stdout, done.stderr
    growth_mib = int(done.stdout.split("growth_kib")[1]) / 1024
    assert growth_mib < 300, growth_mib
