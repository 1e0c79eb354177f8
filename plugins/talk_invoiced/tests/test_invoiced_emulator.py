"""The emulator's own behaviour: faults on demand, headers, entry points."""

from __future__ import annotations

import socket
import subprocess
import sys
from typing import Any

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


def _call(emu: InvoicedEmulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{emu.url}{path}", auth=("test_key", ""), timeout=5,
                            **kwargs)


def test_metadata_is_bounded_and_a_patch_replaces_the_whole_map() -> None:
    with InvoicedEmulator() as emu:
        made = _call(emu, "POST", "/customers",
                     json={"name": "M", "metadata": {"a": "1", "b": "2"}}).json()
        r = _call(emu, "PATCH", f"/customers/{made['id']}", json={"metadata": {"c": "3"}})
        assert r.status_code == 200 and r.json()["metadata"] == {"c": "3"}
        refused = [
            {str(n): "x" for n in range(11)},  # at most 10 keys
            {"k" * 41: "x"},  # a key of at most 40 characters
            {"bad key": "x"},  # of letters, digits, _ and -
            {"k": "v" * 256},  # a value of at most 255
        ]
        for metadata in refused:
            r = _call(emu, "POST", "/customers", json={"name": "N", "metadata": metadata})
            assert r.status_code == 400 and r.json()["param"] == "metadata", metadata
        assert _call(emu, "POST", "/customers", json={
            "name": "N", "metadata": {"k" * 40: "v" * 255}}).status_code == 201


def test_customer_type_and_country_are_checked() -> None:
    with InvoicedEmulator() as emu:
        person = _call(emu, "POST", "/customers", json={"name": "P", "type": "person"}).json()
        assert person["type"] == "person"
        assert _call(emu, "POST", "/customers", json={"name": "C"}).json()["type"] == "company"
        r = _call(emu, "POST", "/customers", json={"name": "X", "type": "robot"})
        assert r.status_code == 400 and r.json()["param"] == "type"
        r = _call(emu, "PATCH", f"/customers/{person['id']}", json={"country": "NOR"})
        assert r.status_code == 400 and r.json()["param"] == "country"


def test_a_closed_invoice_is_read_only_until_reopened() -> None:
    with InvoicedEmulator() as emu:
        buyer = _call(emu, "POST", "/customers", json={"name": "B"}).json()
        invoice = _call(emu, "POST", "/invoices", json={
            "customer": buyer["id"], "closed": True, "items": [{"name": "A", "unit_cost": 2}]
        }).json()
        assert invoice["items"][0]["quantity"] == 1 and invoice["total"] == 2
        r = _call(emu, "PATCH", f"/invoices/{invoice['id']}", json={"notes": "x"})
        assert r.status_code == 400 and "closed" in r.json()["message"]
        r = _call(emu, "PATCH", f"/invoices/{invoice['id']}",
                  json={"closed": False, "notes": "x"})
        assert r.status_code == 200 and r.json()["notes"] == "x"
        r = _call(emu, "PATCH", f"/invoices/{invoice['id']}", json={"customer": buyer["id"] + 1})
        assert r.status_code == 400 and r.json()["param"] == "customer"
        r = _call(emu, "PATCH", f"/invoices/{invoice['id']}", json={"total": 5})
        assert r.status_code == 400 and r.json()["param"] == "total"  # read-only


def test_a_page_past_the_last_is_empty_with_its_links() -> None:
    with InvoicedEmulator() as emu:
        emu.seed()
        r = _call(emu, "GET", "/customers", params={"per_page": 2, "page": 5})
        assert r.status_code == 200 and r.json() == []
        assert r.headers["X-Total-Count"] == "3"
        assert set(r.links) == {"self", "first", "previous", "last"}
        assert "page=2" in r.links["last"]["url"]


def test_discounts_and_taxes_of_the_invoice_and_its_lines_make_the_total() -> None:
    with InvoicedEmulator() as emu:
        buyer = _call(emu, "POST", "/customers", json={"name": "B"}).json()
        r = _call(emu, "POST", "/invoices", json={
            "customer": buyer["id"],
            "items": [{"name": "A", "quantity": 2, "unit_cost": 50,
                       "discounts": [{"amount": 10}], "taxes": [{"amount": 5}]},
                      {"name": "B", "unit_cost": 20}],
            "discounts": [{"amount": 6}], "taxes": [{"amount": 3.5}]})
        invoice = r.json()
        assert [line["amount"] for line in invoice["items"]] == [100, 20]
        assert (invoice["subtotal"], invoice["total"], invoice["balance"]) == (120, 112.5, 112.5)
        r = _call(emu, "PATCH", f"/invoices/{invoice['id']}", json={"taxes": []})
        assert r.json()["total"] == 109
        r = _call(emu, "PATCH", f"/invoices/{invoice['id']}", json={"taxes": [7]})
        assert r.status_code == 400 and r.json()["param"] == "taxes"


def test_a_form_encoded_body_is_read_as_curl_sends_it() -> None:
    with InvoicedEmulator() as emu:
        r = _call(emu, "POST", "/customers", data={
            "name": "Acme", "metadata[icp_number]": "1234567890", "metadata[rep]": "Jan",
            "taxable": "0", "email": ""})
        made = r.json()
        assert r.status_code == 201
        assert made["metadata"] == {"icp_number": "1234567890", "rep": "Jan"}
        assert made["taxable"] is False and made["email"] is None  # empty is null
        r = _call(emu, "POST", "/invoices", data=[
            ("customer", str(made["id"])), ("draft", "true"), ("date", "1700000000"),
            ("items[0][name]", "Hours"), ("items[0][quantity]", "2"),
            ("items[0][unit_cost]", "10.5"), ("items[][name]", "Setup"),
            ("items[][unit_cost]", "3")])
        invoice = r.json()
        assert r.status_code == 201 and invoice["draft"] is True
        assert invoice["date"] == 1_700_000_000
        assert [(i["name"], i["quantity"], i["amount"]) for i in invoice["items"]] == [
            ("Hours", 2, 21), ("Setup", 1, 0), (None, 1, 3)]  # each [] is a new line
        r = _call(emu, "POST", "/customers", data={"name": "X", "taxable": "maybe"})
        assert r.status_code == 400 and r.json()["param"] == "taxable"
        r = _call(emu, "POST", "/customers", data="name=x&name[a]=y",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400 and r.json()["param"] == "name[a]"
