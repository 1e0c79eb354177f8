"""What the transport base gives the connector for free: retries on 429, a refused key."""

from __future__ import annotations

import pytest

from talk_core.errors import AccessDenied, RecordError, TransientError
from talk_crmlite import CrmLiteConnector, CrmLiteEmulator


def test_a_429_is_waited_out_as_retry_after_says(emulator: CrmLiteEmulator) -> None:
    emulator.put("customers", name="Acme AS")
    connector = CrmLiteConnector(emulator.url, emulator.api_key)
    waits: list[float] = []
    connector.http.sleep = waits.append
    emulator.fail(429, times=2, path="/v1/customers", headers={"Retry-After": "3"},
                  body={"error": {"code": "rate_limited", "message": "slow down"}})

    [page] = connector.read("customers", None)

    assert [e.properties["name"] for e in page.entities] == ["Acme AS"]
    assert waits == [3.0, 3.0], "each retry waited what Retry-After asked"
    assert [r for r in emulator.requests if r[1] == "/v1/customers"] == [
        ("GET", "/v1/customers")] * 3


def test_a_429_that_never_ends_is_a_transient_error(emulator: CrmLiteEmulator) -> None:
    connector = CrmLiteConnector(emulator.url, emulator.api_key)
    connector.http.sleep = lambda seconds: None
    emulator.fail(429, times=1000, headers={"Retry-After": "1"},
                  body={"error": {"code": "rate_limited", "message": "slow down"}})
    with pytest.raises(TransientError, match="slow down"):
        connector.get("customers", "cus_1")


def test_a_refused_key_stops_the_run_without_showing_the_key(emulator: CrmLiteEmulator) -> None:
    connector = CrmLiteConnector(emulator.url, "not-the-key")
    with pytest.raises(AccessDenied) as refused:
        list(connector.read("customers", None))
    assert "missing or wrong X-API-Key" in str(refused.value)
    assert "not-the-key" not in str(refused.value) and "not-the-key" not in repr(connector)
    assert emulator.records.rows["customers"] == {}, "nothing was read or written"


def test_a_refused_write_names_the_field(emulator: CrmLiteEmulator) -> None:
    connector = CrmLiteConnector(emulator.url, emulator.api_key)
    with pytest.raises(RecordError, match="unknown field 'colour'") as refused:
        connector.create("customers", {"name": "Acme AS", "colour": "red"}, key="k1")
    assert not isinstance(refused.value, TransientError | AccessDenied), "one record's error"


def test_an_answer_without_its_bookkeeping_is_an_error_naming_it(
        emulator: CrmLiteEmulator) -> None:
    connector = CrmLiteConnector(emulator.url, emulator.api_key)
    emulator.fail(200, path="/v1/customers", body={"data": [{"name": "No id"}],
                                                   "next_cursor": None})
    with pytest.raises(RecordError, match=r"without a valid id .*'name': 'No id'"):
        list(connector.read("customers", None))
