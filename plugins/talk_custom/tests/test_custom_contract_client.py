"""A plain HTTP client of the custom REST contract, written from docs/custom-rest-contract.md.

Nothing here uses talk's connector: each test reads the contract's words
(quoted in the docstrings) and checks the emulator, the contract's reference
implementation, keeps them. Where the emulator and the document disagreed,
one of them was fixed; the README lists what the emulator does not play.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from talk_custom.emulator import CustomEmulator

KEY, TOKEN = "key-for-tests", "token-for-tests"


class Client:
    """``X-API-Key`` on every request, as talk sends it; JSON in and out."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update({"X-API-Key": KEY} if headers is None else headers)

    def call(self, method: str, path: str, **options: Any) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/{path}", timeout=10, **options)

    def create(self, path: str, fields: dict[str, Any], key: str | None = None
               ) -> dict[str, Any]:
        headers = {"Idempotency-Key": key} if key else {}
        answer = self.call("POST", path, json=fields, headers=headers)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def list_all(self, path: str, limit: int, since: str | None = None,
                 after: str | None = None) -> tuple[list[dict[str, Any]], int]:
        """Every record, page by page, each page's last record the next cursor."""
        records: list[dict[str, Any]] = []
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": limit}
            if since is not None:
                params["since"] = since
                if after is not None:
                    params["after"] = after
            answer = self.call("GET", path, params=params)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            pages += 1
            assert len(body["data"]) <= limit
            records += body["data"]
            if not body["has_more"]:
                return records, pages
            last = body["data"][-1]
            since, after = last["updated_at"], str(last["id"])


def error_of(answer: requests.Response) -> dict[str, Any]:
    """The contract's error body: ``{"error": {"code", "message", "field"?}}``."""
    body = answer.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


def order_key(record: dict[str, Any]) -> tuple[datetime, int]:
    return (datetime.fromisoformat(record["updated_at"]), int(record["id"]))


@pytest.fixture
def crm() -> Iterator[Client]:
    with CustomEmulator("customcrm", api_key=KEY, token=TOKEN) as emulator:
        client = Client(emulator.url)
        yield client
        client.session.close()


def test_a_record_carries_id_updated_and_deleted(crm: Client) -> None:
    """"id: text or integer, assigned by the system"; "updated: ISO 8601 UTC time ... at least
    millisecond precision"; "deleted: null while the record lives"."""
    made = crm.create("customers", {"name": "Fjord AS", "city": "Bergen"})
    assert isinstance(made["id"], str | int) and made["name"] == "Fjord AS"
    stamp = datetime.fromisoformat(made["updated_at"])
    assert stamp.utcoffset() == timedelta(0)
    assert "." in made["updated_at"] and len(made["updated_at"].split(".")[1]) >= 4
    assert made["deleted_at"] is None
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=5)


