"""The REST resources of an emulated Exact Online division, answered as Exact's OData does.

One ``ServiceCall`` answers one request below ``/api/v1/``: the entity sets
talk syncs (list, read by key, create, update, delete, a document's lines),
their Sync API, ``sync/Deleted``, ``current/Me`` and the two Divisions
lists, with ``$filter``, ``$select``, ``$top``, ``$skip``, ``$orderby``,
``$expand`` and ``$inlinecount`` as Exact reads them. It knows nothing of
HTTP beyond the request's method, target, headers and body: ``server.py``
serves it, with the tokens, the rate budget and the faults in front.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from werkzeug.datastructures import Headers

from talk_exactonline.emulator.books import WORKED_OUT
from talk_exactonline.emulator.catalog import PLACES, TYPES
from talk_exactonline.emulator.divisions import DIVISION_FIELDS, DIVISION_LISTS, division_record
from talk_exactonline.emulator.entities import (
    complete,
    fields,
    guid_fields,
    navigation,
    stored_fields,
)
from talk_exactonline.emulator.filter import (
    FilterError,
    compared_literals,
    filtered_fields,
    parse_filter,
)
from talk_exactonline.emulator.state import ExactState, Refused, exact_date

SERVICES = {endpoint.path.lower(): name for name, endpoint in PLACES.items()}
SYNC = {endpoint.sync.lower(): name for name, endpoint in PLACES.items() if endpoint.sync}
MANDATORY_FILTER = {"Accounts", "Items"}
ME_FIELDS = ("UserID", "AccountingDivision", "CurrentDivision", "DivisionCustomer",
             "DivisionCustomerCode", "DivisionCustomerName", "Email", "EmployeeID", "FirstName",
             "FullName", "Initials", "IsClientUser", "Language", "LanguageCode", "LastName",
             "Legislation", "MiddleName", "Mobile", "Nationality", "PackageCode", "Phone",
             "ServerTime", "ServerUtcOffset", "Title", "UserName")


class Division(Protocol):
    """What a request needs of the emulator serving it: its records, page sizes and address."""

    state: ExactState
    page_size: int
    sync_page_size: int

    @property
    def url(self) -> str: ...


class ServiceCall:
    """One request to the division's resources; ``status``, ``body``, ``headers`` its answer."""

    def __init__(self, owner: Division, command: str, path: str,
                 headers: Headers) -> None:
        self.owner = owner
        self.command = command
        self.path = path  # the target as sent, for the __next links
        self.headers = headers
        self.status = 500
        self.body: Any = None
        self.answer_headers: dict[str, str] = {}

    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None
              ) -> None:
        self.status, self.body, self.answer_headers = status, body, dict(headers or {})

    def _me(self, query: dict[str, str]) -> None:
        """Who the token belongs to and the division they last worked in (no budget used)."""
        division = self.owner.state.division
        me: dict[str, Any] = dict.fromkeys(ME_FIELDS)
        me.update({"CurrentDivision": division, "AccountingDivision": division,
                   "FullName": "Emulated User", "FirstName": "Emulated", "LastName": "User",
                   "UserName": "emulated.user", "Email": "user@example.invalid",
                   "UserID": "00000000-0000-4000-8000-000000000001", "LanguageCode": "nl-NL",
                   "Legislation": 1, "ServerTime": exact_date(datetime.now(UTC))})
        me = {"__metadata": {"uri": f"{self.owner.url}/api/v1/current/Me(guid'{me['UserID']}')",
                             "type": "Exact.Web.Api.System.Me"}, **me}
        self._answer_list("Me", [me], query, {}, ME_FIELDS)

    def _service(self, service: str, query: dict[str, str], body: bytes,
                 headers: dict[str, str]) -> None:
        state = self.owner.state
        lowered = service.lower()
        if lowered == "sync/deleted":
            self._list("Deleted", query, headers, sync=True)
            return
        if lowered in SYNC:
            if self.command != "GET":
                raise Refused(405, "the Sync API is read only")
            self._list(SYNC[lowered], query, headers, sync=True)
            return
        address = _ADDRESS.match(service)
        name = SERVICES.get(address.group("base").lower()) if address else None
        if lowered in DIVISION_LISTS:
            if self.command != "GET":
                raise Refused(405, f"{self.command} is not allowed on {service}")
            self._divisions(lowered, query, headers)
            return
        if address is None or name is None:
            raise Refused(404, f"no such resource: {service}")
        if self.command != "GET" and PLACES[name].read_only:
            raise Refused(405, f"{name} can only be read")
        key, nav = address.group("key"), address.group("nav")
        if key is not None and name in WORKED_OUT:
            raise Refused(404, f"{service}: {name} is a list, read by $filter, not by key")
        if key is not None:
            ident = _key(key)
            if nav is not None:
                self._navigate(name, ident, nav, query, headers)
            elif self.command == "PUT":
                state.update(name, ident, self._json(body))
                self._send(204, None, headers)
            elif self.command == "DELETE":
                state.delete(name, ident)
                self._send(204, None, headers)
            elif self.command == "GET":
                record = state.records[name].get(ident)
                if record is None:
                    raise Refused(404, f"{name} {ident} does not exist")
                self._send(200, {"d": self._present(name, dict(record), query)}, headers)
            else:
                raise Refused(405, f"{self.command} is not allowed here")
            return
        if nav is not None:
            raise Refused(404, f"no such resource: {service}")
        if self.command == "POST":
            sent = self._json(body)
            made = state.create(name, sent)
            # Exact always answers the new record; Prefer: return=representation
            # adds the properties it worked out to those the client sent.
            represent = "return=representation" in (self.headers.get("Prefer") or "")
            self._send(201, {"d": self._created(name, made, sent, represent)}, headers)
            return
        if self.command != "GET":
            raise Refused(405, f"{self.command} is not allowed here")
        if name in MANDATORY_FILTER and not query.get("$filter"):
            raise Refused(400, "This endpoint has mandatory filtering applied. Please add a "
                               "$filter to the query string.")
        self._list(name, query, headers, sync=False)

    def _navigate(self, name: str, ident: str, nav: str, query: dict[str, str],
                  headers: dict[str, str]) -> None:
        """A document's lines through its deferred link, ``Quotations(guid'..')/QuotationLines``."""
        children = navigation(name)
        if children is None or nav.lower() != children.lower():
            raise Refused(404, f"{name} has no navigation property {nav}")
        if self.command != "GET":
            raise Refused(405, f"{self.command} is not allowed on {nav}")
        if ident not in self.owner.state.records[name]:
            raise Refused(404, f"{name} {ident} does not exist")
        parent_field = TYPES[children].child_of.parent_property  # type: ignore[union-attr]
        lines = [r for r in self.owner.state.listing(children) if r.get(parent_field) == ident]
        lines.sort(key=lambda r: r.get("LineNumber") or 0)
        self._list(children, query, headers, sync=False, records=lines)

    def _divisions(self, which: str, query: dict[str, str], headers: dict[str, str]) -> None:
        """The administrations the user reaches: the emulated division, and any a test added.

        The division talk works in is always one of them, as in Exact; records
        added to the state's ``Divisions`` (other administrations of the same
        licence) are listed with it, over the defaults of an administration.
        """
        state = self.owner.state
        uri = f"{self.owner.url}/api/v1/{state.division}/{which}"
        added = {r["Code"]: r for r in state.listing("Divisions") if r.get("Code") is not None}
        records = [] if state.division in added else [division_record(state.division, uri)]
        records += [{**division_record(code, uri), **record} for code, record in added.items()]
        known = (*DIVISION_FIELDS,
                 *sorted(TYPES["Divisions"].property_names - set(DIVISION_FIELDS)))
        self._answer_list("Divisions", records, query, headers, known)

    def _created(self, name: str, made: dict[str, Any], sent: dict[str, Any],
                 represent: bool) -> dict[str, Any]:
        dt = TYPES[name]
        children = navigation(name)
        if represent:
            shown = self._present(name, dict(made), {}, inline=True)
            if children:
                shown[children] = {"results": [
                    self._present(children, dict(line), {})
                    for line in (made.get(children) or {}).get("results", [])]}
            return shown
        kept = {k: made[k] for k in made if k in sent or k == dt.id_field}
        shown = self._present(name, kept, {}, inline=True, bare=True)
        if children:
            child_id = TYPES[children].id_field
            sent_lines = sent.get(children) or []
            shown[children] = {"results": [
                self._present(children, {k: line[k] for k in line
                                         if k in sent_line or k == child_id},
                              {}, bare=True)
                for line, sent_line in zip((made.get(children) or {}).get("results", []),
                                           sent_lines, strict=False)]}
        return shown

    def _json(self, body: bytes) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            raise Refused(415, "Content-Type must be application/json")
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise Refused(400, "the body is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(400, "the body must be an object")
        return data

    def _present(self, name: str, record: dict[str, Any], query: dict[str, str],
                 *, inline: bool = False, bare: bool = False) -> dict[str, Any]:
        """A record as Exact shows it: metadata, every property, lines deferred or inline.

        ``bare``: only the properties in ``record`` (a POST without Prefer).
        """
        uri_key = TYPES[name].id_field if name in TYPES else "ID"
        service = PLACES[name].path if name in PLACES else "sync/Deleted"
        ident = record.get(uri_key, "")
        stamp = record.get("Timestamp")
        if not bare:
            record = complete(name, record, self.owner.state.records,
                              self.owner.state.division)
        written = {"guid": f"guid'{ident}'", "int": f"{ident}L"}.get(
            PLACES[name].key if name in PLACES else "guid", f"'{ident}'")
        uri = f"{self.owner.url}/api/v1/{self.owner.state.division}/{service}({written})"
        record = {"__metadata": {"uri": uri, "type": f"Exact.Web.Api.Models.{name}"},
                  **record}
        children = navigation(name)
        expanded = {e.strip() for e in (query.get("$expand") or "").split(",")}
        if children and not inline and children in expanded:
            parent_field = TYPES[children].child_of.parent_property  # type: ignore[union-attr]
            lines = sorted((r for r in self.owner.state.listing(children)
                            if r.get(parent_field) == ident), key=lambda r: r["LineNumber"])
            record[children] = {"results": [self._present(children, line, {})
                                            for line in lines]}
        elif children and not inline:
            record[children] = {"__deferred": {"uri": uri + "/" + children}}
        record.pop("Timestamp", None)
        selected = _selected(query.get("$select"))
        if selected and "Timestamp" in selected and stamp is not None:
            record["Timestamp"] = stamp  # asked for on the Sync API
        return _select(record, selected)

    def _check_query(self, name: str, query: dict[str, str], known: tuple[str, ...],
                     *, sync: bool) -> None:
        """Refuse, as Exact does, a $select or $filter naming what the entity lacks."""
        allowed = set(known) | ({"Timestamp"} if sync or name == "Deleted" else set())
        children = navigation(name)
        for field in _selected(query.get("$select")) or ():
            head = field.split("/", 1)[0]
            if field == "*" or head in allowed or (children and head == children):
                continue
            raise Refused(400, f"'{field}' is not a property of {name}: "
                               "unknown property in $select")
        for field in sorted(self._filter_fields(query)):
            if field not in allowed:
                raise Refused(400, f"No property '{field}' exists in type "
                                   f"'Exact.Web.Api.Models.{name}' ($filter)")
        guids = guid_fields(name)
        text = query.get("$filter") or ""
        for field, op, literal in compared_literals(text) if text else []:
            if literal == "null" or (field in guids) == (literal == "Edm.Guid"):
                continue
            if field in guids:
                raise Refused(400, f"Operator '{op}' incompatible with operand types "
                                   f"'Edm.Guid' and '{literal}' ($filter: {field} holds a "
                                   "guid, compare it with guid'...')")
            raise Refused(400, f"Operator '{op}' incompatible with operand types "
                               f"'{field}' and 'Edm.Guid' ($filter: {field} holds no guid)")

    def _filter_fields(self, query: dict[str, str]) -> set[str]:
        text = query.get("$filter", "")
        if not text:
            return set()
        try:
            return filtered_fields(text)
        except FilterError as exc:
            raise Refused(400, str(exc)) from None

    def _list(self, name: str, query: dict[str, str], headers: dict[str, str], *,
              sync: bool, records: list[dict[str, Any]] | None = None) -> None:
        known = fields(name)
        self._check_query(name, query, known, sync=sync)
        if records is None:
            records = self.owner.state.listing(name)
        text = query.get("$filter", "")
        named = self._filter_fields(query)
        if sync and "Timestamp" not in named:
            raise Refused(400, "The Sync API needs $filter=Timestamp gt <n>L")
        if text:
            predicate = parse_filter(text)  # checked by _check_query
            if name != "Deleted" and named - stored_fields(name):
                # the filter names a property Exact works out: filter what it shows
                state = self.owner.state
                records = [r for r in records if predicate(
                    {**complete(name, r, state.records, state.division),
                     "Timestamp": r.get("Timestamp")})]
            else:
                records = [r for r in records if predicate(r)]
        if sync:
            records.sort(key=lambda r: r["Timestamp"])
        else:
            records = _ordered(records, query.get("$orderby"), known)
        self._page(name, records, query, headers, sync=sync)

    def _page(self, name: str, records: list[dict[str, Any]], query: dict[str, str],
              headers: dict[str, str], *, sync: bool) -> None:
        """One page of ``records``: $skip and $top cut the whole result, a page is 60 (1000).

        ``$top`` caps what the query answers in all, as OData has it; it never
        raises the page size. The next page is ``__next``, with the same query
        and a ``$skiptoken``: on the Sync API the last Timestamp read, elsewhere
        the position (Exact's own token is opaque; clients follow the link).
        """
        size = self.owner.sync_page_size if sync else self.owner.page_size
        skip = _count(query, "$skip")
        top = _count(query, "$top") if "$top" in query else None
        records = records[skip:]
        if top is not None:
            records = records[:top]
        total = len(records)
        if sync:
            after = int(query.get("$skiptoken", "0").rstrip("L") or 0)
            rest = [r for r in records if r["Timestamp"] > after]
            page, more = rest[:size], len(rest) > size
            token = f"{page[-1]['Timestamp']}L" if more else ""
        else:
            offset = _count(query, "$skiptoken")
            page = records[offset:offset + size]
            more = offset + size < len(records)
            token = str(offset + size)
        shown = [self._present(name, r, query) if name != "Deleted"
                 else _select(complete(name, r, {}, self.owner.state.division),
                              _selected(query.get("$select")))
                 for r in page]
        d: dict[str, Any] = {"results": shown}
        if query.get("$inlinecount") == "allpages":
            d["__count"] = str(total)
        if more:
            d["__next"] = self._next(query, {"$skiptoken": token})
        self._send(200, {"d": d}, headers)

    def _answer_list(self, name: str, records: list[dict[str, Any]], query: dict[str, str],
                     headers: dict[str, str], known: tuple[str, ...]) -> None:
        """A small list that is not one of the division's entity sets (Divisions)."""
        for field in _selected(query.get("$select")) or ():
            if field not in known:
                raise Refused(400, f"'{field}' is not a property of {name}: "
                                   "unknown property in $select")
        for field in self._filter_fields(query):
            if field not in known:
                raise Refused(400, f"No property '{field}' exists in type "
                                   f"'Exact.Web.Api.Models.{name}' ($filter)")
        if query.get("$filter"):
            predicate = parse_filter(query["$filter"])
            records = [r for r in records if predicate(r)]
        records = _ordered(records, query.get("$orderby"), known)
        if "$top" in query:
            records = records[:_count(query, "$top")]
        self._send(200, {"d": {"results": [_select(r, _selected(query.get("$select")))
                                           for r in records]}}, headers)

    def _next(self, query: dict[str, str], changes: dict[str, str]) -> str:
        merged = {**query, **changes}
        path = quote(urlsplit(self.path).path, safe="/()',%")
        return f"{self.owner.url}{path}?" + "&".join(
            f"{k}={quote(v, safe=',')}" for k, v in merged.items())


#: ``service/Entity``, ``read/financial/ReceivablesList``; a key, and after it a navigation
_ADDRESS = re.compile(
    r"^(?P<base>[^()/]+(?:/[^()/]+)+)(?:\((?P<key>[^)]*)\)(?:/(?P<nav>\w+))?)?$")


def _key(text: str) -> str:
    """The guid of ``guid'...'`` (or a bare quoted or unquoted one); 400 if it is none."""
    raw = text.strip()
    if raw.lower().startswith("guid"):
        raw = raw[4:]
    raw = raw.strip("'")
    if not _GUID.match(raw):
        raw_shown = text[:60]
        raise Refused(400, f"Invalid key: {raw_shown!r} is not a guid'...' literal")
    return raw.lower()


_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _count(query: dict[str, str], option: str) -> int:
    text = query.get(option) or "0"
    if not text.isdigit():
        raise Refused(400, f"{option} must be a whole number, not {text!r}")
    return int(text)


def _ordered(records: list[dict[str, Any]], orderby: str | None,
             known: tuple[str, ...]) -> list[dict[str, Any]]:
    """``$orderby=A desc,B``: stable sorts from the last key to the first, nulls first."""
    if not orderby:
        return records
    keys = []
    for part in orderby.split(","):
        field, _, direction = part.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if field not in known or direction not in ("asc", "desc"):
            raise Refused(400, f"cannot order by {part.strip()!r}")
        keys.append((field, direction == "desc"))
    out = list(records)
    for field, descending in reversed(keys):
        try:
            out.sort(key=_sort_key(field, str_values=False), reverse=descending)
        except TypeError:
            out.sort(key=_sort_key(field, str_values=True), reverse=descending)
    return out


def _sort_key(field: str, *, str_values: bool) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(record: dict[str, Any]) -> tuple[bool, Any]:
        value = record.get(field)
        return value is not None, (str(value) if str_values else value)
    return key


def _selected(select: str | None) -> list[str] | None:
    if not select:
        return None
    return [s.strip() for s in select.split(",") if s.strip()]


def _select(record: dict[str, Any], selected: list[str] | None) -> dict[str, Any]:
    if not selected or "*" in selected:
        return record
    wanted = {s.split("/", 1)[0] for s in selected} | {"__metadata"}
    return {k: v for k, v in record.items() if k in wanted}


