"""One emulated Invoiced account: its objects and the API's rules, with no HTTP.

Kept apart from the server so the rules (what may be edited, what cannot
be deleted, how a line item list is replaced) read as plain code and fail
with the status, message and ``param`` Invoiced answers.
"""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from talk_invoiced.emulator import query as listings
from talk_invoiced.emulator.errors import ApiError

CUSTOMER_FIELDS = frozenset({
    "name", "number", "email", "type", "address1", "address2", "city", "state", "postal_code",
    "country", "phone", "attention_to", "tax_id", "language", "currency", "payment_terms",
    "taxable", "notes", "metadata", "active",
})
CONTACT_FIELDS = frozenset({
    "name", "title", "email", "phone", "department", "primary", "sms_enabled", "address1",
    "address2", "city", "state", "postal_code", "country",
})
INVOICE_FIELDS = frozenset({
    "customer", "name", "number", "currency", "date", "due_date", "payment_terms",
    "purchase_order", "notes", "draft", "closed", "sent", "items", "discounts", "taxes",
    "ship_to", "metadata",
})
LINE_FIELDS = frozenset({
    "id", "catalog_item", "type", "name", "description", "quantity", "unit_cost",
    "discountable", "taxable", "discounts", "taxes", "metadata",
})
ITEM_FIELDS = frozenset({
    "id", "name", "currency", "unit_cost", "type", "description", "taxable", "discountable",
    "gl_account", "metadata",
})
#: What ``POST /invoices/:id/emails`` takes.
EMAIL_FIELDS = frozenset({"to", "bcc", "template", "subject", "message"})
ITEM_EDITABLE = frozenset({"name", "description", "type", "metadata"})
ITEM_ID = re.compile(r"^[a-z0-9_\-:]{2,}$")
METADATA_KEY = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
LISTED = frozenset({"customers", "invoices", "items"})
#: How long an ``Idempotency-Key`` replays its first answer: Invoiced documents 24 hours.
IDEMPOTENT_FOR = 24 * 3600
STAMPS = frozenset({"id", "object", "created_at", "updated_at"})
#: The fields each listing can be filtered (``filter[...]``) and sorted (``sort``) by.
FIELDS: dict[str, frozenset[str]] = {
    "customers": CUSTOMER_FIELDS | STAMPS,
    "contacts": CONTACT_FIELDS | STAMPS | {"customer"},
    "invoices": INVOICE_FIELDS | STAMPS | {"status", "paid", "balance", "subtotal", "total"},
    "items": ITEM_FIELDS | STAMPS,
    "events": frozenset({"id", "type", "timestamp"}),
}
#: What ``expand`` can replace with the object it names, per listing.
EXPANDABLE: dict[str, frozenset[str]] = {"invoices": frozenset({"customer"}),
                                         "contacts": frozenset({"customer"})}