def test_credentials_missing_or_wrong_answer_401_and_either_credential_works(crm: Client
                                                                              ) -> None:
    """"A missing or wrong credential answers 401"; talk sends X-API-Key and/or a Bearer."""
    anonymous = Client(crm.base_url, headers={})
    wrong_key = Client(crm.base_url, headers={"X-API-Key": "nope"})
    wrong_token = Client(crm.base_url, headers={"Authorization": "Bearer nope"})
    for client in (anonymous, wrong_key, wrong_token):
        for method, path in (("GET", "customers"), ("POST", "customers"),
                             ("GET", "customers/1"), ("DELETE", "customers/1")):
            answer = client.call(method, path, json={"name": "x"})
            assert answer.status_code == 401, (method, path, answer.text)
            error_of(answer)
    bearer = Client(crm.base_url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.call("GET", "customers").status_code == 200
    assert crm.call("GET", "customers").json() == {"data": [], "has_more": False}


def test_create_get_update_delete_one_record(crm: Client) -> None:
    """Create answers 201 with the whole record; get 200; PATCH changes only the fields sent
    and answers the whole record; delete answers 204, then the record is gone (404)."""
    made = crm.create("customers", {"name": "Nordlys AS", "city": "Tromsø", "country": "NO"})
    ident = str(made["id"])
    got = crm.call("GET", f"customers/{ident}")
    assert got.status_code == 200 and got.json() == made
    changed = crm.call("PATCH", f"customers/{ident}", json={"city": "Bodø"})
    assert changed.status_code == 200
    after = changed.json()
    assert after["city"] == "Bodø" and after["name"] == "Nordlys AS" and after["country"] == "NO"
    assert order_key(after) > order_key(made), "updated never goes backwards"
    assert crm.call("GET", f"customers/{ident}").json() == after
    gone = crm.call("DELETE", f"customers/{ident}")
    assert gone.status_code == 204 and gone.content == b""
    assert crm.call("GET", f"customers/{ident}").status_code == 404
    assert crm.call("DELETE", f"customers/{ident}").status_code in (204, 404)
    assert crm.call("PATCH", f"customers/{ident}", json={"city": "Oslo"}).status_code == 404


def test_unknown_ids_and_resources_answer_404_with_the_error_body(crm: Client) -> None:
    for method, path in (("GET", "customers/999"), ("PATCH", "customers/999"),
                         ("DELETE", "customers/999"), ("GET", "customers/a%2Fb"),
                         ("GET", "nothings")):
        answer = crm.call(method, path, json={"name": "x"})
        assert answer.status_code == 404, (method, path)
        assert error_of(answer)["code"] == "not_found"


def test_a_create_key_answers_the_first_record_and_is_findable(crm: Client) -> None:
    """"a second POST with a key already used must answer the record the first one made
    (200)"; "findable with GET /{path}?idempotency_key=<key> for as long as the record
    lives"."""
    first = crm.create("customers", {"name": "Once AS"}, key="create-1")
    again = crm.call("POST", "customers", json={"name": "Once AS"},
                     headers={"Idempotency-Key": "create-1"})
    assert again.status_code == 200 and again.json() == first
    found = crm.call("GET", "customers", params={"idempotency_key": "create-1"}).json()
    assert found["data"] == [first]
    assert crm.call("GET", "customers", params={"idempotency_key": "other"}).json()["data"] == []
    listed, _pages = crm.list_all("customers", limit=10)
    assert [r["name"] for r in listed] == ["Once AS"]
    assert crm.call("DELETE", f"customers/{first['id']}").status_code == 204
    assert crm.call("GET", "customers", params={"idempotency_key": "create-1"}
                    ).json()["data"] == []


def test_listing_pages_to_the_end_in_updated_then_id_order(crm: Client) -> None:
    """Without since: live records ordered by (updated, id); the last record of each page is
    the next cursor; has_more false on the last page."""
    made = [crm.create("customers", {"name": f"Kunde {i:02d} AS"}) for i in range(23)]
    crm.call("PATCH", f"customers/{made[3]['id']}", json={"city": "Moved"})
    crm.call("DELETE", f"customers/{made[5]['id']}")
    first = crm.call("GET", "customers", params={"limit": 7}).json()
    assert len(first["data"]) == 7 and first["has_more"] is True
    assert all(r["deleted_at"] is None for r in first["data"])
    records, pages = crm.list_all("customers", limit=7)
    assert pages == 4
    names = [r["name"] for r in records]
    # the deleted one shows later as a tombstone, the edited one at its new place
    assert len(names) == 23 and names[-2:] == ["Kunde 03 AS", "Kunde 05 AS"]
    assert records[-1]["deleted_at"] is not None
    assert records == sorted(records, key=order_key)
    assert len({r["id"] for r in records}) == 23
    exact = crm.call("GET", "customers", params={"limit": 22}).json()
    assert len(exact["data"]) == 22 and exact["has_more"] is False


def test_changes_since_a_cursor_include_tombstones_and_cascaded_lines(crm: Client) -> None:
    """With since: every record changed after the cursor, tombstones included; deleting an
    order deletes its lines, each a tombstone too."""
    customer = crm.create("customers", {"name": "Ordre AS"})
    order = crm.create("orders", {"customer": customer["id"], "number": "O-1"})
    lines = [crm.create("orderlines", {"order": order["id"], "description": f"line {i}",
                                       "quantity": 2, "unit_price": "12.50"})
             for i in range(3)]
    untouched = crm.create("customers", {"name": "Stille AS"})
    cursor = (untouched["updated_at"], str(untouched["id"]))
    edited = crm.call("PATCH", f"customers/{customer['id']}", json={"city": "Oslo"}).json()
    newer = crm.create("customers", {"name": "Ny AS"})
    assert crm.call("DELETE", f"orders/{order['id']}").status_code == 204

    changed, _ = crm.list_all("customers", limit=1, since=cursor[0], after=cursor[1])
    assert [r["id"] for r in changed] == [edited["id"], newer["id"]]
    gone, _ = crm.list_all("orders", limit=10, since=cursor[0], after=cursor[1])
    assert [r["id"] for r in gone] == [order["id"]] and gone[0]["deleted_at"] is not None
    line_tombstones, _ = crm.list_all("orderlines", limit=2, since=cursor[0], after=cursor[1])
    assert sorted(r["id"] for r in line_tombstones) == sorted(r["id"] for r in lines)
    assert all(r["deleted_at"] is not None for r in line_tombstones)
    assert all(r["updated_at"] == r["deleted_at"] for r in line_tombstones)
    live, _ = crm.list_all("orderlines", limit=10)
    assert live == []


def test_the_cursor_is_updated_then_id_and_since_is_a_time(crm: Client) -> None:
    """"a record whose updated equals since is included only if its id comes after after";
    without after, one whose updated equals since is included; since is a time, not text."""
    made = [crm.create("customers", {"name": f"K{i}"}) for i in range(3)]
    middle = made[1]
    with_after = crm.call("GET", "customers", params={
        "since": middle["updated_at"], "after": str(middle["id"])}).json()["data"]
    assert [r["id"] for r in with_after] == [made[2]["id"]]
    without_after = crm.call("GET", "customers", params={
        "since": middle["updated_at"]}).json()["data"]
    assert [r["id"] for r in without_after] == [middle["id"], made[2]["id"]]
    # the same instant written another way lists the same records
    moment = datetime.fromisoformat(middle["updated_at"]).astimezone(UTC)
    other_form = moment.isoformat()  # +00:00 instead of Z
    assert crm.call("GET", "customers", params={"since": other_form, "after": middle["id"]}
                    ).json()["data"] == with_after
    # a second-precision since lists everything after that second, made in it or not
    early = (moment - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(crm.call("GET", "customers", params={"since": early}).json()["data"]) == 3


def test_bad_list_parameters_answer_400(crm: Client) -> None:
    """limit is 1 to 1000; offset and since must be what they say."""
    for params in ({"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"offset": -1},
                   {"offset": "x"}, {"since": "yesterday"}):
        answer = crm.call("GET", "customers", params=params)
        assert answer.status_code == 400, params
        assert error_of(answer)["code"] == "invalid_query"
    assert crm.call("GET", "customers", params={"limit": 1000}).status_code == 200


def test_bad_bodies_answer_400_and_bad_fields_422_naming_the_field(crm: Client) -> None:
    customer = crm.create("customers", {"name": "Felt AS"})
    not_json = crm.call("POST", "customers", data=b"{name: 1",
                        headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400 and error_of(not_json)["code"] == "invalid_json"
    a_list = crm.call("POST", "customers", json=[{"name": "x"}])
    assert a_list.status_code == 400
    cases = [
        ("POST", "customers", {"city": "Oslo"}, "name"),                  # required
        ("POST", "products", {"code": "P-1", "price": "12,50"}, "price"),  # not a decimal
        ("POST", "customers", {"name": "X", "colour": "red"}, "colour"),   # unknown field
        ("POST", "contacts", {"name": "Kari", "customer": "999"}, "customer"),  # no such ref
        ("POST", "orders", {"customer": customer["id"], "date": "1.2.2024"}, "date"),
        ("PATCH", f"customers/{customer['id']}", {"name": None}, "name"),
        ("PATCH", f"customers/{customer['id']}", {"name": 12}, "name"),
    ]
    for method, path, body, field in cases:
        answer = crm.call(method, path, json=body)
        assert answer.status_code == 422, (path, body, answer.text)
        assert error_of(answer)["field"] == field, (path, body)
    listed, _ = crm.list_all("customers", limit=100)
    assert [r["name"] for r in listed] == ["Felt AS"], "a refused write changed nothing"


def test_values_take_the_documented_forms(crm: Client) -> None:
    """"decimals as JSON numbers or decimal strings ("12.50"); dates as YYYY-MM-DD;
    references as the other record's id"."""
    product = crm.create("products", {"code": "P-7", "price": "12.50", "currency": "NOK"})
    other = crm.create("products", {"code": "P-8", "price": 99})
    customer = crm.create("customers", {"name": "Verdi AS"})
    order = crm.create("orders", {"customer": customer["id"], "date": "2024-09-01"})
    line = crm.create("orderlines", {"order": order["id"], "product": product["id"],
                                     "quantity": 3, "unit_price": 12.5})
    assert (product["price"], other["price"], order["date"]) == ("12.50", 99, "2024-09-01")
    assert str(line["product"]) == str(product["id"])


def test_a_full_listing_pages_by_offset_in_id_order_without_an_updated_field() -> None:
    """"Without an updated field ... full listings with limit and offset in id order", and
    deletes show by absence."""
    layout = {"customer": {"path": "clients", "updated_field": "", "deleted_field": ""}}
    with CustomEmulator("custompms", datatypes=layout, api_key=KEY) as emulator:
        client = Client(emulator.url)
        made = [client.create("clients", {"name": f"Gjest {i:02d}"}) for i in range(12)]
        assert "updated_at" not in made[0] and "deleted_at" not in made[0]
        assert client.call("DELETE", f"clients/{made[4]['id']}").status_code == 204
        seen: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = client.call("GET", "clients", params={"limit": 5, "offset": offset}).json()
            seen += body["data"]
            offset += len(body["data"])
            if not body["has_more"]:
                break
        assert [int(r["id"]) for r in seen] == sorted(int(m["id"]) for m in made
                                                       if m is not made[4])
        assert client.call("GET", "customers").status_code == 404, "the path is clients"
