"""The Exact Online connector: Sync API reads, OData writes, within Exact's budgets.

Reads use the Sync API (1000 a page, ``Timestamp gt ...L``) with the highest
Timestamp as the cursor, and ``sync/Deleted`` for tombstones, read once a
run for every datatype and dispatched by ``EntityType``; lookups use
the normal endpoints with the ``$filter`` they demand. Every listing pages
on OData's ``__next`` (``talk_core.rest.ODataNext``). Writes are sent once
(never resent blindly: Exact blocks keys that keep failing). HTTP is the
transport base's: ``BearerAuth`` is its ``OAuth2`` over the token manager,
so a 401 costs one token refresh and one more try, and a second 401 is
``ExactAuthError`` (the error map); a page of HTML is an outage.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from talk_core import interrupt
from talk_core.connector import Page, PendingCreate, Recovered, Reject, recover_each
from talk_core.errors import AmbiguousRecovery, RecordError
from talk_core.feed import SharedFeed, Snapshot
from talk_core.model import DataType, Entity, PropertyType
from talk_core.rest import HttpClient, HttpStatusError, ODataNext, PageRequest
from talk_exactonline import recovery
from talk_exactonline.budget import RateBudget
from talk_exactonline.convert import parse_exact_datetime, split_full_name
from talk_exactonline.oauth import AGAIN, BearerAuth, ExactAuthError, TokenManager
from talk_exactonline.odata import (
    ExactResponseError,
    describe_error,
    envelope,
    is_guid,
    literal,
    results,
)
from talk_exactonline.schema import BY_NAME, ENDPOINTS, Endpoint
from talk_exactonline.values import bad_value

if TYPE_CHECKING:
    from talk_core.system import SystemSpec

log = logging.getLogger("talk.exactonline")

DROPPED = frozenset({"__metadata", "Timestamp"})
#: When Exact made a record: selected (and kept out of its properties) where it has
#: ``Modified``, so that a record changed since it was made tells so (``Entity.created``)
CREATED = "Created"
#: Records a page on Exact's normal (not Sync) endpoints; ``$top`` cannot raise it.
LIST_PAGE = 60


class Cursor:
    """Where a datatype's reading stopped: last Timestamp of records and of deletions."""

    def __init__(self, changed: int = 1, deleted: int = 1) -> None:
        self.changed = changed
        self.deleted = deleted

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        try:
            changed, deleted = text.split(":")
            return cls(int(changed), int(deleted))
        except ValueError:
            raise RecordError(f"Exact Online cursor {text!r} is not 'timestamp:timestamp'"
                              ) from None

    def __str__(self) -> str:
        return f"{self.changed}:{self.deleted}"


