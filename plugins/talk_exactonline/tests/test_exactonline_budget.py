"""The request budget read from X-RateLimit headers: wait for the minute, stop for the day."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import responses

from talk_core.errors import BudgetExhausted
from talk_core.http import HttpClient, HttpStatusError
from talk_core.store.sqlite import SQLiteStore
from talk_exactonline.budget import RateBudget
from talk_exactonline.emulator import ExactEmulator
from talk_exactonline.testing import emulator_connector

URL = "https://start.exactonline.nl/api/v1/1/crm/Accounts"
NOW = 1_700_000_000.0


def headers(day: int, minute: int, minute_reset: float = NOW + 20) -> dict[str, str]:
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(day),
            "X-RateLimit-Reset": str(int((NOW + 86400) * 1000)),
            "X-RateLimit-Minutely-Limit": "60", "X-RateLimit-Minutely-Remaining": str(minute),
            "X-RateLimit-Minutely-Reset": str(int(minute_reset * 1000))}


class Fake:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def sent() -> list[object]:
    """This test's calls to Exact: a request thread another test abandoned may land in
    ``responses`` meanwhile (it is process-wide), but never on this host."""
    return [call for call in responses.calls
            if call.request.url and call.request.url.startswith("https://start.exactonline.nl/")]


def client(fake: Fake) -> tuple[HttpClient, RateBudget]:
    budget = RateBudget(clock=fake.clock, sleep=fake.sleep)
    return HttpClient("https://start.exactonline.nl", budget=budget, sleep=fake.sleep), budget


@responses.activate
def test_a_spent_minute_is_waited_out_before_the_next_call() -> None:
    fake = Fake()
    http, budget = client(fake)
    responses.add(responses.GET, URL, json={}, headers=headers(4000, 0))
    responses.add(responses.GET, URL, json={}, headers=headers(3999, 59, NOW + 80))
    http.get(URL)
    assert fake.slept == []
    http.get(URL)
    assert len(fake.slept) == 1 and 19.9 < fake.slept[0] < 20.5
    assert len(sent()) == 2
    assert budget.minutely_remaining == 59


@responses.activate
def test_a_spent_day_stops_the_run_without_sending() -> None:
    fake = Fake()
    http, _ = client(fake)
    responses.add(responses.GET, URL, json={}, headers=headers(0, 30))
    http.get(URL)
    with pytest.raises(BudgetExhausted) as caught:
        http.get(URL)
    assert "daily" in str(caught.value)
    assert len(sent()) == 1, "a request was sent past the daily budget"


@responses.activate
def test_the_budget_counts_calls_when_headers_are_missing() -> None:
    fake = Fake()
    http, budget = client(fake)
    responses.add(responses.GET, URL, json={}, headers=headers(2, 30))
    responses.add(responses.GET, URL, json={})
    http.get(URL)
    http.get(URL)  # two calls were left after the first: this one
    http.get(URL)  # and this one
    with pytest.raises(BudgetExhausted):
        http.get(URL)
    assert budget.daily_remaining == 0


@responses.activate
def test_a_429_for_the_minute_waits_for_the_window_and_goes_on() -> None:
    fake = Fake()
    http, _ = client(fake)
    minute_only = {"X-RateLimit-Minutely-Limit": "60", "X-RateLimit-Minutely-Remaining": "0",
                   "X-RateLimit-Minutely-Reset": str(int((NOW + 30) * 1000))}
    responses.add(responses.GET, URL, status=429, headers=minute_only,
                  json={"error": {"message": {"value": "Too many"}}})
    responses.add(responses.GET, URL, json={"ok": 1}, headers=headers(100, 59, NOW + 90))
    assert http.get(URL).json() == {"ok": 1}
    assert sum(fake.slept) >= 30


@responses.activate
def test_a_4xx_is_never_retried() -> None:
    fake = Fake()
    http, _ = client(fake)
    responses.add(responses.GET, URL, status=400, headers=headers(100, 50),
                  json={"error": {"message": {"value": "bad filter"}}})
    with pytest.raises(HttpStatusError):
        http.get(URL)
    assert len(sent()) == 1


def test_against_the_emulator_no_429_with_a_tight_minute(tmp_path: Path) -> None:
    emu = ExactEmulator(minutely_limit=3, minute_seconds=0.5).start()
    store = SQLiteStore(tmp_path / "s.db")
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        import time

        slept.append(seconds)
        time.sleep(seconds)

    try:
        conn = emulator_connector(emu, store, sleep=sleep, division=emu.state.division)
        for n in range(7):
            conn.create("Accounts", {"Name": f"A{n}"}, key=str(n))
        assert not [c for c in emu.calls if c[2] == 429], "the connector caused a 429"
        assert slept, "with 3 calls a window, 7 creates must wait at least once"
        assert len(emu.state.records["Accounts"]) == 7
        conn.close()
    finally:
        emu.stop()
        store.close()


def test_emulator_answers_429_when_its_budget_is_crossed(tmp_path: Path) -> None:
    emu = ExactEmulator(daily_limit=2).start()
    store = SQLiteStore(tmp_path / "s.db")
    try:
        conn = emulator_connector(emu, store, division=emu.state.division)
        raw: Any = conn.http.session
        token = conn.tokens.access_token()
        url = f"{emu.url}/api/v1/{emu.state.division}/sync/CRM/Accounts?$filter=Timestamp gt 1L"
        statuses = [raw.get(url, headers={"Authorization": f"Bearer {token}"}).status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]
        conn.close()
    finally:
        emu.stop()
        store.close()
