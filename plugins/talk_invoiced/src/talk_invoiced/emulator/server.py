"""The emulated account over HTTP, on the emulator base: routes, paging headers, idempotency.

The base (``talk_core.emulation``) serves it: the tap, random faults,
authorisation, ``fail()`` rules and the admin surface come from there in
that order. This module adds what is Invoiced's own: Basic auth with the
key as user name, errors as ``{"type", "message", "param"}``, ``Link`` and
``X-Total-Count`` paging, ``Idempotency-Key`` replays, and the per-kind
``Faults`` rates tests set on a running emulator.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from werkzeug.wrappers import Request, Response

from talk_core.emulation import (
    ApiError,
    EmulatorApp,
    Fault,
    RandomFaults,
    json_reply,
    route,
    text_reply,
)
from talk_core.emulation.tap import hang_up
from talk_invoiced.emulator import state
from talk_invoiced.emulator.form import parse_form
from talk_invoiced.emulator.sample import seed as seed_sample
from talk_invoiced.emulator.state import Account

MAX_PAGE = 100
#: Invoiced's error types; the base's own refusals (no route, a bad body) are requests'.
TYPES = frozenset({"invalid_request", "api", "rate_limit_error"})

Rows = list[dict[str, Any]]
#: What a route runs on the account: (query, body) to the answer.
Operation = Callable[[dict[str, str], Any], Any]


class Faults(list[Fault]):
    """Failure rates (0 to 1) applied to each request, to test retries and timeouts.

    It is also the list of the base's ``fail()`` rules, so that one
    ``faults`` holds every failure a test asked for and ``clear()`` ends them.
    """

    def __init__(self, rate_limited: float = 0.0, server_error: float = 0.0,
                 slow: float = 0.0, dropped: float = 0.0, slow_seconds: float = 0.5,
                 seed: int | None = None,
                 pages: dict[str, tuple[int, str, str]] | None = None) -> None:
        super().__init__()
        self.rate_limited = rate_limited
        self.server_error = server_error
        self.slow = slow
        self.dropped = dropped
        self.slow_seconds = slow_seconds
        self.seed = seed
        #: path -> (status, content type, body): the next request there gets that page as
        #: is, e.g. a proxy's HTML error page where JSON was expected
        self.pages: dict[str, tuple[int, str, str]] = dict(pages or {})
        self._rng = random.Random(seed)

    def __repr__(self) -> str:
        return (f"Faults(rate_limited={self.rate_limited}, server_error={self.server_error}, "
                f"slow={self.slow}, dropped={self.dropped}, rules={list(self)!r})")

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def clear(self) -> None:
        super().clear()
        self.rate_limited = self.server_error = self.slow = self.dropped = 0.0


def _page(rows: Rows, query: dict[str, str], base: str, path: str) -> tuple[Rows, dict[str, str]]:
    """One page of a listing with Invoiced's ``Link`` and ``X-Total-Count`` headers."""
    try:
        per_page = max(1, min(int(query.get("per_page", MAX_PAGE)), MAX_PAGE))
        page = max(1, int(query.get("page", 1)))
    except ValueError:
        raise state.ApiError(400, "page and per_page must be integers", "page") from None
    last = max(1, -(-len(rows) // per_page))
    keep = {k: v for k, v in query.items() if k not in ("page", "per_page")}

    def link(n: int) -> str:
        return f"{base}{path}?{urlencode({**keep, 'per_page': per_page, 'page': n})}"

    rels = [("self", page), ("first", 1)]
    if page > 1:
        rels.append(("previous", page - 1))
    if page < last:
        rels.append(("next", page + 1))
    rels.append(("last", last))
    headers = {
        "X-Total-Count": str(len(rows)),
        "Link": ", ".join(f'<{link(n)}>; rel="{rel}"' for rel, n in rels),
    }
    return rows[(page - 1) * per_page: page * per_page], headers


class InvoicedEmulator(EmulatorApp):
    """One emulated account; ``start()`` serves it on a free loopback port."""

    name = "invoiced-emulator"

    def __init__(self, *, port: int = 0, api_key: str = "test_key",
                 faults: Faults | None = None, random_faults: RandomFaults | None = None
                 ) -> None:
        super().__init__(port=port, random_faults=random_faults)
        self.account = Account(api_key=api_key)
        self.faults: Faults = faults if faults is not None else Faults()

    @property
    def api_key(self) -> str:
        return self.account.api_key

    def seed(self) -> InvoicedEmulator:
        seed_sample(self.account)
        return self

    # -- what the base asks of an emulator ---------------------------------------------

    def error_body(self, error: ApiError) -> Any:
        kind = error.code if error.code in TYPES else (
            "rate_limit_error" if error.status == 429 else
            "api" if error.status >= 500 else "invalid_request")
        message = "Invalid API key" if error.status == 401 else error.message
        body: dict[str, Any] = {"type": kind, "message": message}
        if error.field:
            body["param"] = error.field
        return body

    def authorise(self, request: Request) -> bool:
        """Credentials first, on every path: a fault or a held page is no way around them."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user = base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except ValueError:
            return False
        return user == self.account.api_key

    def inject(self, request: Request) -> Response | None:
        faults = self.faults
        if faults.roll(faults.dropped):
            raise hang_up(request.environ)
        if faults.roll(faults.slow):
            time.sleep(faults.slow_seconds)
        if faults.roll(faults.rate_limited):
            raise ApiError(429, "rate_limit_error", "Too many requests")
        if faults.roll(faults.server_error):
            raise ApiError(500, "api", "An internal error occurred")
        page = faults.pages.pop(request.path, None)
        if page is not None:
            return text_reply(page[2], page[0], page[1])
        return super().inject(request)

    def reset(self) -> None:
        """An empty account with the same key and clock; no fault, no request seen."""
        self.account.clear()
        self.faults.pages.clear()
        super().reset()

    def snapshot(self) -> Any:
        a = self.account
        with a.lock:
            return {"customers": len(a.customers), "contacts": len(a.contacts),
                    "invoices": len(a.invoices), "items": len(a.items),
                    "events": len(a.events)}

    # -- routes --------------------------------------------------------------------------

    @route("/customers", methods=["GET"])
    def list_customers(self, request: Request) -> Response:
        return self._answer(request, 200, lambda q, _b: self.account.listing("customers", q),
                            listing="customers")

    @route("/customers", methods=["POST"])
    def create_customer(self, request: Request) -> Response:
        return self._answer(request, 201, lambda _q, b: self.account.create_customer(b))

    @route("/customers/<ident>", methods=["GET"])
    def get_customer(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, _b: self.account.customer(ident),
                            expands="customers")

    @route("/customers/<ident>", methods=["PATCH"])
    def update_customer(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, b: self.account.update_customer(ident, b))

    @route("/customers/<ident>", methods=["DELETE"])
    def delete_customer(self, request: Request, ident: str) -> Response:
        return self._answer(request, 204, lambda _q, _b: self.account.delete_customer(ident))

    @route("/customers/<ident>/balance", methods=["GET"])
    def customer_balance(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda q, _b: self.account.balance(ident, q))

    @route("/customers/<cust>/contacts", methods=["GET"])
    def list_contacts(self, request: Request, cust: str) -> Response:
        a = self.account
        return self._answer(request, 200,
                            lambda q, _b: a.listing("contacts", q, a.contacts_of(cust)),
                            listing="contacts")

    @route("/customers/<cust>/contacts", methods=["POST"])
    def create_contact(self, request: Request, cust: str) -> Response:
        return self._answer(request, 201, lambda _q, b: self.account.create_contact(cust, b))

    @route("/customers/<cust>/contacts/<ident>", methods=["GET"])
    def get_contact(self, request: Request, cust: str, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, _b: self.account.contact(cust, ident),
                            expands="contacts")

    @route("/customers/<cust>/contacts/<ident>", methods=["PATCH"])
    def update_contact(self, request: Request, cust: str, ident: str) -> Response:
        return self._answer(request, 200,
                            lambda _q, b: self.account.update_contact(cust, ident, b))

    @route("/customers/<cust>/contacts/<ident>", methods=["DELETE"])
    def delete_contact(self, request: Request, cust: str, ident: str) -> Response:
        return self._answer(request, 204,
                            lambda _q, _b: self.account.delete_contact(cust, ident))

    @route("/invoices", methods=["GET"])
    def list_invoices(self, request: Request) -> Response:
        return self._answer(request, 200, lambda q, _b: self.account.listing("invoices", q),
                            listing="invoices")

    @route("/invoices", methods=["POST"])
    def create_invoice(self, request: Request) -> Response:
        return self._answer(request, 201, lambda _q, b: self.account.create_invoice(b))

    @route("/invoices/<ident>", methods=["GET"])
    def get_invoice(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, _b: self.account.invoice(ident),
                            expands="invoices")

    @route("/invoices/<ident>", methods=["PATCH"])
    def update_invoice(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, b: self.account.update_invoice(ident, b))

    @route("/invoices/<ident>/void", methods=["POST"])
    def void_invoice(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, _b: self.account.void_invoice(ident))

    @route("/invoices/<ident>/emails", methods=["POST"])
    def send_invoice(self, request: Request, ident: str) -> Response:
        return self._answer(request, 201, lambda _q, b: self.account.send_invoice(ident, b))

    @route("/invoices/<ident>", methods=["DELETE"])
    def delete_invoice(self, request: Request, ident: str) -> Response:
        return self._answer(request, 204, lambda _q, _b: self.account.delete_invoice(ident))

    @route("/items", methods=["GET"])
    def list_items(self, request: Request) -> Response:
        return self._answer(request, 200, lambda q, _b: self.account.listing("items", q),
                            listing="items")

    @route("/items", methods=["POST"])
    def create_item(self, request: Request) -> Response:
        return self._answer(request, 201, lambda _q, b: self.account.create_item(b))

    @route("/items/<ident>", methods=["GET"])
    def get_item(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, _b: self.account.item(ident),
                            expands="items")

    @route("/items/<ident>", methods=["PATCH"])
    def update_item(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, b: self.account.update_item(ident, b))

    @route("/items/<ident>", methods=["DELETE"])
    def delete_item(self, request: Request, ident: str) -> Response:
        return self._answer(request, 204, lambda _q, _b: self.account.delete_item(ident))

    @route("/events", methods=["GET"])
    def list_events(self, request: Request) -> Response:
        a = self.account
        return self._answer(request, 200, lambda q, _b: a.listing("events", q, a.events),
                            listing="events")

    @route("/events/<ident>", methods=["GET"])
    def get_event(self, request: Request, ident: str) -> Response:
        return self._answer(request, 200, lambda _q, _b: self.account.event(ident))

    # -- one answer ------------------------------------------------------------------------

    def _answer(self, request: Request, status: int, operation: Operation, *,
                listing: str | None = None, expands: str | None = None) -> Response:
        """Run ``operation`` (query, body) on the account; replay or keep an idempotent answer.

        ``listing``: the answer is the rows of that listing, paged; ``expands``:
        a single object of that kind, which ``expand`` may widen.
        """
        writes = request.method in ("POST", "PATCH")
        # the last value of a repeated parameter counts, as Invoiced's PHP reads it
        query = {k: request.args.getlist(k)[-1] for k in request.args}
        body = self._body(request) if writes else None
        key = request.headers.get("Idempotency-Key") if writes else None
        headers: dict[str, str] = {}
        a = self.account
        with a.lock:
            replayed = a.replay(key) if key else None
            if replayed is not None:
                return _reply(*replayed)
            try:
                if writes and not isinstance(body, dict):
                    raise state.ApiError(400, "The request body must be a JSON object")
                answer = operation(query, body)
                if listing is not None:
                    rows = a.expanded(listing, answer, query)
                    answer, headers = _page(rows, query, self.url,
                                            quote(request.path, safe="/:"))
                elif expands is not None and query.get("expand"):
                    answer = a.expanded(expands, [answer], query)[0]
                answer = json.loads(json.dumps(answer))  # a snapshot, not live state
            except state.ApiError as exc:
                status, answer, headers = exc.status, exc.body(), {}
            if key and status < 500:
                a.remember(key, status, answer)
        return _reply(status, answer, headers)

    def _body(self, request: Request) -> Any:
        raw = self.body(request)
        if not raw:
            return {}
        if request.mimetype == "application/x-www-form-urlencoded":
            try:
                return parse_form(raw)
            except state.ApiError as exc:
                raise ApiError(exc.status, exc.kind, exc.message, exc.param) from None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(400, "invalid_request", "Invalid JSON body") from None


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return json_reply(None if status == 204 else body, status, headers)