class ExactConnector:
    """One Exact Online division, as one configured system instance."""

    page_size = 1000

    def __init__(self, name: str, *, base_url: str, tokens: TokenManager,
                 division: int | None = None, budget: RateBudget | None = None,
                 verify: bool = True, sleep: Callable[[float], None] = interrupt.sleep,
                 limits: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.tokens = tokens
        self.budget = budget or RateBudget(sleep=sleep)
        self.http = HttpClient(base_url, name="Exact Online", auth=BearerAuth(tokens),
                               headers={"Accept": "application/json"}, budget=self.budget,
                               describe_error=describe_error, verify=verify, sleep=sleep,
                               errors={401: self._refused_twice}, answers_json=True,
                               limits=limits)
        self._division = division
        # this instance's own spec where its options change the routes (invoices_as)
        self.spec: SystemSpec | None = None
        # deletions of every datatype come from one read a run (see talk_core.feed)
        self.deletions = SharedFeed(self._deleted_since, _timestamp)

    def __repr__(self) -> str:
        return f"ExactConnector({self.name!r}, division={self._division!r})"

    # -- plumbing ---------------------------------------------------------------
    def datatype(self, name: str) -> DataType:
        return BY_NAME[name]

    def _refused_twice(self, message: str, status: int, body: Any) -> Exception:
        """A 401 after the token was refreshed once (``BearerAuth``): authorise again."""
        return ExactAuthError(f"Exact Online refused the token of {self.name!r} twice; "
                              + AGAIN.format(name=self.name))

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, path, **kwargs)

    def _pages(self, path: str, what: str) -> Iterator[tuple[Any, list[Any]]]:
        """Each page of an OData listing (its ``d`` and records), following ``__next``.

        Under the ``Paging`` guard: a ``__next`` back to a page already read
        would page forever.
        """
        pager = ODataNext(field="__next")
        asked: PageRequest | None = pager.first(path, {})
        paging = self.http.paging(what)
        while asked is not None:
            paging.next(asked.marker())
            response = self._call("GET", asked.path)
            d = envelope(response, what)
            found, _ = results(d, what)
            yield d, found
            asked = pager.next(asked, response, d, found)

    @property
    def division(self) -> int:
        if self._division is None:
            response = self._call("GET", "api/v1/current/Me?$select=CurrentDivision")
            found, _ = results(envelope(response, "current/Me"), "current/Me")
            if not found or not isinstance(found[0], dict) or "CurrentDivision" not in found[0]:
                raise ExactResponseError("Exact Online current/Me: no CurrentDivision")
            self._division = int(found[0]["CurrentDivision"])
        return self._division

    def _path(self, service_path: str) -> str:
        return f"api/v1/{self.division}/{service_path}"

    def _select(self, dt: DataType) -> str:
        own = talks_own(ENDPOINTS[dt.name])
        names = [dt.id_field] + [p.name for p in dt.properties
                                 if p.type is not PropertyType.CHILDREN and p.name != dt.id_field
                                 and p.name not in own]
        if dt.updated_field and not ENDPOINTS[dt.name].read_only:
            names.append(CREATED)  # what recovery tells an edit since a create by
        return ",".join(names)

    def _entity(self, dt: DataType, record: Any, *, listed: bool = False) -> Entity:
        """An Exact record as an Entity; raises ExactResponseError naming what is wrong.

        A ``listed`` record (read, not the answer to talk's own write) is also
        held to Exact's types: refusing the answer to a create would make the
        record look unmade, and the next run would make it twice.
        """
        what = f"{dt.name}"
        if not isinstance(record, dict):
            raise ExactResponseError(f"Exact Online {what}: a record is not an object")
        endpoint = ENDPOINTS[dt.name]
        ident = record.get(dt.id_field)
        if endpoint.key == "int" and isinstance(ident, int) and not isinstance(ident, bool):
            ident = str(ident)
        if not isinstance(ident, str) or not ident:
            raise ExactResponseError(f"Exact Online {what}: record without {dt.id_field}")
        problem = bad_value(dt, record) if listed else None
        if problem is not None:
            raise ExactResponseError(f"Exact Online {what} {ident}: {problem}")
        props: dict[str, Any] = {}
        for key, value in record.items():
            if key in DROPPED or (isinstance(value, dict) and "__deferred" in value):
                continue
            prop = dt.find(key)
            if prop is not None and prop.type is PropertyType.CHILDREN:
                continue
            props[key] = value
        for field, parts in endpoint.joined:
            joined = " ".join(str(props[p]).strip() for p in parts
                              if props.get(p) not in (None, ""))
            props[field] = joined or None
        if endpoint.self_field:
            props[endpoint.self_field] = ident
        updated = _moment(what, ident, dt.updated_field, props) if dt.updated_field else None
        created = _moment(what, ident, CREATED, {CREATED: props.pop(CREATED, None)})
        return Entity(ident, props, updated, created=created)

    # -- reading ------------------------------------------------------------------
    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        dt, endpoint = BY_NAME[datatype], ENDPOINTS[datatype]
        if endpoint.sync is None:
            yield from self._read_all(dt)
            return
        position = Cursor.parse(cursor)
        url = self._path(
            f"{endpoint.sync}?$filter={quote(f'Timestamp gt {position.changed}L')}"
            f"&$select={self._select(dt)},Timestamp")
        pages = self._pages(url, datatype)
        while True:
            try:
                _d, found = next(pages, (None, None))
            except ExactResponseError as exc:
                yield self._bad_page(datatype, position, exc)
                return
            if found is None:
                break
            entities, rejects = [], []
            for record in found:
                stamp = record.get("Timestamp") if isinstance(record, dict) else None
                if isinstance(stamp, int) and stamp > position.changed:
                    position.changed = stamp
                try:
                    entities.append(self._entity(dt, record, listed=True))
                except ExactResponseError as exc:
                    ident = record.get(dt.id_field) if isinstance(record, dict) else None
                    rejects.append(Reject(str(ident or f"{datatype}?"), str(exc),
                                          record if isinstance(record, dict) else None))
            yield Page(entities, str(position), rejects)
        try:
            gone, newest = self.deletions.since(datatype, position.deleted)
        except ExactResponseError as exc:
            yield self._bad_page(datatype, position, exc)
            return
        tombstones = [Entity(r["EntityKey"], {}, deleted=True) for r in gone
                      if _entity_type(r) == endpoint.deleted_type]
        chunks = [tombstones[i:i + self.page_size]
                  for i in range(0, len(tombstones), self.page_size)] or [[]]
        for chunk in chunks[:-1]:
            yield Page(chunk, str(position))
        position.deleted = newest  # with the last of them only
        yield Page(chunks[-1], str(position))

    def _read_all(self, dt: DataType) -> Iterator[Page]:
        """Every record of a datatype without a Sync API, 60 a page (``ReadMode.FULL``).

        Exact reports no deletes of these: the engine tells them by absence.
        """
        url: str | None = self._path(f"{ENDPOINTS[dt.name].path}?$select={self._select(dt)}")
        paging = self.http.paging(dt.name)
        while url is not None:
            paging.next(url)
            try:
                found, url = results(envelope(self._call("GET", url), dt.name), dt.name)
            except ExactResponseError as exc:
                log.warning("%s", exc)
                yield Page([], None, [Reject(f"{dt.name} listing", str(exc),
                                             {"body": exc.raw}, page=True)])
                return
            entities, rejects = [], []
            for record in found:
                try:
                    entities.append(self._entity(dt, record, listed=True))
                except ExactResponseError as exc:
                    ident = record.get(dt.id_field) if isinstance(record, dict) else None
                    rejects.append(Reject(str(ident or f"{dt.name}?"), str(exc),
                                          record if isinstance(record, dict) else None))
            yield Page(entities, None, rejects)

    def _deleted_since(self, after: int | None) -> Snapshot:
        """Every deletion Exact reports after ``after``, of all entity types at once."""
        since = 1 if after is None else after
        url = self._path(f"sync/Deleted?$filter={quote(f'Timestamp gt {since}L')}"
                         "&$select=EntityKey,EntityType,Timestamp")
        records: list[dict[str, Any]] = []
        top = since
        for _d, found in self._pages(url, "Deleted"):
            for record in found:
                if isinstance(record, dict) and isinstance(record.get("EntityKey"), str) \
                        and isinstance(record.get("Timestamp"), int):
                    records.append(record)
                    top = max(top, record["Timestamp"])
        return Snapshot(records, since, top)

    def _bad_page(self, datatype: str, position: Cursor, exc: ExactResponseError) -> Page:
        """A page that cannot be read becomes one dead letter; the run goes on without it."""
        log.warning("%s", exc)
        return Page([], str(position),
                    [Reject(f"{datatype} page after {position}", str(exc), {"body": exc.raw},
                            page=True)])

    def _lookup(self, dt: DataType, filter_: str) -> list[Entity]:
        endpoint = ENDPOINTS[dt.name]
        url = self._path(f"{endpoint.path}?$filter={quote(filter_)}&$select={self._select(dt)}")
        return [self._entity(dt, record) for _d, found in self._pages(url, dt.name)
                for record in found]

    def get(self, datatype: str, id: str) -> Entity | None:
        dt = BY_NAME[datatype]
        key = _key(ENDPOINTS[datatype], id)
        if key is None:
            return None  # Exact answers 400 to a malformed guid; every id it has is one
        found = self._lookup(dt, f"{dt.id_field} eq {key}")
        if not found:
            return None
        children = ENDPOINTS[datatype].children
        if children:
            found[0].properties[children] = self._created_lines(dt, children, {}, id)
        return found[0]

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        """The record the create with ``key`` made, by what it sent (see ``recovery``).

        Raises ``AmbiguousRecovery`` rather than pick one of several that could be it.
        """
        dt = BY_NAME[datatype]
        sent = self._outgoing(dt, copy.deepcopy(properties), creating=True)
        search = recovery.search_filter(datatype, sent)
        if search is None:
            return None
        candidates = recovery.recent(self._lookup(dt, search), recovery.sent_after(key))
        children = ENDPOINTS[datatype].children
        if children:
            # the lines were made with it: compared, then linked one by one, as after create
            for candidate in candidates:
                candidate.properties[children] = self._created_lines(dt, children, {},
                                                                     candidate.id)
        return recovery.choose(dt, sent, candidates)

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        """What ``recover`` answers for each create, from one listing (see ``recovery``).

        The records modified since the oldest create was sent are listed
        once, 60 a page with their lines inline, and each create is matched
        in memory: ``ceil(N / 60)`` requests for the N records modified
        since, instead of one or more per create. When the listing's first
        page says it would take more requests than the creates asked about
        one by one, they are asked about one by one.
        """
        dt = BY_NAME[datatype]
        answers: dict[str, Recovered] = {create.key: None for create in pending}
        searchable = []
        for create in pending:
            sent = self._outgoing(dt, copy.deepcopy(create.properties), creating=True)
            if recovery.search_filter(datatype, sent) is not None:
                searchable.append((create, sent))
        if not searchable:
            return answers
        listed = self._modified_since(dt, min(recovery.since_of(c) for c, _ in searchable),
                                      most_pages=len(searchable))
        if listed is None:
            return recover_each(self, datatype, pending)
        listing = recovery.Listing(datatype, listed)
        for create, sent in searchable:
            candidates = listing.candidates(sent, recovery.since_of(create))
            try:
                answers[create.key] = recovery.choose(dt, sent, candidates)
            except AmbiguousRecovery as exc:
                answers[create.key] = exc
        return answers

    def _modified_since(self, dt: DataType, since: datetime, *, most_pages: int
                        ) -> list[Entity] | None:
        """Every record of ``dt`` modified since ``since``, lines included; None if too many.

        Too many: more than ``most_pages`` pages, as the first page's
        ``__count`` tells.
        """
        endpoint = ENDPOINTS[dt.name]
        moment = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        select = self._select(dt)
        expand = ""
        if endpoint.children:
            select += f",{endpoint.children}"
            expand = f"&$expand={endpoint.children}"
        url = self._path(
            f"{endpoint.path}?$filter={quote(f'Modified ge datetime{chr(39)}{moment}{chr(39)}')}"
            f"&$select={select}{expand}&$inlinecount=allpages")
        out: list[Entity] = []
        first = True
        for d, found in self._pages(url, dt.name):
            if first and isinstance(d, dict) and str(d.get("__count", "")).isdigit() \
                    and math.ceil(int(d["__count"]) / LIST_PAGE) > most_pages:
                return None
            first = False
            for record in found:
                entity = self._entity(dt, record)
                if endpoint.children:
                    entity.properties[endpoint.children] = self._expanded_lines(
                        dt, endpoint.children, record)
                out.append(entity)
        return out

    def _expanded_lines(self, dt: DataType, field: str, record: dict[str, Any]
                        ) -> list[dict[str, Any]]:
        """A listed parent's lines in order, with the fields a lookup of them selects."""
        child = BY_NAME[dt.property(field).child or ""]
        answered = record.get(field)
        lines = answered.get("results") if isinstance(answered, dict) else answered
        if not isinstance(lines, list):
            raise ExactResponseError(f"Exact Online {dt.name} {record.get(dt.id_field)}: "
                                     f"{field} did not come inline")
        wanted = set(self._select(child).split(","))
        kept = [{k: v for k, v in line.items() if k in wanted} if isinstance(line, dict)
                else line for line in lines]
        kept.sort(key=lambda line: (line.get("LineNumber") or 0)
                  if isinstance(line, dict) else 0)
        entities = [self._entity(child, line) for line in kept]
        return [{child.id_field: e.id, **e.properties} for e in entities]

    # -- writing ------------------------------------------------------------------
    def _outgoing(self, dt: DataType, properties: dict[str, Any], *, creating: bool
                  ) -> dict[str, Any]:
        """What Exact accepts: no read-only fields, Code only on create, names split."""
        body: dict[str, Any] = {}
        for key, value in properties.items():
            prop = dt.find(key)
            if prop is not None and (prop.read_only or (prop.create_only and not creating)):
                continue
            if prop is not None and prop.type is PropertyType.CHILDREN:
                child = BY_NAME[prop.child or ""]
                body[key] = [self._outgoing(child, line, creating=True) for line in value or []]
                continue
            body[key] = value
        if dt.name == "Contacts" and "FullName" in body:
            full = body.pop("FullName")
            if full:
                for part, text in split_full_name(str(full)).items():
                    body.setdefault(part, text)
        return body

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        dt, endpoint = BY_NAME[datatype], ENDPOINTS[datatype]
        _writable(datatype, endpoint)
        body = self._outgoing(dt, copy.deepcopy(properties), creating=True)
        response = self._call("POST", self._path(endpoint.path), json=body,
                              headers={"Prefer": "return=representation",
                                       "Content-Type": "application/json"})
        record = envelope(response, datatype)
        entity = self._entity(dt, record)
        if endpoint.children:
            entity.properties[endpoint.children] = self._created_lines(
                dt, endpoint.children, record, entity.id)
        return entity

    def _created_lines(self, dt: DataType, field: str, record: dict[str, Any],
                       parent_id: str) -> list[dict[str, Any]]:
        """A parent's lines in order, with their ids: from the answer, else looked up."""
        child = BY_NAME[dt.property(field).child or ""]
        answered = record.get(field)
        if isinstance(answered, dict) and isinstance(answered.get("results"), list):
            lines = answered["results"]
        elif isinstance(answered, list):
            lines = answered
        else:
            parent_field = child.child_of.parent_property if child.child_of else ""
            found = self._lookup(child, f"{parent_field} eq {literal(parent_id)}")
            found.sort(key=lambda e: e.properties.get("LineNumber") or 0)
            return [{child.id_field: e.id, **e.properties} for e in found]
        return [{child.id_field: e.id, **e.properties}
                for e in (self._entity(child, line) for line in lines)]

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        dt, endpoint = BY_NAME[datatype], ENDPOINTS[datatype]
        _writable(datatype, endpoint)
        if not is_guid(id):
            raise RecordError(f"Exact Online {datatype}: {id!r} is not an Exact id")
        body = self._outgoing(dt, copy.deepcopy(changes), creating=False)
        if body:
            self._call("PUT", self._path(f"{endpoint.path}(guid'{id}')"), json=body,
                       headers={"Content-Type": "application/json"})
        if current is not None:
            merged = Entity(id, {**current.properties, **changes}, current.updated)
            return merged
        found = self.get(datatype, id)
        if found is None:
            raise RecordError(f"Exact Online {datatype} {id}: gone right after the update")
        return found

    def delete(self, datatype: str, id: str) -> None:
        _writable(datatype, ENDPOINTS[datatype])
        if not is_guid(id):
            return
        try:
            self._call("DELETE", self._path(f"{ENDPOINTS[datatype].path}(guid'{id}')"))
        except HttpStatusError as exc:
            if exc.status != 404:
                raise

    def close(self) -> None:
        self.budget.remember()
        self.http.close()
        self.tokens.close()


