"""The Invoiced connector: talk's record operations with Invoiced's real rules.

Customers, invoices, contacts and line items are listed in full once and
then read from the change feed, ``/events`` (see ``changes``, ``contacts``
and ``lines``); items are listed in full every run, because items may
ignore ``updated_after`` and have no events. Line items and
contacts live under a parent, so the connector remembers which parent each
one was last seen under, and searches when it does not know.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from talk_core.connector import Page, PendingCreate, Recovered
from talk_core.errors import CircuitBroken, RecordError
from talk_core.http import HttpStatusError
from talk_core.model import DataType, Entity, ReadMode
from talk_invoiced import discounts, recovering
from talk_invoiced.api import InvoicedApi, MalformedResponse, contact_path, segment
from talk_invoiced.changes import ChangeReader
from talk_invoiced.contacts import READER as CONTACTS
from talk_invoiced.contacts import ContactReader, owner_in_events
from talk_invoiced.events import EventFeed
from talk_invoiced.lines import READER as LINES
from talk_invoiced.lines import LineReader
from talk_invoiced.listing import SharedListing
from talk_invoiced.records import (
    MalformedRecord,
    entity,
    item_id,
    line_entity,
    marker,
    reject,
    retired,
)
from talk_invoiced.replacing import ReplacementNote
from talk_invoiced.schema import BY_NAME, CODE, MARKER, REPLACING, RETIRED

log = logging.getLogger("talk.invoiced")

PATHS = {"customers": "customers", "invoices": "invoices", "items": "items"}
#: What Invoiced lets change on a catalog item; anything else means a new item.
ITEM_EDITABLE = frozenset({"name", "description", "type", "metadata"})
#: Line fields kept when the whole list is sent back to change one line.
LINE_FIELDS = ("catalog_item", "type", "name", "description", "quantity", "unit_cost",
               "discountable", "taxable", "discounts", "taxes", "metadata")


def _as_id(value: Any) -> Any:
    """Invoiced ids are integers; talk carries them as text."""
    text = str(value)
    return int(text) if text.isdigit() else value


def _key_header(key: str) -> str | None:
    """Invoiced takes idempotency keys of 6 to 64 characters."""
    return key if 6 <= len(key) <= 64 else None


class InvoicedConnector:
    """One Invoiced account as talk's ``Connector``.

    ``replacing`` keeps, between runs, which items a price change has
    archived and not added again yet; without it every read of items looks
    for such items.
    """

    def __init__(self, api: InvoicedApi, replacing: ReplacementNote | None = None) -> None:
        self.api = api
        self.replacing = replacing or ReplacementNote("invoiced", None)
        self.page_size = api.page_size
        self._contact_customer: dict[str, str] = {}
        self._line_invoice: dict[str, str] = {}
        self.events = EventFeed(api)
        # a first sync lists customers and invoices once, for their children too
        customers = SharedListing(api, "customers", frozenset({"customers", CONTACTS}))
        invoices = SharedListing(api, "invoices", frozenset({"invoices", LINES}))
        self._changes = {
            "customers": ChangeReader(api, self.events, "customers", customers),
            "invoices": ChangeReader(api, self.events, "invoices", invoices),
        }
        self._contacts = ContactReader(api, self.events, self._contact_customer, customers)
        self._lines = LineReader(api, self.events, self._line_invoice, invoices)

    def __repr__(self) -> str:
        return f"InvoicedConnector({self.api!r})"

    def datatype(self, name: str) -> DataType:
        return BY_NAME[name]

    # -- read -------------------------------------------------------------------

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        dt = self.datatype(datatype)
        if datatype in self._changes:
            yield from self._changes[datatype].read(cursor)
            return
        if datatype == "contacts":
            yield from self._contacts.read(cursor)
            return
        if datatype == "lineitems":
            yield from self._lines.read(cursor)
            return
        assert dt.read_mode is ReadMode.FULL
        try:
            yield from self._read_items()
        except MalformedResponse as exc:
            # a listing cut short would read as deletes of everything after it
            raise CircuitBroken(f"{exc}; the {datatype} listing is incomplete, so nothing "
                                "is treated as deleted") from None

    def _read_listing(self, datatype: str, path: str) -> Iterator[Page]:
        for where, rows in self.api.pages(path):
            entities, rejects = [], []
            for raw in rows:
                try:
                    entities.append(entity(datatype, raw))
                except MalformedRecord as exc:
                    rejects.append(reject(where, raw, exc))
            yield Page(entities, None, rejects)

    def _read_items(self) -> Iterator[Page]:
        """Live items, and items talk archived to add again but was stopped before it did.

        Such an item is still the item (the next update of it finishes the
        replacement); read as missing, it would be deleted everywhere else.
        """
        live: set[str] = set()
        for page in self._read_listing("items", "items"):
            live.update(e.id for e in page.entities)
            yield page
        noted = self.replacing.pending()
        if noted is not None and not noted:
            return  # no replacement was begun and left unfinished: nothing to look for
        found = self._items_being_replaced()
        if noted:
            self.replacing.end(noted - {str(raw["id"]) for raw in found})
        replacing = [entity("items", raw) for raw in found]
        if replacing := [e for e in replacing if e.id not in live]:
            yield Page(replacing, None)

    def _items_being_replaced(self, ident: str | None = None) -> list[dict[str, Any]]:
        query = {"archived": "1", f"metadata[{REPLACING}]": "1"}
        if ident is not None:
            query["filter[id]"] = ident
        found = []
        for _where, rows in self.api.pages("items", query):
            for raw in rows:
                if isinstance(raw, dict) and "id" in raw:
                    metadata = {k: v for k, v in (raw.get("metadata") or {}).items()
                                if k != REPLACING}
                    found.append({**{k: v for k, v in raw.items() if k != "archived"},
                                  "metadata": metadata})
        return found

    # -- get --------------------------------------------------------------------

    def get(self, datatype: str, id: str) -> Entity | None:
        if datatype == "contacts":
            customer = self._customer_of(id)
            if customer is None:
                return None
            raw = self.api.find(contact_path(customer, id))
            return None if raw is None else self._entity("contacts", raw, customer=customer)
        if datatype == "lineitems":
            found = self._line_and_invoice(id)
            return None if found is None else line_entity(found[1], found[0])
        raw = self.api.find(f"{PATHS[datatype]}/{segment(id)}")
        if raw is None or (datatype == "customers" and retired(raw)) or raw.get("archived"):
            return None
        return self._entity(datatype, raw)

    def answered(self, datatype: str, raw: dict[str, Any], **extra: Any) -> Entity:
        """An object Invoiced answered as an entity; ``MalformedResponse`` if it cannot be."""
        return self._entity(datatype, raw, **extra)

    def _entity(self, datatype: str, raw: dict[str, Any], **extra: Any) -> Entity:
        try:
            return entity(datatype, raw, **extra)
        except MalformedRecord as exc:
            raise MalformedResponse(f"Invoiced {datatype} {raw.get('id')!r}: {exc}") from None

    # -- create -----------------------------------------------------------------

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        props = copy.deepcopy(properties)
        if datatype == "contacts":
            customer = str(props.pop("customer", "") or "")
            if not customer:
                raise RecordError("Invoiced contacts: a contact needs its customer")
            raw = self.api.object("POST", f"customers/{segment(customer)}/contacts", body=props,
                                  key=_key_header(key))
            found = self._entity("contacts", raw, customer=customer)
            self._contact_customer[found.id] = customer
            return found
        if datatype == "lineitems":
            return self._create_line(props, key)
        if datatype == "invoices":
            self._prepare_invoice(props)
        if datatype == "items" and props.get("id") not in (None, ""):
            code = str(props["id"])
            try:
                props["id"] = item_id(code)
            except ValueError as exc:
                raise RecordError(f"Invoiced items: code {code!r}: {exc}") from None
            if props["id"] != code:
                props["metadata"] = {**(props.get("metadata") or {}), CODE: code}
        props["metadata"] = {**(props.get("metadata") or {}), MARKER: key}
        if "customer" in props:
            props["customer"] = _as_id(props["customer"])
        raw = self.api.object("POST", PATHS[datatype], body=props, key=_key_header(key))
        if datatype == "invoices":
            raw = self._settle(raw)
        return self._entity(datatype, raw)

    def _prepare_invoice(self, props: dict[str, Any]) -> None:
        """Discount rates to amounts; an invoice number Invoiced already has is left to it.

        Numbers come from other systems too (Exact numbers quotes and orders
        apart, both from 1): a taken number would refuse the whole invoice,
        so the invoice is created with the number Invoiced assigns.
        """
        base = discounts.number(0)
        for line in props.get("items") or []:
            if isinstance(line, dict):
                discounts.apply(line, discounts.line_base(line))
                base += discounts.line_base(line)
        discounts.apply(props, base)
        number = props.get("number")
        if number not in (None, ""):
            for _where, rows in self.api.pages("invoices", {"filter[number]": str(number)}):
                if any(isinstance(r, dict) and str(r.get("number")) == str(number)
                       for r in rows):
                    log.info("Invoiced invoice number %s is taken; Invoiced assigns one",
                             number)
                    props.pop("number")
                    break

    # -- update -----------------------------------------------------------------

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        changes = copy.deepcopy(changes)
        if datatype == "contacts":
            customer = self._customer_of(id)
            if customer is None:
                raise RecordError(f"Invoiced contacts {id}: not found under any customer")
            raw = self.api.object("PATCH", contact_path(customer, id), body=changes)
            return self._entity("contacts", raw, customer=customer)
        if datatype == "lineitems":
            return self._update_line(id, changes)
        path = f"{PATHS[datatype]}/{segment(id)}"
        stored: dict[str, Any] | None = None
        if datatype == "invoices" or "metadata" in changes or (
                datatype == "items" and set(changes) - ITEM_EDITABLE):
            stored = self.api.find(path)
            if stored is None and datatype == "items":
                # archived by a replacement that was stopped half way: finish it
                stored = next(iter(self._items_being_replaced(id)), None)
                if stored is not None:
                    return self._recreate_item(stored, changes, archived=True)
            if stored is None:
                raise RecordError(f"Invoiced {datatype} {id}: not found")
        if datatype == "invoices":
            assert stored is not None
            discounts.apply(changes, discounts.number(stored.get("subtotal")),
                            stored.get("metadata"))
        if stored is not None and "metadata" in changes:
            changes["metadata"] = {**(stored.get("metadata") or {}),
                                   **(changes["metadata"] or {})}
        if datatype == "invoices":
            assert stored is not None
            _check_editable(stored, changes)
        if datatype == "items" and set(changes) - ITEM_EDITABLE:
            assert stored is not None
            return self._recreate_item(stored, changes)
        raw = self.api.object("PATCH", path, body=changes)
        if datatype == "invoices":
            raw = self._settle(raw)
        return self._entity(datatype, raw)

    def _recreate_item(self, stored: dict[str, Any], changes: dict[str, Any], *,
                       archived: bool = False) -> Entity:
        """Invoiced cannot change an item's price in place: archive it, add it again.

        It is marked before it is archived, so that a run stopped between the
        two calls finds it again (``_read_items``) rather than reading a delete.
        """
        keep = {k: v for k, v in stored.items() if k in BY_NAME["items"].property_names
                and not BY_NAME["items"].property(k).read_only and v is not None}
        keep.update(changes)
        keep["id"] = stored["id"]
        metadata = {k: v for k, v in (keep.get("metadata") or {}).items() if k != REPLACING}
        keep["metadata"] = metadata
        if not archived:
            self.replacing.begin(str(stored["id"]))
            self.api.object("PATCH", f"items/{segment(stored['id'])}",
                            body={"metadata": {**metadata, REPLACING: "1"}})
            self.api.call("DELETE", f"items/{segment(stored['id'])}")
        raw = self.api.object("POST", "items", body=keep, key=f"talk-{uuid.uuid4().hex}")
        self.replacing.end({str(stored["id"])})
        return self._entity("items", raw)

    # -- delete -----------------------------------------------------------------

    def delete(self, datatype: str, id: str) -> None:
        if datatype == "contacts":
            customer = self._customer_of(id)
            if customer is not None:
                self._delete_path(contact_path(customer, id))
            self._contact_customer.pop(id, None)
            return
        if datatype == "lineitems":
            self._delete_line(id)
            return
        path = f"{PATHS[datatype]}/{segment(id)}"
        try:
            self._delete_path(path)
        except HttpStatusError as exc:
            if datatype != "customers" or exc.status != 400:
                raise
            self._retire_customer(id, str(exc))

    def _delete_path(self, path: str) -> None:
        try:
            self.api.call("DELETE", path)
        except HttpStatusError as exc:
            if exc.status != 404:
                raise

    def _retire_customer(self, id: str, why: str) -> None:
        """A customer with invoices cannot be deleted; deactivate and mark it instead."""
        stored = self.api.find(f"customers/{segment(id)}")
        if stored is None:
            return
        log.info("Invoiced customer %s cannot be deleted (%s); deactivating it", id, why)
        metadata = {**(stored.get("metadata") or {}), RETIRED: "1"}
        self.api.object("PATCH", f"customers/{segment(id)}",
                        body={"active": False, "metadata": metadata})

    # -- recover ----------------------------------------------------------------

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        if datatype == "contacts":
            return self._recover_contact(properties)
        if datatype == "lineitems":
            owner = properties.get("invoice")
            invoice = self.api.find(f"invoices/{segment(owner)}") if owner else None
            for line in (invoice or {}).get("items") or []:
                if isinstance(line, dict) and marker(line) == key:
                    assert invoice is not None
                    return line_entity(invoice, line)
            return None
        for _where, rows in self.api.pages(PATHS[datatype], {f"metadata[{MARKER}]": key}):
            for raw in rows:
                if isinstance(raw, dict) and marker(raw) == key and not retired(raw):
                    return self._entity(datatype, raw)
        return None

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        """One listing since the oldest create, markers matched in memory (``recovering``)."""
        return recovering.recover_many(self, datatype, PATHS.get(datatype, ""), pending)

    def _recover_contact(self, properties: dict[str, Any]) -> Entity | None:
        """Contacts have no metadata: the one with the name and e-mail sent is the one."""
        customer = str(properties.get("customer") or "")
        if not customer:
            return None
        for _where, rows in self.api.pages(f"customers/{segment(customer)}/contacts"):
            for raw in rows:
                if (isinstance(raw, dict) and raw.get("name") == properties.get("name")
                        and raw.get("email") == properties.get("email")):
                    return self._entity("contacts", raw, customer=customer)
        return None

    # -- line items -------------------------------------------------------------

    def _invoice_for_edit(self, invoice_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        invoice = self.api.find(f"invoices/{segment(invoice_id)}")
        if invoice is None:
            raise RecordError(f"Invoiced invoices {invoice_id}: not found")
        _check_editable(invoice, changes)
        return invoice

    def _create_line(self, props: dict[str, Any], key: str) -> Entity:
        invoice_id = str(props.pop("invoice", "") or "")
        if not invoice_id:
            raise RecordError("Invoiced lineitems: a line item needs its invoice")
        invoice = self._invoice_for_edit(invoice_id, {"items": True})
        discounts.apply(props, discounts.line_base(props))
        props["metadata"] = {**(props.get("metadata") or {}), MARKER: key}
        lines = [*_kept_lines(invoice), props]
        answer = self.api.object("PATCH", f"invoices/{segment(invoice_id)}", body={"items": lines},
                                 key=_key_header(key))
        answer = self._settle(answer)
        for line in answer.get("items") or []:
            if isinstance(line, dict) and marker(line) == key:
                found = line_entity(answer, line)
                self._line_invoice[found.id] = invoice_id
                return found
        raise MalformedResponse(f"Invoiced PATCH invoices/{invoice_id}: the new line item "
                                "is not in the answer")

    def _update_line(self, id: str, changes: dict[str, Any]) -> Entity:
        found = self._line_and_invoice(id)
        if found is None:
            raise RecordError(f"Invoiced lineitems {id}: not found on any invoice")
        line, invoice = found
        _check_editable(invoice, {"items": True})
        discounts.apply(changes, discounts.line_base({**line, **changes}), line.get("metadata"))
        if "metadata" in changes:
            changes["metadata"] = {**(line.get("metadata") or {}), **(changes["metadata"] or {})}
        lines = [{**entry, **changes} if str(entry["id"]) == id else entry
                 for entry in _kept_lines(invoice)]
        answer = self.api.object("PATCH", f"invoices/{segment(invoice['id'])}",
                                 body={"items": lines}, absolute=True)
        answer = self._settle(answer)
        for entry in answer.get("items") or []:
            if isinstance(entry, dict) and str(entry.get("id")) == id:
                return line_entity(answer, entry)
        raise MalformedResponse(f"Invoiced PATCH invoices/{invoice['id']}: line item {id} "
                                "is not in the answer")

    def _delete_line(self, id: str) -> None:
        found = self._line_and_invoice(id)
        if found is None:
            return
        _line, invoice = found
        _check_editable(invoice, {"items": True})
        lines = [e for e in _kept_lines(invoice) if str(e["id"]) != id]
        self._settle(self.api.object("PATCH", f"invoices/{segment(invoice['id'])}",
                                     body={"items": lines}))
        self._line_invoice.pop(id, None)

    def _settle(self, invoice: dict[str, Any]) -> dict[str, Any]:
        """Apply talk's discount rates again to amounts their base changed; the final invoice.

        The engine adds an invoice's lines one by one after the invoice, so a
        rate written with the invoice is an amount of a subtotal that grows.
        """
        body: dict[str, Any] = {}
        lines = _kept_lines(invoice)
        changed = False
        for kept, line in zip(lines, invoice.get("items") or [], strict=False):
            wanted = discounts.drifted(line, discounts.line_base(line))
            if wanted is not None:
                kept["discounts"] = wanted
                changed = True
        if changed:
            body["items"] = lines
        wanted = discounts.drifted(invoice, discounts.number(invoice.get("subtotal")))
        if wanted is not None:
            body["discounts"] = wanted
        if not body or invoice.get("status") == "voided" or invoice.get("closed"):
            return invoice
        return self.api.object("PATCH", f"invoices/{segment(invoice['id'])}", body=body,
                               absolute=True)

    def _line_and_invoice(self, id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The line and its invoice: where it was last seen, else by searching invoices."""
        known = self._line_invoice.get(id)
        if known is not None:
            invoice = self.api.find(f"invoices/{segment(known)}")
            line = _line_in(invoice, id)
            if invoice is not None and line is not None:
                return line, invoice
        for _where, invoices in self.api.pages("invoices"):
            for invoice in invoices:
                line = _line_in(invoice, id)
                if line is not None:
                    self._line_invoice[id] = str(invoice["id"])
                    return line, invoice
        return None

    def _customer_of(self, contact_id: str) -> str | None:
        """The customer a contact is under: where last seen, as its events say, or searched.

        Contacts are read only when they change, so one that talk wrote or read
        in an earlier run is not known here; its events name its customer.
        """
        known = self._contact_customer.get(contact_id)
        if known is not None and self.api.find(contact_path(known, contact_id)):
            return known
        if not contact_id.isdigit():
            return None
        told = owner_in_events(self.events, contact_id)
        if told is not None:
            owner, deleted = told
            if deleted:
                return None
            if owner is not None and self.api.find(contact_path(owner, contact_id)):
                self._contact_customer[contact_id] = owner
                return owner
        for _where, customers in self.api.pages("customers"):
            for customer in customers:
                if not isinstance(customer, dict) or "id" not in customer:
                    continue
                cid = str(customer["id"])
                for _w, rows in self.api.pages(f"customers/{segment(cid)}/contacts"):
                    if any(isinstance(r, dict) and str(r.get("id")) == contact_id for r in rows):
                        self._contact_customer[contact_id] = cid
                        return cid
        return None

    def close(self) -> None:
        self.api.close()


def _check_editable(invoice: dict[str, Any], changes: dict[str, Any]) -> None:
    """Invoiced refuses edits to voided invoices, and to closed ones unless reopened."""
    if invoice.get("status") == "voided":
        raise RecordError(f"Invoiced invoices {invoice.get('id')}: the invoice is voided and "
                          "cannot be edited")
    if invoice.get("closed") and changes.get("closed") is not False:
        raise RecordError(f"Invoiced invoices {invoice.get('id')}: the invoice is closed; "
                          "reopen it to edit it")


def _line_in(invoice: Any, id: str) -> dict[str, Any] | None:
    if not isinstance(invoice, dict):
        return None
    for line in invoice.get("items") or []:
        if isinstance(line, dict) and str(line.get("id")) == id:
            return line
    return None


def _kept_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    """Every line as it stands, with its id, so that a PATCH of ``items`` keeps it."""
    out = []
    for line in invoice.get("items") or []:
        if isinstance(line, dict) and "id" in line:
            kept = {k: line[k] for k in LINE_FIELDS if line.get(k) is not None}
            out.append({"id": line["id"], **kept})
    return out
