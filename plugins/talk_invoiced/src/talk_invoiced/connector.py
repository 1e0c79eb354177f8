"""The Invoiced connector: talk's record operations with Invoiced's real rules.

Every choice that differs between datatypes (where a record lives, how its
changes are read, what a delete is, which fields can change in place) is
the datatype's entry in ``schema.ENDPOINTS``; this module applies them.
Customers, invoices, contacts and line items are listed in full once and
then read from the change feed, ``/events`` (see ``changes``, ``contacts``
and ``lines``); items are listed in full every run, because items may
ignore ``updated_after`` and have no events. Records nested under a
parent (contacts under their customer, line items inside their invoice)
are remembered under the parent each was last seen in, and searched for
when it is not known.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from talk_core.connector import Page, PendingCreate, Recovered
from talk_core.errors import CircuitBroken, RecordError
from talk_core.model import DataType, Entity
from talk_core.rest import HttpStatusError
from talk_invoiced import discounts, recovering
from talk_invoiced.api import InvoicedApi, MalformedResponse, collection_path, record_path
from talk_invoiced.changes import ChangeReader
from talk_invoiced.contacts import ContactReader, owner_in_events
from talk_invoiced.events import EventFeed
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
from talk_invoiced.schema import (
    BY_NAME,
    CODE,
    ENDPOINTS,
    MARKER,
    REPLACING,
    RETIRED,
    Deleting,
    Discounts,
    Endpoint,
    Nesting,
    Reading,
    children_of,
)

log = logging.getLogger("talk.invoiced")

Reader = Callable[[str | None], Iterator[Page]]


def _as_id(value: Any) -> Any:
    """Invoiced ids are integers; talk carries them as text."""
    text = str(value)
    return int(text) if text.isdigit() else value


def _key_header(key: str) -> str | None:
    """Invoiced takes idempotency keys of 6 to 64 characters."""
    return key if 6 <= len(key) <= 64 else None


def _writable(datatype: str) -> tuple[str, ...]:
    """Fields of a record that Invoiced takes back as they are (not read-only, not its parent)."""
    endpoint = ENDPOINTS[datatype]
    return tuple(p.name for p in BY_NAME[datatype].properties
                 if not p.read_only and p.name != endpoint.parent_field)


def _hidden(endpoint: Endpoint, raw: dict[str, Any]) -> bool:
    """An object Invoiced still answers that talk reads as deleted (archived, or retired)."""
    return bool(raw.get("archived")) or (
        endpoint.deleting is Deleting.REMOVE_OR_RETIRE and retired(raw))


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
        #: datatype -> record id -> the parent id it was last seen under
        self.owners: dict[str, dict[str, str]] = {
            name: {} for name, e in ENDPOINTS.items() if e.parent is not None}
        self.events = EventFeed(api)
        # a first sync lists each parent once, for its own read and its children's
        listings = {name: SharedListing(api, ENDPOINTS[name].path,
                                        frozenset({name, *children_of(name)}))
                    for name in ENDPOINTS if children_of(name)}
        self._readers: dict[str, Reader] = {
            name: self._reader(name, endpoint, listings) for name, endpoint in ENDPOINTS.items()}

    def _reader(self, name: str, endpoint: Endpoint,
                listings: dict[str, SharedListing]) -> Reader:
        match endpoint.reading:
            case Reading.FEED:
                return ChangeReader(self.api, self.events, name, listings.get(name)).read
            case Reading.CHILD_FEED:
                assert endpoint.parent is not None
                return ContactReader(self.api, self.events, self.owners[name],
                                     listings[endpoint.parent]).read
            case Reading.INLINE_FEED:
                assert endpoint.parent is not None
                return LineReader(self.api, self.events, self.owners[name],
                                  listings[endpoint.parent]).read
            case Reading.FULL:
                return lambda _cursor: self._read_full(name)

    def __repr__(self) -> str:
        return f"InvoicedConnector({self.api!r})"

    def datatype(self, name: str) -> DataType:
        return BY_NAME[name]

    # -- read -------------------------------------------------------------------

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        self.datatype(datatype)
        yield from self._readers[datatype](cursor)

    def _read_full(self, datatype: str) -> Iterator[Page]:
        try:
            yield from self._read_listing(datatype)
        except MalformedResponse as exc:
            # a listing cut short would read as deletes of everything after it
            raise CircuitBroken(f"{exc}; the {datatype} listing is incomplete, so nothing "
                                "is treated as deleted") from None

    def _read_listing(self, datatype: str) -> Iterator[Page]:
        """Live records, and those talk archived to add again but was stopped before it did.

        Such an item is still the item (the next update of it finishes the
        replacement); read as missing, it would be deleted everywhere else.
        """
        live: set[str] = set()
        for where, rows in self.api.pages(ENDPOINTS[datatype].path):
            entities, rejects = [], []
            for raw in rows:
                try:
                    entities.append(entity(datatype, raw))
                except MalformedRecord as exc:
                    rejects.append(reject(where, raw, exc))
            live.update(e.id for e in entities)
            yield Page(entities, None, rejects)
        if ENDPOINTS[datatype].editable is None:
            return  # every change is made in place: nothing is ever half replaced
        noted = self.replacing.pending()
        if noted is not None and not noted:
            return  # no replacement was begun and left unfinished: nothing to look for
        found = self._being_replaced(datatype)
        if noted:
            self.replacing.end(noted - {str(raw["id"]) for raw in found})
        replacing = [entity(datatype, raw) for raw in found]
        if replacing := [e for e in replacing if e.id not in live]:
            yield Page(replacing, None)

    def _being_replaced(self, datatype: str, ident: str | None = None) -> list[dict[str, Any]]:
        query = {"archived": "1", f"metadata[{REPLACING}]": "1"}
        if ident is not None:
            query["filter[id]"] = ident
        found = []
        for _where, rows in self.api.pages(ENDPOINTS[datatype].path, query):
            for raw in rows:
                if isinstance(raw, dict) and "id" in raw:
                    metadata = {k: v for k, v in (raw.get("metadata") or {}).items()
                                if k != REPLACING}
                    found.append({**{k: v for k, v in raw.items() if k != "archived"},
                                  "metadata": metadata})
        return found

    # -- get --------------------------------------------------------------------

    def get(self, datatype: str, id: str) -> Entity | None:
        endpoint = ENDPOINTS[datatype]
        if endpoint.nesting is Nesting.INLINE:
            found = self._line_and_parent(datatype, id)
            return None if found is None else line_entity(found[1], found[0])
        parent = self._parent_of(datatype, id) if endpoint.nesting is Nesting.PATH else None
        if endpoint.nesting is Nesting.PATH and parent is None:
            return None
        raw = self.api.find(record_path(endpoint, id, parent))
        if raw is None or _hidden(endpoint, raw):
            return None
        return self._entity(datatype, raw, **self._under(endpoint, parent))

    def answered(self, datatype: str, raw: dict[str, Any], **extra: Any) -> Entity:
        """An object Invoiced answered as an entity; ``MalformedResponse`` if it cannot be."""
        return self._entity(datatype, raw, **extra)

    def _entity(self, datatype: str, raw: dict[str, Any], **extra: Any) -> Entity:
        try:
            return entity(datatype, raw, **extra)
        except MalformedRecord as exc:
            raise MalformedResponse(f"Invoiced {datatype} {raw.get('id')!r}: {exc}") from None

    @staticmethod
    def _under(endpoint: Endpoint, parent: str | None) -> dict[str, Any]:
        """The parent field of a nested record, which Invoiced's answer may not carry."""
        if parent is None or endpoint.parent_field is None:
            return {}
        return {endpoint.parent_field: parent}

    # -- create -----------------------------------------------------------------

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        endpoint = ENDPOINTS[datatype]
        props = copy.deepcopy(properties)
        if endpoint.nesting is Nesting.INLINE:
            return self._create_line(datatype, props, key)
        parent: str | None = None
        if endpoint.nesting is Nesting.PATH:
            parent = str(props.pop(endpoint.parent_field or "", "") or "")
            if not parent:
                raise RecordError(f"Invoiced {datatype}: a {endpoint.noun} needs its "
                                  f"{endpoint.parent_field}")
        if endpoint.discounts is Discounts.SUBTOTAL:
            self._prepare_document(datatype, props)
        if endpoint.code_id and props.get("id") not in (None, ""):
            code = str(props["id"])
            try:
                props["id"] = item_id(code)
            except ValueError as exc:
                raise RecordError(f"Invoiced {datatype}: code {code!r}: {exc}") from None
            if props["id"] != code:
                props["metadata"] = {**(props.get("metadata") or {}), CODE: code}
        if endpoint.metadata:
            props["metadata"] = {**(props.get("metadata") or {}), MARKER: key}
        for name in endpoint.id_fields:
            if name != "id" and name in props:
                props[name] = _as_id(props[name])
        raw = self.api.object("POST", collection_path(endpoint, parent), body=props,
                              key=_key_header(key))
        if endpoint.discounts is Discounts.SUBTOTAL:
            raw = self._settle(datatype, raw)
        found = self._entity(datatype, raw, **self._under(endpoint, parent))
        if parent is not None:
            self.owners[datatype][found.id] = parent
        return found

    def _prepare_document(self, datatype: str, props: dict[str, Any]) -> None:
        """Discount rates to amounts; a document number Invoiced already has is left to it.

        Numbers come from other systems too (Exact numbers quotes and orders
        apart, both from 1): a taken number would refuse the whole invoice,
        so the invoice is created with the number Invoiced assigns.
        """
        endpoint = ENDPOINTS[datatype]
        base = discounts.number(0)
        for line in props.get(endpoint.lines or "") or []:
            if isinstance(line, dict):
                discounts.apply(line, discounts.line_base(line))
                base += discounts.line_base(line)
        discounts.apply(props, base)
        number = props.get("number")
        if endpoint.unique_number and number not in (None, ""):
            for _where, rows in self.api.pages(endpoint.path, {"filter[number]": str(number)}):
                if any(isinstance(r, dict) and str(r.get("number")) == str(number)
                       for r in rows):
                    log.info("Invoiced %s number %s is taken; Invoiced assigns one",
                             endpoint.noun, number)
                    props.pop("number")
                    break

    # -- update -----------------------------------------------------------------

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        endpoint = ENDPOINTS[datatype]
        changes = copy.deepcopy(changes)
        if endpoint.nesting is Nesting.INLINE:
            return self._update_line(datatype, id, changes)
        parent: str | None = None
        if endpoint.nesting is Nesting.PATH:
            parent = self._parent_of(datatype, id)
            if parent is None:
                assert endpoint.parent is not None
                raise RecordError(f"Invoiced {datatype} {id}: not found under any "
                                  f"{ENDPOINTS[endpoint.parent].noun}")
        path = record_path(endpoint, id, parent)
        replace = endpoint.editable is not None and bool(set(changes) - endpoint.editable)
        stored: dict[str, Any] | None = None
        if (endpoint.discounts is Discounts.SUBTOTAL or endpoint.lockable
                or "metadata" in changes or replace):
            stored = self.api.find(path)
            if stored is None and endpoint.editable is not None:
                # archived by a replacement that was stopped half way: finish it
                stored = next(iter(self._being_replaced(datatype, id)), None)
                if stored is not None:
                    return self._recreate(datatype, stored, changes, archived=True)
            if stored is None:
                raise RecordError(f"Invoiced {datatype} {id}: not found")
        if endpoint.discounts is Discounts.SUBTOTAL:
            assert stored is not None
            discounts.apply(changes, discounts.number(stored.get("subtotal")),
                            stored.get("metadata"))
        if stored is not None and "metadata" in changes:
            changes["metadata"] = {**(stored.get("metadata") or {}),
                                   **(changes["metadata"] or {})}
        if endpoint.lockable:
            assert stored is not None
            _check_editable(stored, changes)
        if replace:
            assert stored is not None
            return self._recreate(datatype, stored, changes)
        raw = self.api.object("PATCH", path, body=changes)
        if endpoint.discounts is Discounts.SUBTOTAL:
            raw = self._settle(datatype, raw)
        return self._entity(datatype, raw, **self._under(endpoint, parent))

    def _recreate(self, datatype: str, stored: dict[str, Any], changes: dict[str, Any], *,
                  archived: bool = False) -> Entity:
        """Invoiced cannot change an item's price in place: archive it, add it again.

        It is marked before it is archived, so that a run stopped between the
        two calls finds it again (``_read_listing``) rather than reading a delete.
        """
        endpoint, dt = ENDPOINTS[datatype], BY_NAME[datatype]
        keep = {k: v for k, v in stored.items() if k in dt.property_names
                and not dt.property(k).read_only and v is not None}
        keep.update(changes)
        keep["id"] = stored["id"]
        metadata = {k: v for k, v in (keep.get("metadata") or {}).items() if k != REPLACING}
        keep["metadata"] = metadata
        if not archived:
            self.replacing.begin(str(stored["id"]))
            self.api.object("PATCH", record_path(endpoint, stored["id"]),
                            body={"metadata": {**metadata, REPLACING: "1"}})
            self.api.call("DELETE", record_path(endpoint, stored["id"]))
        raw = self.api.object("POST", endpoint.path, body=keep, key=f"talk-{uuid.uuid4().hex}")
        self.replacing.end({str(stored["id"])})
        return self._entity(datatype, raw)

    # -- delete -----------------------------------------------------------------

    def delete(self, datatype: str, id: str) -> None:
        endpoint = ENDPOINTS[datatype]
        if endpoint.deleting is Deleting.DROP_FROM_PARENT:
            self._delete_line(datatype, id)
            return
        if endpoint.nesting is Nesting.PATH:
            parent = self._parent_of(datatype, id)
            if parent is not None:
                self._delete_path(record_path(endpoint, id, parent))
            self.owners[datatype].pop(id, None)
            return
        try:
            self._delete_path(record_path(endpoint, id))
        except HttpStatusError as exc:
            if endpoint.deleting is not Deleting.REMOVE_OR_RETIRE or exc.status != 400:
                raise
            self._retire(datatype, id, str(exc))

    def _delete_path(self, path: str) -> None:
        try:
            self.api.call("DELETE", path)
        except HttpStatusError as exc:
            if exc.status != 404:
                raise

    def _retire(self, datatype: str, id: str, why: str) -> None:
        """A customer with invoices cannot be deleted; deactivate and mark it instead."""
        path = record_path(ENDPOINTS[datatype], id)
        stored = self.api.find(path)
        if stored is None:
            return
        log.info("Invoiced %s %s cannot be deleted (%s); deactivating it",
                 ENDPOINTS[datatype].noun, id, why)
        metadata = {**(stored.get("metadata") or {}), RETIRED: "1"}
        self.api.object("PATCH", path, body={"active": False, "metadata": metadata})

    # -- recover ----------------------------------------------------------------

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        endpoint = ENDPOINTS[datatype]
        if not endpoint.metadata:
            return self._recover_by_match(datatype, properties)
        if endpoint.nesting is Nesting.INLINE:
            assert endpoint.parent is not None
            owner = properties.get(endpoint.parent_field or "")
            parent = ENDPOINTS[endpoint.parent]
            document = self.api.find(record_path(parent, owner)) if owner else None
            for line in (document or {}).get(parent.lines or "") or []:
                if isinstance(line, dict) and marker(line) == key:
                    assert document is not None
                    return line_entity(document, line)
            return None
        for _where, rows in self.api.pages(endpoint.path, {f"metadata[{MARKER}]": key}):
            for raw in rows:
                if isinstance(raw, dict) and marker(raw) == key and not retired(raw):
                    return self._entity(datatype, raw)
        return None

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        """One listing since the oldest create, markers matched in memory (``recovering``)."""
        return recovering.recover_many(self, datatype, pending)

    def _recover_by_match(self, datatype: str, properties: dict[str, Any]) -> Entity | None:
        """Contacts have no metadata: the one with the name and e-mail sent is the one."""
        endpoint = ENDPOINTS[datatype]
        parent = str(properties.get(endpoint.parent_field or "") or "")
        if not parent:
            return None
        for _where, rows in self.api.pages(collection_path(endpoint, parent)):
            for raw in rows:
                if isinstance(raw, dict) and all(raw.get(f) == properties.get(f)
                                                 for f in endpoint.match):
                    return self._entity(datatype, raw, **self._under(endpoint, parent))
        return None

    # -- records inside their parent (line items) ---------------------------------

    def _parent_for_edit(self, datatype: str, parent_id: str,
                         changes: dict[str, Any]) -> dict[str, Any]:
        parent = ENDPOINTS[ENDPOINTS[datatype].parent or ""]
        document = self.api.find(record_path(parent, parent_id))
        if document is None:
            raise RecordError(f"Invoiced {ENDPOINTS[datatype].parent} {parent_id}: not found")
        _check_editable(document, changes)
        return document

    def _create_line(self, datatype: str, props: dict[str, Any], key: str) -> Entity:
        endpoint = ENDPOINTS[datatype]
        field = endpoint.path
        parent_id = str(props.pop(endpoint.parent_field or "", "") or "")
        if not parent_id:
            raise RecordError(f"Invoiced {datatype}: a {endpoint.noun} needs its "
                              f"{endpoint.parent_field}")
        document = self._parent_for_edit(datatype, parent_id, {field: True})
        discounts.apply(props, discounts.line_base(props))
        props["metadata"] = {**(props.get("metadata") or {}), MARKER: key}
        lines = [*_kept_lines(datatype, document), props]
        parent = ENDPOINTS[endpoint.parent or ""]
        answer = self.api.object("PATCH", record_path(parent, parent_id), body={field: lines},
                                 key=_key_header(key))
        answer = self._settle(endpoint.parent or "", answer)
        for line in answer.get(field) or []:
            if isinstance(line, dict) and marker(line) == key:
                found = line_entity(answer, line)
                self.owners[datatype][found.id] = parent_id
                return found
        raise MalformedResponse(f"Invoiced PATCH {parent.path}/{parent_id}: the new "
                                f"{endpoint.noun} is not in the answer")

    def _update_line(self, datatype: str, id: str, changes: dict[str, Any]) -> Entity:
        endpoint = ENDPOINTS[datatype]
        field = endpoint.path
        found = self._line_and_parent(datatype, id)
        if found is None:
            raise RecordError(f"Invoiced {datatype} {id}: not found on any "
                              f"{ENDPOINTS[endpoint.parent or ''].noun}")
        line, document = found
        _check_editable(document, {field: True})
        discounts.apply(changes, discounts.line_base({**line, **changes}), line.get("metadata"))
        if "metadata" in changes:
            changes["metadata"] = {**(line.get("metadata") or {}), **(changes["metadata"] or {})}
        lines = [{**entry, **changes} if str(entry["id"]) == id else entry
                 for entry in _kept_lines(datatype, document)]
        parent = ENDPOINTS[endpoint.parent or ""]
        answer = self.api.object("PATCH", record_path(parent, document["id"]),
                                 body={field: lines}, absolute=True)
        answer = self._settle(endpoint.parent or "", answer)
        for entry in answer.get(field) or []:
            if isinstance(entry, dict) and str(entry.get("id")) == id:
                return line_entity(answer, entry)
        raise MalformedResponse(f"Invoiced PATCH {parent.path}/{document['id']}: "
                                f"{endpoint.noun} {id} is not in the answer")

    def _delete_line(self, datatype: str, id: str) -> None:
        endpoint = ENDPOINTS[datatype]
        found = self._line_and_parent(datatype, id)
        if found is None:
            return
        _line, document = found
        _check_editable(document, {endpoint.path: True})
        lines = [e for e in _kept_lines(datatype, document) if str(e["id"]) != id]
        parent = endpoint.parent or ""
        self._settle(parent, self.api.object(
            "PATCH", record_path(ENDPOINTS[parent], document["id"]),
            body={endpoint.path: lines}))
        self.owners[datatype].pop(id, None)

    def _settle(self, datatype: str, document: dict[str, Any]) -> dict[str, Any]:
        """Apply talk's discount rates again to amounts their base changed; the final invoice.

        The engine adds an invoice's lines one by one after the invoice, so a
        rate written with the invoice is an amount of a subtotal that grows.
        """
        endpoint = ENDPOINTS[datatype]
        field = endpoint.lines or ""
        line_type = next(iter(children_of(datatype)), "")
        body: dict[str, Any] = {}
        lines = _kept_lines(line_type, document) if line_type else []
        changed = False
        for kept, line in zip(lines, document.get(field) or [], strict=False):
            wanted = discounts.drifted(line, discounts.line_base(line))
            if wanted is not None:
                kept["discounts"] = wanted
                changed = True
        if changed:
            body[field] = lines
        wanted = discounts.drifted(document, discounts.number(document.get("subtotal")))
        if wanted is not None:
            body["discounts"] = wanted
        if not body or document.get("status") == "voided" or document.get("closed"):
            return document
        return self.api.object("PATCH", record_path(endpoint, document["id"]), body=body,
                               absolute=True)

    def _line_and_parent(self, datatype: str, id: str
                         ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The line and its parent: where it was last seen, else by searching the parents."""
        endpoint = ENDPOINTS[datatype]
        parent = ENDPOINTS[endpoint.parent or ""]
        known = self.owners[datatype].get(id)
        if known is not None:
            document = self.api.find(record_path(parent, known))
            line = _line_in(document, endpoint.path, id)
            if document is not None and line is not None:
                return line, document
        for _where, documents in self.api.pages(parent.path):
            for document in documents:
                line = _line_in(document, endpoint.path, id)
                if line is not None:
                    self.owners[datatype][id] = str(document["id"])
                    return line, document
        return None

    # -- records under their parent's path (contacts) -----------------------------

    def _parent_of(self, datatype: str, id: str) -> str | None:
        """The parent a record is under: where last seen, as its events say, or searched.

        Contacts are read only when they change, so one that talk wrote or read
        in an earlier run is not known here; its events name its customer.
        """
        endpoint = ENDPOINTS[datatype]
        known = self.owners[datatype].get(id)
        if known is not None and self.api.find(record_path(endpoint, id, known)):
            return known
        if not id.isdigit():
            return None
        told = owner_in_events(self.events, id)
        if told is not None:
            owner, deleted = told
            if deleted:
                return None
            if owner is not None and self.api.find(record_path(endpoint, id, owner)):
                self.owners[datatype][id] = owner
                return owner
        for _where, parents in self.api.pages(ENDPOINTS[endpoint.parent or ""].path):
            for parent in parents:
                if not isinstance(parent, dict) or "id" not in parent:
                    continue
                pid = str(parent["id"])
                for _w, rows in self.api.pages(collection_path(endpoint, pid)):
                    if any(isinstance(r, dict) and str(r.get("id")) == id for r in rows):
                        self.owners[datatype][id] = pid
                        return pid
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


def _line_in(document: Any, field: str, id: str) -> dict[str, Any] | None:
    if not isinstance(document, dict):
        return None
    for line in document.get(field) or []:
        if isinstance(line, dict) and str(line.get("id")) == id:
            return line
    return None


def _kept_lines(datatype: str, document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every line as it stands, with its id, so that a PATCH of the lines keeps it."""
    out = []
    fields = _writable(datatype)
    for line in document.get(ENDPOINTS[datatype].path) or []:
        if isinstance(line, dict) and "id" in line:
            kept = {k: line[k] for k in fields if line.get(k) is not None}
            out.append({"id": line["id"], **kept})
    return out