def talks_own(endpoint: Endpoint) -> frozenset[str]:
    """Fields of a datatype that talk fills in itself: never asked of Exact nor sent."""
    own = {field for field, _ in endpoint.joined}
    if endpoint.self_field:
        own.add(endpoint.self_field)
    return frozenset(own)


def _key(endpoint: Endpoint, id: str) -> str | None:
    """The id as Exact's URL and ``$filter`` take it; None when Exact has no such id."""
    if endpoint.key == "int":
        return id if id.isdigit() else None
    if endpoint.key == "text":
        return literal(id) if id and len(id) <= 64 else None
    return literal(id) if is_guid(id) else None


def _writable(datatype: str, endpoint: Endpoint) -> None:
    if endpoint.read_only:
        raise RecordError(f"Exact Online lets {datatype} be read only: talk does not "
                          f"create, change or delete them there")


def _timestamp(record: dict[str, Any]) -> int:
    return int(record["Timestamp"])


def _entity_type(record: dict[str, Any]) -> int | None:
    try:
        return int(record.get("EntityType"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _moment(what: str, ident: str, field: str, props: dict[str, Any]) -> datetime | None:
    """``props[field]``, one of Exact's times, as a time; None if empty.

    Raises ``ExactResponseError`` naming the record and field for a value
    that is no such time.
    """
    value = props.get(field)
    if not value:
        return None
    try:
        return parse_exact_datetime(value)
    except (TypeError, ValueError) as exc:
        raise ExactResponseError(
            f"Exact Online {what} {ident}: field {field} {value!r}: {exc}") from None