def _number(value: Any, param: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ApiError(400, f"{param} must be a number", param)
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise ApiError(400, f"{param} must be a number", param) from None


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    for name in body:
        if name not in allowed:
            raise ApiError(400, f"Unknown parameter: {name}", name)


def _check_metadata(value: Any, param: str = "metadata") -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ApiError(400, "Metadata must be an object", param)
    if len(value) > 10:
        raise ApiError(400, "There can only be up to 10 metadata values", param)
    for key, item in value.items():
        if not METADATA_KEY.match(str(key)):
            raise ApiError(400, f"Invalid metadata key: {key}", param)
        if len(str(item)) > 255:
            raise ApiError(400, f"Metadata value too long: {key}", param)


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> None:
    value = body.get(name)
    if required and (value is None or value == ""):
        raise ApiError(400, f"{name.capitalize()} missing", name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string", name)


@attrs.define
class Account:
    """Every object of one account, guarded by one lock (the server is threaded)."""

    api_key: str = "test_key"
    clock: Callable[[], float] = time.time
    customers: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    contacts: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    invoices: dict[int, dict[str, Any]] = attrs.field(factory=dict)
    items: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    events: list[dict[str, Any]] = attrs.field(factory=list)
    #: key -> (status, answer, unix seconds when first answered); kept for ``IDEMPOTENT_FOR``
    idempotent: dict[str, tuple[int, Any, int]] = attrs.field(factory=dict)
    next_id: int = 1000
    sequences: dict[str, int] = attrs.field(factory=dict)
    lock: threading.RLock = attrs.field(factory=threading.RLock)

    def now(self) -> int:
        return int(self.clock())

    def clear(self) -> None:
        """Forget every record, event and idempotent answer; the key and clock stay."""
        with self.lock:
            for kept in (self.customers, self.contacts, self.invoices, self.items,
                         self.idempotent, self.sequences):
                kept.clear()
            self.events.clear()
            self.next_id = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _next_number(self, prefix: str, records: dict[int, dict[str, Any]]) -> str:
        """The account's next document number: a sequence, so a delete never reuses one."""
        taken = {str(r.get("number")) for r in records.values()}
        count = self.sequences.get(prefix, 0)
        while True:
            count += 1
            number = f"{prefix}-{count:04d}"
            if number not in taken:
                self.sequences[prefix] = count
                return number

    def _event(self, kind: str, obj: dict[str, Any],
               before: dict[str, Any] | None = None) -> None:
        """An event; an update's ``data.previous`` holds the old values of what it changed."""
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if before is not None:
            data["previous"] = {k: copy.deepcopy(v) for k, v in before.items()
                                if obj.get(k) != v}
        self.events.append({"id": self.new_id(), "object": "event", "type": kind,
                            "timestamp": self.now(), "data": data})

    # -- customers ------------------------------------------------------------

    def customer(self, ident: Any) -> dict[str, Any]:
        found = self.customers.get(_int(ident))
        if found is None:
            raise ApiError(404, f"Customer was not found: {ident}")
        return found

    def create_customer(self, body: dict[str, Any], *, new_number: bool = False
                        ) -> dict[str, Any]:
        """A new customer; ``new_number``: the caller vouches ``body["number"]`` is unused.

        A filler numbering its own records from the account's sequence says
        so, and the account is not searched for the number once per record.
        """
        _check_fields(body, CUSTOMER_FIELDS)
        _text(body, "name", required=True)
        self._check_customer(body)
        number = body.get("number") or self._next_number("CUST", self.customers)
        if not (new_number and body.get("number")) and any(
                c["number"] == number for c in self.customers.values()):
            raise ApiError(400, f"The given customer number has already been taken: {number}",
                           "number")
        ident, now = self.new_id(), self.now()
        record: dict[str, Any] = {
            "id": ident, "object": "customer", "name": body["name"], "number": number,
            "email": None, "type": "company", "address1": None, "address2": None, "city": None,
            "state": None, "postal_code": None, "country": None, "phone": None,
            "attention_to": None, "tax_id": None, "language": None, "currency": None,
            "payment_terms": None, "taxable": True, "notes": None, "active": True,
            "metadata": {}, "payment_source": None,
            "statement_pdf_url": f"https://invoiced.example/statements/{ident}/pdf",
            "sign_up_url": None, "created_at": now, "updated_at": now,
        }
        record.update({k: v for k, v in body.items() if k != "number"})
        record["metadata"] = dict(body.get("metadata") or {})
        _lower_currency(record)
        self.customers[ident] = record
        self._event("customer.created", record)
        return record

    def _check_customer(self, body: dict[str, Any]) -> None:
        if "type" in body and body["type"] not in ("company", "person"):
            raise ApiError(400, "Type must be company or person", "type")
        country = body.get("country")
        if country is not None and (not isinstance(country, str) or len(country) != 2):
            raise ApiError(400, "Country must be a two-letter ISO code", "country")
        for name in ("email", "city", "address1", "address2", "phone", "postal_code"):
            _text(body, name)
        _check_metadata(body.get("metadata"))

    def update_customer(self, ident: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self.customer(ident)
        before = copy.deepcopy(record)
        _check_fields(body, CUSTOMER_FIELDS)
        if "name" in body:
            _text(body, "name", required=True)
        self._check_customer(body)
        if "number" in body and any(c["number"] == body["number"] and c is not record
                                    for c in self.customers.values()):
            raise ApiError(400, "The given customer number has already been taken: "
                                f"{body['number']}", "number")
        record.update(body)
        if "metadata" in body:
            record["metadata"] = dict(body["metadata"] or {})
        _lower_currency(record)
        record["updated_at"] = self.now()
        self._event("customer.updated", record, before)
        return record

    def delete_customer(self, ident: Any) -> None:
        record = self.customer(ident)
        if any(i["customer"] == record["id"] for i in self.invoices.values()):
            raise ApiError(400, "Customers with invoices cannot be deleted. Please set the "
                                "customer to inactive instead.")
        del self.customers[record["id"]]
        for cid in [c for c, v in self.contacts.items() if v["customer"] == record["id"]]:
            del self.contacts[cid]
        self._event("customer.deleted", record)

    # -- contacts -------------------------------------------------------------

    def contact(self, customer: Any, ident: Any) -> dict[str, Any]:
        owner = self.customer(customer)
        found = self.contacts.get(_int(ident))
        if found is None or found["customer"] != owner["id"]:
            raise ApiError(404, f"Contact was not found: {ident}")
        return found

    def create_contact(self, customer: Any, body: dict[str, Any]) -> dict[str, Any]:
        owner = self.customer(customer)
        _check_fields(body, CONTACT_FIELDS)
        _text(body, "name", required=True)
        ident, now = self.new_id(), self.now()
        record: dict[str, Any] = {
            "id": ident, "object": "contact", "customer": owner["id"], "name": None,
            "title": None, "email": None, "phone": None, "department": None, "primary": True,
            "sms_enabled": False, "address1": None, "address2": None, "city": None,
            "state": None, "postal_code": None, "country": None,
            "created_at": now, "updated_at": now,
        }
        record.update(body)
        self.contacts[ident] = record
        self._event("contact.created", record)
        return record

    def update_contact(self, customer: Any, ident: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self.contact(customer, ident)
        before = copy.deepcopy(record)
        _check_fields(body, CONTACT_FIELDS)
        if "name" in body:
            _text(body, "name", required=True)
        record.update(body)
        record["updated_at"] = self.now()
        self._event("contact.updated", record, before)
        return record

    def delete_contact(self, customer: Any, ident: Any) -> None:
        record = self.contact(customer, ident)
        del self.contacts[record["id"]]
        self._event("contact.deleted", record)

    def contacts_of(self, customer: Any) -> list[dict[str, Any]]:
        owner = self.customer(customer)
        return [c for c in self.contacts.values() if c["customer"] == owner["id"]]

    # -- invoices -------------------------------------------------------------

    def invoice(self, ident: Any) -> dict[str, Any]:
        found = self.invoices.get(_int(ident))
        if found is None:
            raise ApiError(404, f"Invoice was not found: {ident}")
        return found

    def create_invoice(self, body: dict[str, Any], *, new_number: bool = False
                       ) -> dict[str, Any]:
        """A new invoice; ``new_number`` as for ``create_customer``."""
        _check_fields(body, INVOICE_FIELDS)
        if body.get("customer") is None:
            raise ApiError(400, "Customer missing", "customer")
        try:
            owner = self.customer(body["customer"])
        except ApiError:
            raise ApiError(400, f"No such customer: {body['customer']}", "customer") from None
        _check_metadata(body.get("metadata"))
        number = body.get("number") or self._next_number("INV", self.invoices)
        if not (new_number and body.get("number")) and any(
                i["number"] == number for i in self.invoices.values()):
            raise ApiError(400, f"The given invoice number has already been taken: {number}",
                           "number")
        ident, now = self.new_id(), self.now()
        record: dict[str, Any] = {
            "id": ident, "object": "invoice", "customer": owner["id"], "name": "Invoice",
            "number": number, "currency": owner.get("currency") or "usd", "date": now,
            "due_date": None, "payment_terms": owner.get("payment_terms"),
            "purchase_order": None, "notes": None,
            "draft": False, "closed": False, "sent": False, "paid": False, "items": [],
            "discounts": [], "taxes": [], "ship_to": None, "metadata": {},
            "url": f"https://invoiced.example/invoices/{ident}",
            "pdf_url": f"https://invoiced.example/invoices/{ident}/pdf",
            "created_at": now, "updated_at": now,
        }
        record.update({k: v for k, v in body.items() if k not in ("customer", "items",
                                                                  "number")})
        record["metadata"] = dict(body.get("metadata") or {})
        record["items"] = self._lines([], body.get("items") or [])
        _lower_currency(record)
        self._check_money(record)
        if "due_date" not in body:
            _due_date(record)
        _totals(record)
        self.invoices[ident] = record
        self._event("invoice.created", record)
        return record

    def update_invoice(self, ident: Any, body: dict[str, Any]) -> dict[str, Any]:
        record = self.invoice(ident)
        before = copy.deepcopy(record)
        _check_fields(body, INVOICE_FIELDS)
        if record["status"] == "voided":
            raise ApiError(400, "This invoice has been voided and can no longer be modified.")
        if record["closed"] and body.get("closed") is not False:
            raise ApiError(400, "This invoice is closed and can no longer be modified.")
        if "customer" in body and _int(body["customer"]) != record["customer"]:
            raise ApiError(400, "The customer cannot be changed once an invoice is created",
                           "customer")
        _check_metadata(body.get("metadata"))
        if "number" in body and any(i["number"] == body["number"] and i is not record
                                    for i in self.invoices.values()):
            raise ApiError(400, "The given invoice number has already been taken", "number")
        lines = self._lines(record["items"], body["items"]) if "items" in body else None
        record.update({k: v for k, v in body.items() if k not in ("customer", "items")})
        if lines is not None:
            record["items"] = lines
        if "metadata" in body:
            record["metadata"] = dict(body["metadata"] or {})
        _lower_currency(record)
        self._check_money(record)
        if "due_date" not in body and ("payment_terms" in body or "date" in body):
            _due_date(record)
        _totals(record)
        record["updated_at"] = self.now()
        self._event("invoice.updated", record, before)
        return record

    def send_invoice(self, ident: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
        """``POST /invoices/:id/emails``: one email per recipient, and the invoice is sent.

        Nothing leaves the emulator: the emails are answered as queued and
        sent, and the invoice is marked ``sent`` as Invoiced marks it.
        """
        record = self.invoice(ident)
        _check_fields(body, EMAIL_FIELDS)
        given = body.get("to")
        if given is None:
            owner = self.customers.get(record["customer"]) or {}
            given = [{"name": owner.get("name"), "email": owner["email"]}
                     ] if owner.get("email") else []
        if not isinstance(given, list) or not all(
                isinstance(r, dict) and isinstance(r.get("email"), str) for r in given):
            raise ApiError(400, "Recipients must be a list of objects with an email", "to")
        if not given:
            raise ApiError(400, "There are no recipients to send the invoice to", "to")
        if not record["sent"]:
            before = copy.deepcopy(record)
            record["sent"] = True
            _totals(record)
            record["updated_at"] = self.now()
            self._event("invoice.updated", record, before)
        now = self.now()
        return [{"id": f"{self.new_id():032x}", "object": "email", "state": "sent",
                 "reject_reason": None, "email": r["email"], "template": "new_invoice_email",
                 "subject": body.get("subject") or f"New Invoice: {record['number']}",
                 "message": body.get("message") or "", "opens": 0, "opens_detail": [],
                 "created_at": now, "updated_at": now} for r in given]

    def void_invoice(self, ident: Any) -> dict[str, Any]:
        record = self.invoice(ident)
        before = copy.deepcopy(record)
        if record["status"] == "voided":
            raise ApiError(400, "This invoice has already been voided.")
        record["status"] = "voided"
        record["closed"] = True
        record["updated_at"] = self.now()
        self._event("invoice.updated", record, before)
        return record

    def delete_invoice(self, ident: Any) -> None:
        record = self.invoice(ident)
        del self.invoices[record["id"]]
        self._event("invoice.deleted", record)

    def _lines(self, old: list[dict[str, Any]], given: Any) -> list[dict[str, Any]]:
        """Replace a line list: entries with an id update that line, others are new."""
        if not isinstance(given, list):
            raise ApiError(400, "Items must be a list", "items")
        by_id = {line["id"]: line for line in old}
        out = []
        for entry in given:
            if not isinstance(entry, dict):
                raise ApiError(400, "Each line item must be an object", "items")
            _check_fields(entry, LINE_FIELDS)
            _check_metadata(entry.get("metadata"), "items")
            if entry.get("id") is not None:
                line = by_id.get(_int(entry["id"]))
                if line is None:
                    raise ApiError(400, f"Line item was not found: {entry['id']}", "items")
                line = {**copy.deepcopy(line), **{k: v for k, v in entry.items() if k != "id"}}
            else:
                line = {"id": self.new_id(), "object": "line_item", "catalog_item": None,
                        "type": None, "name": None, "description": None, "quantity": 1,
                        "unit_cost": 0, "discountable": True, "taxable": True,
                        "discounts": [], "taxes": [], "metadata": {}}
                catalog = entry.get("catalog_item")
                if catalog is not None:
                    item = self.items.get(str(catalog))
                    if item is None or item.get("archived"):
                        raise ApiError(400, f"No such item: {catalog}", "items")
                    line.update({"name": item["name"], "description": item["description"],
                                 "unit_cost": item["unit_cost"], "type": item["type"]})
                line.update(entry)
            quantity = _number(line["quantity"], "quantity")
            cost = _number(line["unit_cost"], "unit_cost")
            line["amount"] = _json_number(quantity * cost)
            out.append(line)
        return out

    def _check_money(self, record: dict[str, Any]) -> None:
        _adjustments(record, "discounts", "discount")
        _adjustments(record, "taxes", "tax")
        for name in ("date", "due_date"):
            value = record.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ApiError(400, f"{name} must be a unix timestamp", name)

    # -- catalog items ----------------------------------------------------------

    def item(self, ident: str) -> dict[str, Any]:
        found = self.items.get(ident)
        if found is None or found.get("archived"):
            raise ApiError(404, f"Item was not found: {ident}")
        return found

    def create_item(self, body: dict[str, Any]) -> dict[str, Any]:
        _check_fields(body, ITEM_FIELDS)
        _text(body, "name", required=True)
        _check_metadata(body.get("metadata"))
        ident = body.get("id") or f"item-{self.new_id()}"
        if not isinstance(ident, str) or not ITEM_ID.match(ident):
            raise ApiError(400, f"Invalid item ID: {ident}", "id")
        existing = self.items.get(ident)
        if existing is not None and not existing.get("archived"):
            raise ApiError(400, f"An item with ID {ident} already exists", "id")
        now = self.now()
        record: dict[str, Any] = {
            "id": ident, "object": "item", "name": None, "currency": "usd", "unit_cost": 0,
            "type": None, "description": None, "taxable": True, "discountable": True,
            "gl_account": None, "metadata": {}, "created_at": now, "updated_at": now,
        }
        record.update(body)
        record["id"] = ident
        record["metadata"] = dict(body.get("metadata") or {})
        record["unit_cost"] = _json_number(_number(record["unit_cost"], "unit_cost"))
        _lower_currency(record)
        self.items[ident] = record
        return record

    def update_item(self, ident: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self.item(ident)
        for name in body:
            if name not in ITEM_EDITABLE:
                raise ApiError(400, f"{name} cannot be changed once an item is created", name)
        _check_metadata(body.get("metadata"))
        record.update(body)
        if "metadata" in body:
            record["metadata"] = dict(body["metadata"] or {})
        record["updated_at"] = self.now()
        return record

    def delete_item(self, ident: str) -> None:
        record = self.item(ident)
        record["archived"] = True
        record["updated_at"] = self.now()

    def event(self, ident: Any) -> dict[str, Any]:
        wanted = _int(ident)
        for event in self.events:
            if event["id"] == wanted:
                return event
        raise ApiError(404, f"Event was not found: {ident}")

    def replay(self, key: str) -> tuple[int, Any] | None:
        """The first answer given under ``key``, if it is younger than a day."""
        kept = self.idempotent.get(key)
        if kept is None or self.now() - kept[2] >= IDEMPOTENT_FOR:
            return None
        return kept[0], kept[1]

    def remember(self, key: str, status: int, answer: Any) -> None:
        self.idempotent[key] = (status, answer, self.now())

    def expire_events(self, older_than: int) -> None:
        """Drop the events from before ``older_than`` (unix seconds), as Invoiced in time does."""
        with self.lock:
            self.events[:] = [e for e in self.events if e["timestamp"] >= older_than]

    # -- listing -----------------------------------------------------------------

    def listing(self, kind: str, query: dict[str, str],
                rows: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Rows of one listing after ``updated_after``, ``filter[...]`` and ``metadata[...]``."""
        if rows is None:
            source: dict[Any, dict[str, Any]] = getattr(self, kind)
            rows = list(source.values())
        if kind == "items":
            archived = query.get("archived") in ("1", "true")
            rows = [r for r in rows if bool(r.get("archived")) == archived]
        if kind == "events":
            rows = sorted(rows, key=lambda r: r["id"], reverse=True)
        else:
            rows = sorted(rows, key=lambda r: str(r["id"]).zfill(20))
        related = query.get("related_to")
        if related is not None and kind == "events":
            rows = [r for r in rows if listings.related(r, related)]
        moment = listings.timestamp(query, "updated_after") if kind in LISTED else None
        if moment is not None:
            rows = [r for r in rows if r["updated_at"] > moment]
        if kind == "invoices":
            rows = listings.dated(rows, query)
        if kind == "customers":
            rows = self._by_balance(rows, query)
        known = FIELDS[kind]
        for name, value in query.items():
            match = re.fullmatch(r"(filter|metadata)\[([^\]]+)\]", name)
            if match is None:
                continue
            field = match.group(2)
            if match.group(1) == "filter":
                if field not in known:
                    raise ApiError(400, f"Invalid filter parameter: {field}", name)
                rows = [r for r in rows if listings.matches(r.get(field), value)]
            else:
                rows = [r for r in rows if listings.has_metadata(r, field, value)]
        if query.get("sort"):
            rows = listings.sorted_rows(rows, query["sort"], known)
        return rows

    def _by_balance(self, rows: list[dict[str, Any]], query: dict[str, str]
                    ) -> list[dict[str, Any]]:
        """``open_balance`` and ``payment_source`` (booleans) of the customers listing."""
        wanted = listings.flag(query, "open_balance")
        if wanted is not None:
            owing = {i["customer"] for i in self.invoices.values() if _outstanding(i)}
            rows = [r for r in rows if (r["id"] in owing) == wanted]
        wanted = listings.flag(query, "payment_source")
        if wanted is not None:
            rows = [r for r in rows if (r.get("payment_source") is not None) == wanted]
        return rows

    def balance(self, ident: Any, query: dict[str, str]) -> dict[str, Any]:
        """``GET /customers/:id/balance``: what the customer owes on its open invoices.

        There are no payments or credits here, so ``available_credits`` is 0
        and ``history`` empty; ``due_now`` counts the invoices already due.
        """
        owner = self.customer(ident)
        currency = str(query.get("currency") or owner.get("currency") or "usd").lower()
        now = self.now()
        owed = [i for i in self.invoices.values()
                if i["customer"] == owner["id"] and i["currency"] == currency
                and _outstanding(i)]
        total = sum((_number(i["balance"], "balance") for i in owed), Decimal(0))
        due = sum((_number(i["balance"], "balance") for i in owed
                   if i.get("due_date") is None or i["due_date"] <= now), Decimal(0))
        return {"available_credits": 0, "currency": currency, "history": [],
                "past_due": any(i.get("due_date") is not None and i["due_date"] < now
                                for i in owed),
                "total_outstanding": _json_number(total), "due_now": _json_number(due)}

    def expanded(self, kind: str, rows: list[dict[str, Any]], query: dict[str, str]
                 ) -> list[dict[str, Any]]:
        """Copies of ``rows`` with the fields ``expand`` names replaced by their objects."""
        wanted = [f.strip() for f in query.get("expand", "").split(",") if f.strip()]
        if not wanted:
            return rows
        for name in wanted:
            if name not in EXPANDABLE.get(kind, frozenset()):
                raise ApiError(400, f"Invalid expand parameter: {name}", "expand")
        out = []
        for row in rows:
            row = dict(row)
            for name in wanted:
                found = self.customers.get(_int(row.get(name)))  # only customers expand
                if found is not None:
                    row[name] = found
            out.append(row)
        return out


def _outstanding(invoice: dict[str, Any]) -> bool:
    """Issued and still owed: neither a draft, voided, closed nor paid."""
    return (invoice["status"] not in ("draft", "voided", "paid") and not invoice["closed"]
            and _number(invoice["balance"], "balance") > 0)


def _due_date(invoice: dict[str, Any]) -> None:
    """A due date from ``payment_terms`` ``NET n`` when none is given, as Invoiced computes it."""
    terms = re.fullmatch(r"\s*net\s*(\d+)\s*", str(invoice.get("payment_terms") or ""),
                         re.IGNORECASE)
    if terms is not None and isinstance(invoice.get("date"), int):
        invoice["due_date"] = invoice["date"] + int(terms.group(1)) * 86400


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _lower_currency(record: dict[str, Any]) -> None:
    if isinstance(record.get("currency"), str):
        record["currency"] = record["currency"].lower()


def _adjustments(record: dict[str, Any], name: str, one: str) -> Decimal:
    """The sum of the ``amount`` of a list of discounts or taxes, each checked."""
    entries = record.get(name, [])
    if not isinstance(entries, list):
        raise ApiError(400, f"{name.capitalize()} must be a list", name)
    total = Decimal(0)
    for entry in entries:
        if not isinstance(entry, dict):
            raise ApiError(400, f"Each {one} must be an object", name)
        total += _number(entry.get("amount", 0), name)
    return total


def _totals(invoice: dict[str, Any]) -> None:
    """Subtotal of the line amounts; the total less every discount plus every tax.

    Discounts and taxes count at the invoice's level and at each line's, as
    the amounts given: coupons and tax rates are not looked up.
    """
    subtotal = sum((_number(i["amount"], "amount") for i in invoice["items"]), Decimal(0))
    total = subtotal
    for holder in [invoice, *invoice["items"]]:
        total += _adjustments(holder, "taxes", "tax") - _adjustments(holder, "discounts",
                                                                      "discount")
    invoice["subtotal"] = _json_number(subtotal)
    invoice["total"] = _json_number(total)
    invoice["balance"] = 0 if invoice.get("paid") else _json_number(total)
    if invoice.get("status") == "voided":
        return
    if invoice.get("draft"):
        invoice["status"] = "draft"
    elif invoice.get("paid"):
        invoice["status"] = "paid"
    else:
        invoice["status"] = "sent" if invoice.get("sent") else "not_sent"
