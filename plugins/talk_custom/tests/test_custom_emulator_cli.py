"""The emulator as a command, and the profiles as ``talk docs`` shows them."""

from __future__ import annotations

import socket
import subprocess
import sys

import requests

from talk_core.docs import dataflows
from talk_custom import SPECS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_emulator_serves_a_seeded_profile_until_stopped() -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "talk_custom.emulator", "--profile",
                             "custompms", "--port", str(port), "--seed"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"Custom PMS emulator on http://127.0.0.1:{port}" in first
        assert "API key 'test_key'" in first
        url = f"http://127.0.0.1:{port}/customers"
        assert requests.get(url, timeout=5).status_code == 401
        body = requests.get(url, headers={"X-API-Key": "test_key"}, timeout=5).json()
        assert [r["name"] for r in body["data"]] == ["Fjord Bakeri AS", "Nordlys Hotell"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_labels_and_dataflows_match_the_seeds() -> None:
    assert (SPECS["customcrm"].label, SPECS["customwebshop"].label,
            SPECS["custompms"].label) == ("Customcrm", "Customwebshop", "Custom PMS")
    flows = {(f.source_label, f.target_label) for f in dataflows(SPECS["customcrm"],
                                                                 SPECS["customwebshop"])}
    assert {("Customer", "Customer"), ("Product", "Product"), ("Order", "Order"),
            ("User", "Order"), ("Orderline", "Orderline")} <= flows
    to_pms = dataflows(SPECS["customwebshop"], SPECS["custompms"])
    assert [(f.source_label, f.target_label) for f in to_pms] == [
        ("Customer", "Customer"), ("Customer (human data)", "Customer (human data)"),
        ("Customer (location data)", "Customer (location data)"), ("Order", "Project"),
        ("Orderline", "Task")]
    assert ("address", "address", '"string"') in {r.cells for r in to_pms[0].rows}
