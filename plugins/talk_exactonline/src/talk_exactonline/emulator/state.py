"""The emulator's records, Timestamps, deletions and OAuth tokens, behind one lock.

Kept apart from the HTTP layer so the rules (what Exact stores, derives,
refuses and rotates) read as plain Python and tests can seed and inspect
them directly.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import attrs

from talk_core.model import DataType, PropertyType
from talk_exactonline.convert import CODE_WIDTH
from talk_exactonline.emulator.books import (
    WORKED_OUT,
    invoice_number,
    price_line,
    receivables,
    settle_entry,
)
from talk_exactonline.emulator.catalog import PLACES, TYPES

DAY = 86400.0
#: Fields Exact types as numbers (Edm.Double) that talk's schema keeps as text and
#: sends as decimal text: Exact parses the text, stores a number and answers with one.
NUMBERS_SENT_AS_TEXT = frozenset({("SalesOrders", "Discount")})
REFRESH_TOKEN_LIFETIME = 30 * DAY


class Refused(Exception):
    """A request Exact would refuse: status and the message of its error envelope."""

    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body


def exact_date(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)})/"


def _to_exact_date(field: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    if text.startswith("/Date("):
        return text
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(400, f"Error converting value '{text}' for property '{field}'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return exact_date(parsed)


@attrs.define
class Grant:
    """One link of a refresh-token chain and the access token issued with it."""

    refresh_token: str
    issued_at: float
    access_token: str
    access_expires: float


class ExactState:
    """Every entity of one division, and the OAuth chain of one app."""

    def __init__(self, *, division: int = 1234567, client_id: str = "talk-emulator",
                 client_secret: str = "emulator-secret", token_lifetime: float = 600.0,
                 min_refresh_age: float = 570.0, clock: Callable[[], float] = time.time
                 ) -> None:
        self.division = division
        self.client_id = client_id
        self.client_secret = client_secret
        #: the redirect URIs registered for the client; None: any loopback /callback
        self.redirect_uris: tuple[str, ...] | None = None
        self.token_lifetime = token_lifetime
        self.min_refresh_age = min_refresh_age
        self.clock = clock
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TYPES}
        self.deleted: list[dict[str, Any]] = []
        self.timestamp = 1000
        self.numbers = {name: 0 for name, endpoint in PLACES.items() if endpoint.number}
        self.numbers["Accounts"] = 0
        #: the division's sales journals (an invoice is posted in one of them)
        self.sales_journals = {"70"}
        self.grants: dict[str, Grant] = {}  # live refresh token -> grant
        self.old_refresh_tokens: set[str] = set()
        self.access_tokens: dict[str, float] = {}  # access token -> expiry
        self.codes: dict[str, float] = {}
        self.refreshes = 0
        self.add_own_division()

    def add_own_division(self) -> None:
        """The administration itself, which Exact always lists in ``hrm/Divisions``."""
        self.create("Divisions", {"Code": self.division, "Description": "Emulated administration",
                                  "Country": "NL", "Currency": "EUR"})

    # -- OAuth ------------------------------------------------------------------

    def new_code(self) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = self.clock() + 180
        return code

    def _issue(self) -> dict[str, Any]:
        now = self.clock()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.grants[refresh] = Grant(refresh, now, access, now + self.token_lifetime)
        self.access_tokens[access] = now + self.token_lifetime
        return {"access_token": access, "token_type": "bearer",
                "expires_in": str(int(self.token_lifetime)), "refresh_token": refresh}

    def redirect_allowed(self, uri: str) -> bool:
        """Whether ``uri`` is registered for the emulator's client.

        ``redirect_uris`` when given; otherwise a loopback ``/callback`` on any
        port (what ``talk auth exactonline`` listens on), since the emulator
        cannot know in advance which port talk's config names.
        """
        if self.redirect_uris is not None:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        try:
            port_ok = parts.port is not None
        except ValueError:
            return False
        return (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
                and port_ok and parts.path == "/callback" and not parts.query
                and not parts.fragment and not parts.username and not parts.password)

    def authorize(self) -> str:
        """What a person authorising talk in the browser leaves behind: a refresh token."""
        with self.lock:
            grant = self._issue()
            self.grants[grant["refresh_token"]].issued_at -= self.min_refresh_age
            return str(grant["refresh_token"])

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            if form.get("client_id") != self.client_id or form.get(
                    "client_secret") != self.client_secret:
                raise Refused(400, "invalid_client", {"error": "invalid_client"})
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                code = form.get("code", "")
                if self.codes.pop(code, 0) < self.clock():
                    raise Refused(400, "invalid_grant", {"error": "invalid_grant",
                                                         "error_description": "Invalid code"})
                return self._issue()
            if grant_type != "refresh_token":
                raise Refused(400, "unsupported_grant_type", {"error": "unsupported_grant_type"})
            refresh = form.get("refresh_token", "")
            if refresh in self.old_refresh_tokens:
                raise Refused(401, "Old refresh token used", {
                    "error": "invalid_grant", "error_description": "Old refresh token used."})
            grant = self.grants.get(refresh)
            if grant is None:
                raise Refused(400, "invalid_grant", {"error": "invalid_grant",
                                                     "error_description": "Unknown token"})
            now = self.clock()
            if now > grant.issued_at + REFRESH_TOKEN_LIFETIME:
                expired = datetime.fromtimestamp(grant.issued_at + REFRESH_TOKEN_LIFETIME, UTC)
                raise Refused(400, "expired", {
                    "error": "invalid_grant",
                    "error_description": f"The refresh token expired at {expired:%Y-%m-%d %H:%M}"})
            if now < grant.issued_at + self.min_refresh_age:
                raise Refused(400, "not expired", {
                    "error": "access_denied",
                    "error_description": "Rate limit exceeded: access_token not expired"})
            del self.grants[refresh]
            self.old_refresh_tokens.add(refresh)
            self.refreshes += 1
            return self._issue()

    def check_access(self, header: str | None) -> None:
        token = (header or "").removeprefix("Bearer ").strip()
        with self.lock:
            expires = self.access_tokens.get(token)
        if expires is None or expires < self.clock():
            raise Refused(401, "Unauthorized: the access token is invalid or has expired")

    # -- records ------------------------------------------------------------------
    def _tick(self) -> int:
        self.timestamp += 1
        return self.timestamp

    def _clean(self, dt: DataType, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            prop = dt.find(key)
            if key == dt.id_field and creating:
                out[key] = str(value).lower() if PLACES[dt.name].key == "guid" else value
                continue
            if prop is None:
                raise Refused(400, f"'{key}' is not a property of {dt.name}")
            # a datatype the API only lets be read is filled here, as Exact's own screens do
            if (prop.read_only and not PLACES[dt.name].read_only) \
                    or prop.type is PropertyType.CHILDREN:
                continue
            if prop.type is PropertyType.REFERENCE and value not in (None, ""):
                if str(value).lower() not in self.records[prop.reference or ""]:
                    raise Refused(400, f"{key}: {prop.reference} {value} does not exist")
                value = str(value).lower()
            elif prop.type in (PropertyType.DATE, PropertyType.DATETIME):
                value = _to_exact_date(key, value)
            elif (prop.type in (PropertyType.DECIMAL, PropertyType.INTEGER)
                  or (dt.name, key) in NUMBERS_SENT_AS_TEXT) and value not in (None, ""):
                try:
                    number = Decimal(str(value))
                except ArithmeticError:
                    raise Refused(400, f"Error converting value '{value}' for '{key}'") from None
                value = int(number) if prop.type is PropertyType.INTEGER else float(number)
            elif key == "Code" and value not in (None, "") and PLACES[dt.name].code_width:
                value = str(value).strip().rjust(PLACES[dt.name].code_width or CODE_WIDTH)
            elif key == "Country" and value not in (None, ""):
                value = str(value).strip().upper().ljust(3)  # Exact keeps a trailing blank
            out[key] = value
        return out

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _derive(self, name: str, record: dict[str, Any]) -> None:
        dt = TYPES[name]
        if name == "SalesEntryLines":
            price_line(record, self.records["VATCodes"])
        if name == "Contacts":
            parts = [record.get(k) for k in ("FirstName", "MiddleName", "LastName")]
            record["FullName"] = " ".join(str(p) for p in parts if p)
            record["AccountName"] = self.records["Accounts"][record["Account"]]["Name"]
        if name == "Addresses" and record.get("Account"):
            record["AccountName"] = self.records["Accounts"][record["Account"]]["Name"]
        if dt.child_of is not None and dt.find("Item") is not None:
            item = self.records["Items"].get(record.get("Item") or "", {})
            record.setdefault("Description", item.get("Description"))
            record["ItemDescription"] = item.get("Description")
            quantity = Decimal(str(record.get("Quantity") or 0))
            price = Decimal(str(record.get("UnitPrice") or 0))
            discount = Decimal(str(record.get("Discount") or 0))
            amount = float(quantity * price * (1 - discount))
            record["AmountFC" if dt.find("AmountFC") else "AmountDC"] = amount

    def _stamp(self, name: str, record: dict[str, Any]) -> None:
        record["Timestamp"] = self._tick()
        record["Modified"] = exact_date(datetime.fromtimestamp(self.clock(), UTC))

    def _required(self, dt: DataType, record: dict[str, Any]) -> None:
        if dt.name == "Contacts":
            if not record.get("FirstName") and not record.get("LastName"):
                raise Refused(400, "Mandatory: FirstName or LastName")
            if not record.get("Account"):
                raise Refused(400, "Mandatory: Account")
            return
        for prop in dt.properties:
            if prop.required and prop.type is not PropertyType.CHILDREN and prop.name not in (
                    "FullName",) and record.get(prop.name) in (None, ""):
                raise Refused(400, f"Mandatory: {prop.name}")

    def create(self, name: str, body: dict[str, Any], *, parent: str | None = None,
               line_number: int | None = None) -> dict[str, Any]:
        """A new record; a document's lines are made with it, numbered in order.

        ``line_number``: the line's place in its new parent document, known to
        the parent, so the lines of every document are not counted per line.
        """
        with self.lock:
            dt = TYPES[name]
            record = self._clean(dt, body, creating=True)
            if parent is not None and dt.child_of is not None:
                record[dt.child_of.parent_property] = parent
            self._required(dt, record)
            endpoint = PLACES[name]
            given = record.pop(dt.id_field, None)
            if given in (None, "") and endpoint.key != "guid":
                raise Refused(400, f"Mandatory: {dt.id_field}")
            ident = str(given) if given not in (None, "") else str(uuid.uuid4())
            if ident in self.records[name]:
                raise Refused(400, f"{dt.name} {ident} already exists")
            if name == "Items" and any(r["Code"] == record["Code"]
                                       for r in self.records["Items"].values()):
                raise Refused(400, f"Code {record['Code'].strip()} already exists")
            if name == "Accounts" and not record.get("Code"):
                self.numbers["Accounts"] += 1
                record["Code"] = str(self.numbers["Accounts"]).rjust(CODE_WIDTH)
            record[dt.id_field] = int(ident) if endpoint.key == "int" else ident
            if record.get("Journal") is not None and record["Journal"] not in self.sales_journals:
                raise Refused(400, f"Journal {record['Journal']} does not exist")
            children = endpoint.children
            lines = body.get(children) if children else None
            if children is not None and (not isinstance(lines, list) or not lines):
                raise Refused(400, f"Mandatory: {children}")
            if name == "SalesEntries":  # the client's number is a hint Exact may pass over
                taken = {int(r["InvoiceNumber"]) for r in self.records[name].values()}
                record["InvoiceNumber"] = invoice_number(record.get("InvoiceNumber"), taken,
                                                         self.numbers[name])
                self.numbers[name] = max(self.numbers[name], record["InvoiceNumber"])
            elif endpoint.number and not record.get(endpoint.number):
                self.numbers[name] += 1
                record[endpoint.number] = self.numbers[name]
            if name == "Quotations" and not record.get("QuotationDate"):
                # Exact dates a quotation the day it is entered
                record["QuotationDate"] = exact_date(self._now().replace(
                    hour=0, minute=0, second=0, microsecond=0))
            if endpoint.new_status is not None:
                record["Status"] = endpoint.new_status
            if dt.child_of is not None:
                parent_id = record[dt.child_of.parent_property]
                if parent is None:
                    self._check_open(dt.child_of.parent, parent_id)
                record["LineNumber"] = line_number or 1 + sum(
                    1 for r in self.records[name].values()
                    if r.get(dt.child_of.parent_property) == parent_id)
            self._derive(name, record)
            self._stamp(name, record)
            record["Created"] = record["Modified"]
            self.records[name][ident] = record
            created_lines = []
            if children is not None:
                try:
                    for number, line in enumerate(lines or [], 1):
                        made = self.create(children, line, parent=ident, line_number=number)
                        created_lines.append(self.records[children][made["ID"]])
                except Refused:
                    self.records[name].pop(ident, None)
                    for made in created_lines:
                        self.records[children].pop(made["ID"], None)
                    raise
                if name == "SalesEntries":
                    settle_entry(record, created_lines, self._now())
                else:
                    record["AmountFC"] = sum(float(x.get("AmountFC") or x.get("AmountDC") or 0)
                                             for x in created_lines)
            elif name == "SalesEntryLines" and parent is None:
                self._settle_entry(record["EntryID"])
            out = dict(record)
            if children is not None:
                out[children] = {"results": [dict(x) for x in created_lines]}
            return out

    def _settle_entry(self, entry_id: str) -> None:
        """A sales entry after its lines changed: new totals, or gone with its last line.

        Exact removes an entry whose last line is deleted (a client replacing
        the lines adds the new ones before it deletes the old).
        """
        entry = self.records["SalesEntries"].get(entry_id)
        if entry is None:
            return
        lines = [x for x in self.records["SalesEntryLines"].values()
                 if x.get("EntryID") == entry_id]
        if not lines:
            self.delete("SalesEntries", entry_id)
            return
        settle_entry(entry, lines, self._now())

    def _check_open(self, name: str, ident: str | None) -> None:
        """Refuse a change to a record, or to a line of one, that Exact holds fixed."""
        frozen = PLACES[name].frozen
        record = self.records[name].get(ident or "")
        if frozen is None or record is None:
            return
        if record.get(frozen.field) in frozen.values:
            raise Refused(400, f"{name} {ident} can no longer be changed: {frozen.reason}")

    def _check_open_record(self, name: str, record: dict[str, Any]) -> None:
        dt = TYPES[name]
        self._check_open(name, str(record.get(dt.id_field)))
        if dt.child_of is not None:
            self._check_open(dt.child_of.parent, record.get(dt.child_of.parent_property))

    def update(self, name: str, ident: str, body: dict[str, Any]) -> None:
        with self.lock:
            dt = TYPES[name]
            record = self.records[name].get(ident.lower())
            if record is None:
                raise Refused(404, f"{dt.name} {ident} does not exist")
            self._check_open_record(name, record)
            if "Code" in body:
                # what Exact does when a client sends Code on update
                raise Refused(500, "Gegeven bestaat reeds")
            changes = self._clean(dt, body, creating=False)
            if name == "SalesEntries":
                changes.pop("InvoiceNumber", None)  # numbered once, when entered
            if name == "SalesEntryLines" and {"AmountFC", "AmountDC", "VATCode"} & set(changes):
                for worked_out in {"AmountDC", "VATAmountFC", "VATAmountDC",
                                   "VATPercentage"} - set(changes):
                    record[worked_out] = None
            candidate = {**record, **changes}
            self._required(dt, candidate)
            record.update(changes)
            self._derive(name, record)
            self._stamp(name, record)
            if name == "SalesEntries":
                settle_entry(record, [x for x in self.records["SalesEntryLines"].values()
                                      if x.get("EntryID") == record["EntryID"]], self._now())
            elif name == "SalesEntryLines":
                self._settle_entry(record["EntryID"])

    def delete(self, name: str, ident: str) -> None:
        with self.lock:
            record = self.records[name].get(ident.lower())
            if record is None:
                raise Refused(404, f"{name} {ident} does not exist")
            self._check_open_record(name, record)
            del self.records[name][ident.lower()]
            now = datetime.fromtimestamp(self.clock(), UTC)
            if PLACES[name].deleted_type is not None:  # the others are gone without a trace
                self.deleted.append({"EntityKey": ident.lower(),
                                     "EntityType": PLACES[name].deleted_type,
                                     "Timestamp": self._tick(), "DeletedDate": exact_date(now),
                                     "ID": str(uuid.uuid4())})
            children = PLACES[name].children
            if children is not None:
                parent_field = TYPES[children].child_of.parent_property  # type: ignore[union-attr]
                for line_id in [k for k, v in self.records[children].items()
                                if v.get(parent_field) == ident.lower()]:
                    self.delete(children, line_id)
            if name == "SalesEntryLines":
                self._settle_entry(record["EntryID"])

    def listing(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            if name == "Deleted":
                return [dict(r) for r in self.deleted]
            if name in WORKED_OUT:
                return receivables(self.records)
            return [dict(r) for r in self.records[name].values()]
