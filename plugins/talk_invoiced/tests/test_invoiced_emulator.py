"""The emulator's own behaviour: faults on demand, headers, entry points."""

from __future__ import annotations

import socket
import subprocess
import sys

import requests

from talk_core.errors import TransientError
from talk_invoiced.emulator import Faults, InvoicedEmulator
from talk_invoiced.plugin import INVOICED_SPEC
from talk_invoiced.testing import connector_for


def test_injected_429s_and_500s_are_retried_by_the_connector() -> None:
    with InvoicedEmulator(faults=Faults(rate_limited=0.3, server_error=0.3, seed=7)) as emu:
        emu.seed()
        conn = connector_for(emu, page_size=2)
        names = [e.properties["name"] for p in conn.read("customers", None)
                 for e in p.entities]
        assert sorted(names) == ["Acme Corporation", "Kari Nordmann", "Nordlys AS"]
        assert conn.api.http.requests > 3  # some answers were faults and were retried


def test_dropped_connections_end_as_a_transient_error() -> None:
    with InvoicedEmulator(faults=Faults(dropped=1.0)) as emu:
        conn = connector_for(emu)
        conn.api.http.retries = 1
        try:
            conn.get("customers", "1")
        except TransientError as exc:
            assert "ConnectionError" in str(exc)
        else:
            raise AssertionError("a dropped connection did not fail")


def test_listing_headers_auth_and_error_body() -> None:
    with InvoicedEmulator() as emu:
        emu.seed()
        r = requests.get(f"{emu.url}/customers", params={"per_page": 2},
                         auth=("test_key", ""), timeout=5)
        assert r.headers["X-Total-Count"] == "3"
        assert set(r.links) == {"self", "first", "next", "last"}
        r = requests.get(f"{emu.url}/customers", params={"filter[nope]": "x"},
                         auth=("test_key", ""), timeout=5)
        assert r.status_code == 400 and r.json()["param"] == "filter[nope]"
        assert requests.get(f"{emu.url}/customers", auth=("wrong", ""),
                            timeout=5).status_code == 401
        r = requests.put(f"{emu.url}/customers/1", json={}, auth=("test_key", ""), timeout=5)
        assert r.status_code == 405 and r.json()["type"] == "invalid_request"


def test_events_related_to_a_customer_include_its_contacts() -> None:
    with InvoicedEmulator() as emu:
        acc = emu.account
        mine, other = acc.create_customer({"name": "Mine"}), acc.create_customer({"name": "X"})
        person = acc.create_contact(mine["id"], {"name": "Ola"})
        acc.create_contact(other["id"], {"name": "Kari"})
        acc.update_customer(mine["id"], {"city": "Oslo"})
        r = requests.get(f"{emu.url}/events", params={"related_to": f"customer,{mine['id']}"},
                         auth=("test_key", ""), timeout=5)
        assert [(e["type"], e["data"]["object"]["id"]) for e in r.json()] == [
            ("customer.updated", mine["id"]), ("contact.created", person["id"]),
            ("customer.created", mine["id"])]
        r = requests.get(f"{emu.url}/events", params={"related_to": "customer"},
                         auth=("test_key", ""), timeout=5)
        assert r.status_code == 400 and r.json()["param"] == "related_to"


def test_python_dash_m_serves_a_seeded_account() -> None:
    with socket.socket() as probe:  # a free port, as the OS hands them out
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "talk_invoiced.emulator", "--port",
                             str(port), "--seed"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert "Invoiced emulator on" in proc.stdout.readline()
        r = requests.get(f"http://127.0.0.1:{port}/items", auth=("test_key", ""), timeout=5)
        assert {i["id"] for i in r.json()} == {"consulting", "widget-a"}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert INVOICED_SPEC.emulator is not None


def test_the_base_admin_surface_shows_and_resets_the_account() -> None:
    with InvoicedEmulator() as emu:
        emu.seed()
        emu.faults.rate_limited = 1.0
        state = requests.get(f"{emu.url}/_emulator/state", timeout=5).json()
        assert state["records"]["customers"] == 3 and state["records"]["items"] == 2
        assert requests.post(f"{emu.url}/_emulator/reset", timeout=5).status_code == 204
        r = requests.get(f"{emu.url}/customers", auth=("test_key", ""), timeout=5)
        assert r.status_code == 200 and r.json() == [] and r.headers["X-Total-Count"] == "0"
        emu.fail(503, path="/items")  # the base's rules sit beside the per-kind rates
        assert requests.get(f"{emu.url}/items", auth=("wrong", ""),
                            timeout=5).status_code == 401  # credentials before rules
        assert requests.get(f"{emu.url}/items", auth=("test_key", ""),
                            timeout=5).status_code == 503  # the rule was still there
        assert requests.get(f"{emu.url}/items", auth=("test_key", ""),
                            timeout=5).status_code == 200
