"""The Exact Online side of seed 004: every target datatype and property it names exists here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from talk_core.docs import dataflows, parse_rst
from talk_core.mapping import Mapping
from talk_exactonline.plugin import EXACT_ONLINE

SEED = next(Path("/work/shared/seeds").glob("004_*.txt"), None)
# Exact's ID is assigned by Exact and no global property carries a foreign record id
# (see the plugin README): the one row of seed 004 this plugin cannot produce.
KNOWN_GAPS = {("Accounts", "ID")}


def _sends(mapping: Mapping, prop: str) -> bool:
    dt = EXACT_ONLINE.datatype(mapping.datatype)
    found = dt.find(prop)
    return any(pm.system == prop and pm.writes for pm in mapping.properties) and not (
        found is not None and found.read_only)


@pytest.mark.skipif(SEED is None, reason="seed 004 is not on this machine")
def test_every_exact_target_of_seed_004_is_mapped() -> None:
    assert SEED is not None
    labels = {dt.label: dt for dt in EXACT_ONLINE.datatypes}
    for heading, rows in parse_rst(SEED.read_text()):
        target = re.sub(r"^.* to Exact Online ", "", heading)
        assert target in labels, f"no Exact Online datatype labelled {target!r}"
        dt = labels[target]
        carriers = [dt] + [d for d in EXACT_ONLINE.datatypes
                           if d.child_of and d.child_of.parent == dt.name
                           and d.child_of.inline_on_create]
        for _source, prop, kind in rows:
            if (dt.name, prop) in KNOWN_GAPS:
                continue
            assert any(_sends(m, prop) for c in carriers for m in EXACT_ONLINE.mappings_of(
                c.name)), f"{target}.{prop} is never written"
            assert kind == '"string"' or dt.property(prop).type.value in kind


def test_lines_taken_inline_also_flow_into_their_parent() -> None:
    pairs = {(f.source_label, f.target_label) for f in dataflows(EXACT_ONLINE, EXACT_ONLINE)}
    assert ("Quotationlines", "Quotations") in pairs
    assert ("Salesorderlines", "Salesorders") in pairs
    assert ("Accounts", "Accounts") in pairs and ("Addresses", "Addresses") in pairs


def test_python_m_emulator_serves_seeded_data() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "talk_exactonline.emulator", "--port", "0",
                             "--seed"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)", banner)
        assert url, banner
        proc.stdout.readline()
        refresh = proc.stdout.readline().rsplit(" ", 1)[-1].strip()
        token = requests.post(url.group(1) + "/api/oauth2/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": refresh,
            "client_id": "talk-emulator", "client_secret": "emulator-secret"}).json()
        division = re.search(r"division (\d+)", banner)
        assert division
        answer = requests.get(
            f"{url.group(1)}/api/v1/{division.group(1)}/crm/Accounts?$filter=Status eq 'C'",
            headers={"Authorization": f"Bearer {token['access_token']}",
                     "Accept": "application/json"}, timeout=10).json()
        assert sorted(r["Name"] for r in answer["d"]["results"]) == [
            "Bakkerij de Gouden Korst", "Fietsenmakerij Van Dijk"]
    finally:
        proc.terminate()
        proc.wait(10)
