"""Collect: read what changed in each system and stage it, page by page.

A page's changed records (``StagedRecord`` rows) and the cursor after it
are committed together, so a cursor never moves past a record that is not
safely in the inbox. Records whose projection hashes the same as their
link's are dropped here: that is both the no-change fast path and the echo
filter for our own writes. Letters due for a retry are staged here too:
a read letter is the record read again, a write letter a reshare.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from talk_core.connector import Reject
from talk_core.errors import CircuitBroken
from talk_core.globaltypes import GlobalType
from talk_core.mapping import ConversionError, Mapping, value_hash
from talk_core.model import DataType, Entity, Link, ReadMode
from talk_core.store.base import DeadLetter, InboxRow
from talk_core.sync.catalog import Catalog
from talk_core.sync.context import InFlight, RunContext
from talk_core.sync.identify import Identify
from talk_core.sync.letters import Letters
from talk_core.sync.records import project, read_row, tombstone_row
from talk_core.sync.references import References
from talk_core.sync.settings import SystemInstance


def entity_payload(entity: Entity) -> dict[str, Any]:
    return {
        "id": entity.id,
        "properties": entity.properties,
        "updated": entity.updated.isoformat() if entity.updated else None,
        "deleted": entity.deleted,
    }


def entity_from_payload(payload: dict[str, Any]) -> Entity:
    from talk_core.mapping import parse_datetime

    updated = payload.get("updated")
    return Entity(
        str(payload["id"]),
        dict(payload.get("properties") or {}),
        parse_datetime(updated) if updated else None,
        bool(payload.get("deleted")),
    )


def unencodable(value: Any, path: str = "") -> str | None:
    """Where the value holds what JSON in UTF-8 cannot carry, and what it is; or None.

    Text with a lone surrogate (JSON's ``"\\ud800"``) and a float NaN or
    infinity (``NaN`` in an API's answer) would fail the state file and every
    system they are sent to, so the record is a dead letter at once rather
    than a crash later. Every new or changed record passes here, so the
    common case (ASCII text, finite numbers) costs no string building.
    """
    if type(value) is dict and _plain(value):
        return None
    found = _unencodable(value)
    if found is None:
        return None
    keys, what = found
    where = ".".join([path, *reversed(keys)] if path else reversed(keys)) or "value"
    return f"{where}: {what}"


def _plain(record: dict[str, Any]) -> bool:
    """Whether every value is ASCII text, a finite number or empty: most records, at once."""
    for value in record.values():
        kind = type(value)
        if kind is str:
            if not value.isascii():
                return False
        elif kind is float:
            if not math.isfinite(value):
                return False
        elif kind is not int and kind is not bool and value is not None:
            return False
    return True


def _unencodable(value: Any) -> tuple[list[str], str] | None:
    if isinstance(value, str):
        if value.isascii():
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [], "text that is not valid Unicode (a lone surrogate)"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else ([], f"{value!r}, a number JSON cannot carry")
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _unencodable(item)
        if found is not None:
            found[0].append(str(key))
            return found
    return None


def conversion_letter(
    now: datetime, system: str, datatype: str, mapping: Mapping, entity: Entity, exc: Exception
) -> DeadLetter:
    message = f"{system} {datatype} {entity.id}: {exc}"
    return DeadLetter(
        system=system, datatype=datatype, external_id=entity.id,
        global_type=mapping.global_type, direction="read", error=message,
        payload=entity_payload(entity), attempts=1, next_attempt=now,
    )


class Collector:
    """Reads every datatype of a run; stages what changed and the letters due for a retry."""

    def __init__(self, ctx: RunContext, catalog: Catalog, letters: Letters, refs: References,
                 in_flight: InFlight, staged_before: int) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.letters = letters
        self.refs = refs
        self.in_flight = in_flight
        #: The last row staged before this run: rows up to it are left over from
        #: earlier runs (deferred, or staged by a run that was killed)
        self.staged_before = staged_before

    def identify(self, global_type: str) -> Identify:
        return Identify(self.ctx, self.catalog, self.letters, self.refs, self.in_flight,
                        self.catalog.global_types[global_type])

    def collect(self, instance: SystemInstance, datatype: DataType,
                mappings: Sequence[Mapping]) -> None:
        """Read one datatype of one system since its cursor and stage what changed."""
        collect(self, instance, datatype, mappings)

    def retry_letters(self, due: list[DeadLetter], types: list[GlobalType]) -> None:
        """Stage the letters due now: a read letter's record again, a write letter's reshare."""
        names = {t.name for t in types}
        rows: list[InboxRow] = []
        for letter in due:
            if letter.global_type not in names or letter.system not in self.catalog.systems:
                continue
            if letter.direction == "write" and letter.global_id:
                rows.append(InboxRow(letter.global_type, letter.system, letter.datatype,
                                     letter.external_id, kind="reshare",
                                     global_id=letter.global_id))
            elif letter.direction == "read" and letter.payload and "id" in letter.payload:
                rows.extend(self._retry_read(letter))
        if rows:
            with self.store.transaction():
                self.store.stage(rows)

    def _retry_read(self, letter: DeadLetter) -> list[InboxRow]:
        assert letter.payload is not None
        entity = entity_from_payload(letter.payload)
        try:
            mapping, datatype = self.catalog.mapping(letter.system, letter.datatype,
                                                     letter.global_type)
            values, digest = project(mapping, datatype, entity)
        except (ConversionError, KeyError) as exc:
            self.letters.add(conversion_letter(
                self.ctx.now(), letter.system, letter.datatype, mapping, entity, exc))
            return []
        self.letters.settle_read(letter.system, letter.datatype, letter.external_id)
        return [read_row(mapping, letter.system, datatype, entity, values, digest)]


def collect(c: Collector, instance: SystemInstance, datatype: DataType,
            mappings: Sequence[Mapping]) -> None:
    """Read one datatype of one system since its cursor and stage what changed."""
    store = c.store
    full = datatype.read_mode is ReadMode.FULL
    cursor = store.get_cursor(instance.name, datatype.name)
    history = cursor is None  # the first read: what it finds existed before talk
    if full:
        cursor = None
    if full:
        with store.transaction():
            store.seen_reset(instance.name, datatype.name)
    listed = 0
    system, name = instance.name, datatype.name
    c.ctx.progress("read", system=system, datatype=name)
    pending = _Pending(c, system, name, full)
    deleting = c.in_flight.deleting
    clear_read = c.letters.clear_read if c.letters.any_read() else None
    staged_before = c.staged_before
    unreadable_page = False
    for page in instance.connector.read(name, cursor):
        if page.listing and not full and not pending.listing:
            # every live record is listed this time: what is linked and not listed is gone
            with store.transaction():
                store.seen_reset(system, name)
            pending.listing = True
        entities = page.entities
        ids = [e.id for e in entities]
        links = {m.key: store.link_ids(system, name, m.global_type, ids) for m in mappings}
        # what every record of the page is taken through, looked up once a page
        facets = [(m, m.when, links[m.key]) for m in mappings]
        rows = pending.rows
        live: list[str] = []
        c.ctx.result.count(system, name, "read", len(entities))
        for entity in entities:
            eid = entity.id
            if clear_read is not None:
                clear_read(system, name, eid)
            if entity.deleted:
                for m in mappings:
                    linked = links[m.key].get(eid)
                    if linked is not None:
                        row = tombstone_row(m.global_type, system, name, eid)
                        row.global_id = linked[0]
                        rows.append(row)
                if not any(eid in links[m.key] for m in mappings):
                    pending.gone.append(eid)
                elif staged_before:
                    # a facet never linked (a crash lost the commit that would have):
                    # its reading is as stale as a facet's the record left
                    pending.left.extend((m.global_type, eid) for m in mappings
                                        if eid not in links[m.key])
                continue
            live.append(eid)
            if deleting and (system, name, eid) in deleting:
                continue  # its delete waits in the journal: what it holds is no news
            staged: list[InboxRow] = []
            failed: list[DeadLetter] = []
            for m, when, facet_links in facets:
                if when is not None and not when(entity):
                    left = facet_links.get(eid)
                    if left is not None:
                        # the record left this facet (a company customer turned person,
                        # an address cleared): for this global type it is gone
                        row = tombstone_row(m.global_type, system, name, eid)
                        row.global_id = left[0]
                        staged.append(row)
                    elif staged_before:
                        # a reading of that facet an earlier run left unmerged is stale
                        pending.left.append((m.global_type, eid))
                    continue
                try:
                    values = m.to_global(entity, datatype)
                except ConversionError as exc:
                    failed.append(conversion_letter(c.ctx.now(), system, name, m, entity, exc))
                    continue
                digest = value_hash(values)  # as ``project`` would, without its call
                link = facet_links.get(eid)
                if link is not None and link[1] == digest:
                    if staged_before:
                        # a reading (or tombstone) an earlier run left unmerged is older
                        pending.back[(m.global_type, eid)] = read_row(
                            m, system, datatype, entity, values, digest)
                    continue
                row = read_row(m, system, datatype, entity, values, digest)
                if link is not None:
                    row.global_id = link[0]
                    if staged_before:
                        # a changed reading of a facet whose tombstone an earlier run
                        # may have left: decided with the ones back as their link holds
                        pending.changed[(m.global_type, eid)] = row
                if history:
                    assert row.payload is not None
                    row.payload.history = True
                staged.append(row)
            if not staged and not failed:
                continue  # unchanged: what it holds was stored fine when it last changed
            broken = unencodable(entity.properties)
            if broken is not None:
                pending.letters.append(DeadLetter(
                    system=system, datatype=name, external_id=eid,
                    global_type=mappings[0].global_type, direction="read",
                    error=f"{system} {name} {eid}: {broken}; it cannot "
                    "be stored or sent",
                    next_attempt=None,
                ))
                continue
            rows.extend(staged)
            pending.letters.extend(failed)
        for reject in page.rejects:
            pending.letters.append(DeadLetter(
                system=instance.name, datatype=datatype.name,
                external_id=reject.external_id, global_type=mappings[0].global_type,
                direction="read", error=f"{instance.name} {datatype.name} "
                f"{reject.external_id}: {reject.error}",
                payload=_reject_payload(reject),
                next_attempt=None,
            ))
            unreadable_page = unreadable_page or reject.page
        # a record that could not be read is still there: never a delete
        pending.seen.extend(live + [r.external_id for r in page.rejects if r.external_id])
        if pending.listing:  # reported deleted already: not a second time by absence
            pending.seen.extend(e.id for e in page.entities if e.deleted)
        pending.cursor = page.cursor
        pending.pages += 1
        listed += len(live)
        c.ctx.progress("page", system=instance.name, datatype=datatype.name,
                      entities=len(page.entities))
        if pending.full_enough(c.catalog.settings.batch_size) or c.ctx.stopping:
            pending.flush()
        c.ctx.check_stop()
    pending.flush()
    if not unreadable_page:
        c.letters.clear_pages(instance.name, datatype.name)
    if full:
        _full_listing_deletes(c, instance, datatype, mappings, listed)
        with store.transaction():
            store.set_cursor(instance.name, datatype.name, "listed")
    elif pending.listing and not unreadable_page:
        # the cursor moves only with the deletes the listing tells: a crash
        # before this commit lists everything again instead of losing them
        with store.transaction():
            _full_listing_deletes(c, instance, datatype, mappings, listed)
            store.set_cursor(instance.name, datatype.name, pending.cursor)


def _reject_payload(reject: Reject) -> dict[str, Any] | None:
    """What a reject's letter keeps: the raw record, and whether it stands for a page."""
    payload: dict[str, Any] = {"page": True} if reject.page else {}
    # a raw record the state cannot hold is named in the error, not kept
    if reject.payload is not None and unencodable(reject.payload) is None:
        payload["raw"] = reject.payload
    return payload or None


def _full_listing_deletes(c: Collector, instance: SystemInstance, datatype: DataType,
                          mappings: Sequence[Mapping], listed: int) -> None:
    """A full listing tells deletes by absence, unless it lists nothing at all."""
    store = c.store
    rows: list[InboxRow] = []
    for m in mappings:
        linked = store.count_links(m.global_type, instance.name, datatype.name)
        if listed == 0 and linked:
            pending = store.inbox_deletes(m.global_type, datatype.name).get(instance.name, 0)
            linked -= pending
        # a handful of records can really all go (a parent's delete takes its contacts);
        # those deletes still face the circuit breaker like any others
        if listed == 0 and linked > c.catalog.settings.min_delete_count:
            raise CircuitBroken(
                f"{instance.name} {datatype.name}: the listing came back empty while "
                f"{linked} records are linked; treating it as a fault, nothing was deleted"
            )
        rows.extend(
            tombstone_row(m.global_type, instance.name, datatype.name, link.external_id)
            for link in store.unseen_links(instance.name, datatype.name, m.global_type)
        )
    if rows:
        with store.transaction():
            store.stage(rows)


class _Pending:
    """Pages read but not committed yet: committed together, every batch or so.

    A cursor still moves only with the records read before it; committing
    every few pages instead of every page saves a transaction per page, and
    a crash in between only means those pages are read again.
    """

    def __init__(self, c: Collector, system: str, datatype: str, full: bool) -> None:
        self.c, self.system, self.datatype, self.full = c, system, datatype, full
        #: an incremental read that lists every live record (``Page.listing``)
        self.listing = False
        self.rows: list[InboxRow] = []
        self.letters: list[DeadLetter] = []
        self.seen: list[str] = []
        #: records deleted before they were ever linked (see ``flush``)
        self.gone: list[str] = []
        #: (global type, id): facets records left before they were ever linked
        self.left: list[tuple[str, str]] = []
        #: (global type, id) -> the reading of a linked facet a record is in, as its
        #: link holds it
        self.back: dict[tuple[str, str], InboxRow] = {}
        #: the same for linked facets read changed (staged as ``rows`` too)
        self.changed: dict[tuple[str, str], InboxRow] = {}
        self.cursor: str | None = None
        self.pages = 0

    def full_enough(self, batch_size: int) -> bool:
        return len(self.rows) + len(self.seen) >= batch_size or self.pages >= 20

    def flush(self) -> None:
        if not self.pages:
            return
        store = self.c.store
        with store.transaction():
            if self.gone:
                # rows of them still staged (held back, waiting for a reference) would
                # share a record that no longer exists
                stale = store.inbox_reads_until(store.inbox_last_seq(), self.system,
                                                self.datatype, self.gone)
                store.inbox_delete(r.seq for r in stale if r.seq is not None)
                self.rows.extend(self._orphans(stale))
            if self.left:
                # so are rows of a facet a record has left since (a person staged
                # before a crash, a company now): that person is no more
                left = set(self.left)
                stale = store.inbox_reads_until(self.c.staged_before, self.system,
                                                self.datatype, [i for _gt, i in left])
                stale = [r for r in stale if r.seq is not None
                         and (r.global_type, r.external_id) in left]
                store.inbox_delete(r.seq for r in stale if r.seq is not None)
                self.rows.extend(self._orphans(stale))
            returned: list[InboxRow] = []
            if self.changed:
                # read changed where the owner went: as for one back as its link holds it
                stale = store.inbox_reads_until(self.c.staged_before, self.system,
                                                self.datatype, [i for _gt, i in self.changed])
                older = [r for r in stale if (r.global_type, r.external_id) in self.changed]
                moved, kept = self._returned(older, self.changed)
                if moved:
                    # staged as a new entity's reading, not as the old one's change
                    ids = {id(r) for r in moved}
                    self.rows = [r for r in self.rows if id(r) not in ids]
                    for r in moved:
                        r.global_id = None
                    keys = {(r.global_type, r.external_id) for r in moved}
                    store.inbox_delete(r.seq for r in older
                                       if r.seq is not None and r.seq not in kept
                                       and (r.global_type, r.external_id) in keys)
                    returned.extend(moved)
            if self.back:
                # a record read as its link holds it: a reading an earlier (crashed)
                # run left unmerged is older, an edit undone since or the tombstone of
                # a facet it is back in; merged, it would be taken for the record now
                stale = store.inbox_reads_until(self.c.staged_before, self.system,
                                                self.datatype, [i for _gt, i in self.back])
                older = [r for r in stale if (r.global_type, r.external_id) in self.back]
                back, kept = self._returned(older, self.back)
                returned.extend(back)
                store.inbox_delete(r.seq for r in older
                                   if r.seq is not None and r.seq not in kept)
            store.stage(self._resolved(self._superseding(self.rows)))
            if returned:
                store.stage(returned)
            for letter in self.letters:
                self.c.letters.add(letter)
            if self.full or self.listing:
                store.seen_add(self.system, self.datatype, self.seen)
            if not self.full and not self.listing:
                # a listing's cursor waits for the deletes it tells (see collect)
                store.set_cursor(self.system, self.datatype, self.cursor)
        self.rows, self.letters, self.seen, self.gone, self.pages = [], [], [], [], 0
        self.left, self.back, self.changed = [], {}, {}

    def _returned(self, older: list[InboxRow], readings: dict[tuple[str, str], InboxRow]
                  ) -> tuple[list[InboxRow], set[int]]:
        """Readings of facets back in their records, whose tombstones must still be merged.

        A facet's tombstone an earlier (crashed) run left unmerged is stale
        where the record is back in the facet as its link holds it: the
        entity lives on. Not where the link refers to a record that no
        longer stands for what it names: the run that staged the tombstone
        merged the owner's tombstone before it crashed (a customer's
        organisation, deleted with its account), so the old entity hangs on
        nothing. Its tombstone then goes on, deleting it everywhere, and the
        record is read as a new entity of the facet (``Identify`` passes over
        the link the tombstone drops), made again on the owner made anew.
        The same holds for a facet read changed, whose reading would
        otherwise be merged into the old entity (an erp address cannot move
        to another account). Answers those of ``readings`` and the seqs of
        the tombstones kept.
        """
        returned: dict[tuple[str, str], InboxRow] = {}
        kept: set[int] = set()
        for row in older:
            key = (row.global_type, row.external_id)
            if row.seq is None or row.payload is None or not row.payload.deleted:
                continue
            if key in returned or self._dangling(row.global_type, row.external_id,
                                                 readings[key]):
                returned[key] = readings[key]
                kept.add(row.seq)
        return list(returned.values()), kept

    def _dangling(self, global_type: str, external_id: str, row: InboxRow) -> bool:
        """Whether the facet's link names an entity its record's reference no longer is."""
        store, catalog = self.c.store, self.c.catalog
        link = store.get_link(self.system, self.datatype, external_id, global_type)
        if link is None:
            return False
        refs = catalog.refs_of(self.system, self.datatype, global_type)
        reading = row.payload
        assert reading is not None and reading.values is not None
        for prop, datatype in refs.items():
            held, ext = link.values.get(prop), reading.values.get(prop)
            if held in (None, "") or ext in (None, ""):
                continue
            now = store.find_link(self.system, datatype, str(ext),
                                  self.c.refs.targets(global_type, prop))
            if now is None or now.global_id != held:
                return True
        return self._owner_leaving(global_type, link)

    def _owner_leaving(self, global_type: str, link: Link) -> bool:
        """Whether a copy of the facet elsewhere refers to a record whose delete waits.

        The crashed run sent the delete of the owner's record there (an erp
        account) and died before the facet's turn: the copy (the account's
        address) names a record that goes, while the owner lives on in the
        record back in its facet and is made there again.
        """
        deleting = self.c.in_flight.deleting
        if not deleting:
            return False
        store, catalog = self.c.store, self.c.catalog
        for other in store.links_of(global_type, link.global_id):
            if other.system == self.system:
                continue
            for prop in catalog.refs_of(other.system, other.datatype, global_type):
                held = other.values.get(prop)
                if held in (None, ""):
                    continue
                for target in self.c.refs.targets(global_type, prop):
                    owner = store.link_for(target, str(held), other.system)
                    if owner is not None and (other.system, owner.datatype,
                                              owner.external_id) in deleting:
                        return True
        return False

    def _orphans(self, stale: list[InboxRow]) -> list[InboxRow]:
        """Tombstones for entities a stale reading was the only source of.

        The run that staged the reading may have created its entity elsewhere
        before it crashed: recovery has linked that copy, but the commit that
        would have linked this record never happened. The record has been
        deleted or has left the facet since, so the entity is gone with it:
        its link is written as that commit would have, and a tombstone deletes
        the copies. Without it the copy would be linked to an entity no record
        here stands for, and no run would ever delete it.
        """
        store = self.c.store
        rows: list[InboxRow] = []
        done: set[tuple[str, str]] = set()
        for row in stale:
            gid = row.global_id
            if gid is None or (row.global_type, gid) in done or row.payload is None \
                    or row.payload.deleted:
                continue
            done.add((row.global_type, gid))
            links = store.links_of(row.global_type, gid)
            if not links or any(link.system == self.system for link in links):
                continue
            store.put_link(Link(row.global_type, gid, self.system, self.datatype,
                                row.external_id, row.payload.hash))
            tombstone = tombstone_row(row.global_type, self.system, self.datatype,
                                      row.external_id)
            tombstone.global_id = gid
            rows.append(tombstone)
        return rows

    def _superseding(self, rows: list[InboxRow]) -> list[InboxRow]:
        """Rows that take the place of rows an earlier run staged and never merged.

        A record read again before its first reading was merged (a full
        listing after a killed run, an edit while a row waits for a
        reference) must stay one entity: the new row, with the newest
        values, inherits the old row's global id and first-read flag, and
        the old row goes. Two rows would become two entities where nothing
        else (a link, a match key) ties them, and be created twice elsewhere.
        """
        before = self.c.staged_before
        fresh = {(r.global_type, r.external_id): r for r in rows
                 if before and r.kind == "read" and r.global_id is None}
        if not fresh:
            return rows
        store = self.c.store
        ids = [external_id for _gt, external_id in fresh]
        replaced = []
        for old in store.inbox_reads_until(before, self.system, self.datatype, ids):
            new = fresh.get((old.global_type, old.external_id))
            if new is None or old.seq is None:
                continue
            new.global_id = new.global_id or old.global_id
            if old.payload is not None and old.payload.history and new.payload is not None:
                new.payload.history = True
            replaced.append(old.seq)
        store.inbox_delete(replaced)
        return rows

    def _resolved(self, rows: list[InboxRow]) -> list[InboxRow]:
        """Rows with the global ids that can be decided now (see ``Identify.resolve_fresh``).

        Linked records got theirs from the link already; new records whose
        match keys hold no reference are matched here. The rest are staged
        without one and resolved when their global type's turn comes.
        """
        fresh: dict[str, list[InboxRow]] = {}
        for row in rows:
            if row.global_id is None and row.kind == "read" and row.payload is not None \
                    and not row.payload.deleted \
                    and not self.c.catalog.key_refs(row.system, row.datatype, row.global_type):
                fresh.setdefault(row.global_type, []).append(row)
        if not fresh:
            return rows
        kept: set[int] = {id(row) for row in rows}
        for global_type, group in fresh.items():
            survivors = {id(row) for row in self.c.identify(global_type).resolve_fresh(group)}
            kept -= {id(row) for row in group} - survivors
        return [row for row in rows if id(row) in kept]
