"""Give every staged record its global id: its link's, a match's, or a new one.

Works a batch at a time with a handful of queries per batch (links, the
references, the match keys), then decides row by row in memory, so that two
records arriving in one batch from two systems still meet.
"""

from __future__ import annotations

from collections import defaultdict

from talk_core.globaltypes import GlobalType
from talk_core.ids import new_global_id
from talk_core.store.base import DeadLetter, InboxRow
from talk_core.sync.catalog import Catalog
from talk_core.sync.context import InFlight, RunContext
from talk_core.sync.letters import Letters
from talk_core.sync.match import match_keys
from talk_core.sync.records import ORPHANED, still_owned
from talk_core.sync.references import References, Unresolved


class Identify:
    """Global ids for the staged records of one global type."""

    def __init__(self, ctx: RunContext, catalog: Catalog, letters: Letters, refs: References,
                 in_flight: InFlight, gtype: GlobalType) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.catalog = catalog
        self.letters = letters
        self.refs = refs
        self.held = in_flight.held
        self.gtype = gtype
        self.keys = catalog.keys(gtype)
        self.history_new = catalog.datatype_settings(gtype.name).history == "new"

    def run(self, *, retry_deferred: bool = True) -> None:
        """Resolve every unresolved row; ``retry_deferred``: rows that waited before too.

        A run's later rounds (``engine``) only resolve the rows staged since
        the type's pass: what waited then still waits, and is counted once.
        """
        if retry_deferred:
            self.store.inbox_undefer(self.gtype.name)
        with self.store.carrying():  # nothing here needs its own commit before the merge
            while True:
                rows = self.store.inbox_unresolved(self.gtype.name,
                                                   self.catalog.settings.batch_size)
                if not rows:
                    return
                self._resolve_batch(rows)

    def _resolve_batch(self, rows: list[InboxRow]) -> None:
        with self.store.transaction(carry=True):
            resolved, gone = self._decide(rows)
            self.store.inbox_resolve_many(
                (row.seq, gid) for row, gid in resolved if row.seq is not None)
            self.store.inbox_delete(row.seq for row in gone if row.seq is not None)

    def resolve_fresh(self, rows: list[InboxRow]) -> list[InboxRow]:
        """Give records just read their global ids before they are staged.

        Only for records whose match keys hold no reference: those keys
        need nothing that a later global type's merge could still create.
        References elsewhere in the record are translated when it is merged.
        Deciding here saves staging them unresolved, reading them back and
        updating each row. Returns the rows to stage: ambiguous ones are
        dead-lettered instead, as they would be later.
        """
        resolved, gone = self._decide(rows, unlinked=True)
        dropped = {id(row) for row in gone}
        for row, gid in resolved:
            row.global_id = gid
        return [row for row in rows if id(row) not in dropped]

    def _hold(self, row: InboxRow, reason: str) -> None:
        """Keep a record back, staged, while it may be what a crashed create made."""
        if row.seq is None:
            row.deferred = reason  # a fresh row is staged as it is
        else:
            self.store.inbox_defer(row.seq, reason)
        self.ctx.result.deferred += 1

    def _decide(self, rows: list[InboxRow], *, unlinked: bool = False
                ) -> tuple[list[tuple[InboxRow, str]], list[InboxRow]]:
        """Each row's global id, or the rows that need none; deferrals are stored as found.

        ``unlinked``: the rows are known to have no link (collect looked).
        """
        gt, store, refs = self.gtype.name, self.store, self.refs
        refs.reset()
        resolved: list[tuple[InboxRow, str]] = []
        gone: list[InboxRow] = []
        if any(row.kind == ORPHANED for row in rows):
            rows = self._orphaned(rows, resolved, gone)
        linked = {} if unlinked else self._linked(rows)
        if linked:
            linked = self._not_leaving(rows, linked)
        pending: list[InboxRow] = []
        for row in rows:
            gid = row.global_id or linked.get((row.system, row.datatype, row.external_id))
            record = (row.system, row.datatype, row.external_id)
            if gid is not None:
                resolved.append((row, gid))
            elif row.kind != "read" or row.payload is None or row.payload.deleted:
                gone.append(row)  # a delete of a record talk never linked
            elif record in self.held:
                self._hold(row, self.held[record])
            else:
                pending.append(row)
        refs.prefetch_rows(gt, pending, self.catalog.key_refs)
        candidates: list[tuple[InboxRow, dict[str, str]]] = []
        for row in pending:
            assert row.payload is not None and row.payload.values is not None
            needed = self.catalog.key_refs(row.system, row.datatype, gt)
            if not needed:
                candidates.append((row, match_keys(row.payload.values, self.keys)))
                continue
            try:
                values = refs.to_global(gt, row.payload.values, needed, row.system)
            except Unresolved as exc:
                assert row.seq is not None, "a fresh row cannot wait for a reference"
                store.inbox_defer(row.seq, str(exc))
                self.ctx.result.deferred += 1
                continue
            candidates.append((row, match_keys(values, self.keys)))
        hits = self._hits(candidates)
        claimed: dict[tuple[str, str], str] = {}
        new_keys: list[tuple[str, str, str]] = []
        for row, found in candidates:
            gid = self._match(row, found, hits, claimed)
            if gid == "":
                gone.append(row)
                continue
            if gid is None:
                gid = new_global_id()
                for name, value in found.items():
                    new_keys.append((gid, name, value))
                    hits[(name, value)].append(gid)
                if self.history_new and row.payload is not None and row.payload.history:
                    for other in sorted(self.catalog.carriers(gt) - {row.system}):
                        store.detach(gt, gid, other)
            claimed[(gid, row.system)] = row.external_id
            resolved.append((row, gid))
        store.add_match_keys(gt, new_keys)
        return resolved, gone

    def _orphaned(self, rows: list[InboxRow], resolved: list[tuple[InboxRow, str]],
                  gone: list[InboxRow]) -> list[InboxRow]:
        """Decide the records marked as waiting for an owner talk deleted; the rest of ``rows``.

        A record still never linked whose latest reading names that owner
        (``still_owned``) is an entity of its own, new, with no match keys:
        its reading is staged again with the mark's global id, so the merge
        deletes it (``Merge``), the reading held back or not. A mark whose
        record names another owner since, was linked or deleted, goes; the
        reading is identified as any other.
        """
        gt, store = self.gtype.name, self.store
        taken: set[int] = set()
        last = store.inbox_last_seq()
        for mark in (row for row in rows if row.kind == ORPHANED):
            readings = [r for r in store.inbox_reads_until(last, mark.system, mark.datatype,
                                                           [mark.external_id])
                        if r.global_type == gt and r.seq is not None]
            latest = readings[-1] if readings else None
            if latest is None or not still_owned(mark, latest) or store.get_link(
                    mark.system, mark.datatype, mark.external_id, gt) is not None:
                gone.append(mark)
                continue
            gid = new_global_id()
            store.inbox_delete(r.seq for r in readings if r.seq is not None)
            taken.update(r.seq for r in readings if r.seq is not None)
            store.stage([InboxRow(gt, mark.system, mark.datatype, mark.external_id,
                                  latest.payload, global_id=gid)])
            resolved.append((mark, gid))
        return [row for row in rows if row.kind != ORPHANED and row.seq not in taken]

    def _linked(self, rows: list[InboxRow]) -> dict[tuple[str, str, str], str]:
        by_source: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in rows:
            if row.kind == "read":
                by_source[(row.system, row.datatype)].append(row.external_id)
        linked = {}
        for (system, datatype), ids in by_source.items():
            for ext, (gid, _hash) in self.store.link_ids(system, datatype, self.gtype.name,
                                                         ids).items():
                linked[(system, datatype, ext)] = gid
        return linked

    def _not_leaving(self, rows: list[InboxRow], linked: dict[tuple[str, str, str], str]
                     ) -> dict[tuple[str, str, str], str]:
        """``linked`` without the links of records whose tombstone for them waits.

        A reading staged without a global id for such a record is of a new
        entity: the facet came back after its old entity was left hanging
        on nothing (see ``collect``), and the tombstone deletes that one.
        """
        asked: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in rows:
            record = (row.system, row.datatype, row.external_id)
            if row.global_id is None and record in linked:
                asked[(row.system, row.datatype)].append(row.external_id)
        if not asked:
            return linked
        leaving = set()
        last = self.store.inbox_last_seq()
        for (system, datatype), ids in asked.items():
            for staged in self.store.inbox_reads_until(last, system, datatype, ids):
                record = (system, datatype, staged.external_id)
                if staged.global_type == self.gtype.name and staged.payload is not None \
                        and staged.payload.deleted and staged.global_id == linked[record]:
                    leaving.add(record)
        return {k: v for k, v in linked.items() if k not in leaving}

    def _hits(self, candidates: list[tuple[InboxRow, dict[str, str]]]
              ) -> defaultdict[tuple[str, str], list[str]]:
        wanted: dict[str, list[str]] = defaultdict(list)
        for _row, found in candidates:
            for name, value in found.items():
                wanted[name].append(value)
        hits: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for name, values in wanted.items():
            for value, gids in self.store.find_by_keys(self.gtype.name, name, values).items():
                hits[(name, value)].extend(gids)
        return hits

    def _match(self, row: InboxRow, found: dict[str, str],
               hits: defaultdict[tuple[str, str], list[str]],
               claimed: dict[tuple[str, str], str]) -> str | None:
        """The global id to adopt, None for a new entity, "" when the match is ambiguous.

        Several entities with the key are ambiguous only where the record
        could be more than one of them. One held by another record of the
        record's own system is not this record: where each is (three postal
        addresses of one Invoiced customer, one per contact), it is one more
        of those records, a new entity as the second was; where one is left,
        it is that one (the same record staged twice in a run, as read and
        as the facet of a create found again after a crash, beside an
        entity whose record is being deleted).
        """
        for name, value in found.items():
            ids = set(hits.get((name, value), ()))
            if not ids:
                continue
            if len(ids) > 1:
                free = [c for c in sorted(ids) if self._free(c, row, claimed)]
                if len(free) <= 1:
                    return free[0] if free else None
                self._ambiguous(row, name, value, len(ids))
                return ""
            candidate = ids.pop()
            return candidate if self._free(candidate, row, claimed) else None
        return None

    def _free(self, candidate: str, row: InboxRow, claimed: dict[tuple[str, str], str]) -> bool:
        """Whether ``row`` may adopt the entity: no other record of its system holds it.

        Two records of one system with one key stay two entities, mirrored as
        two elsewhere; the same record read twice is one.
        """
        taken = claimed.get((candidate, row.system))
        if taken is not None:
            return taken == row.external_id
        if self.store.link_for(self.gtype.name, candidate, row.system) is not None:
            return False
        other = self.store.inbox_claimant(self.gtype.name, candidate, row.system)
        return other is None or other == row.external_id

    def _ambiguous(self, row: InboxRow, name: str, value: str, count: int) -> None:
        self.letters.add(DeadLetter(
            system=row.system, datatype=row.datatype, external_id=row.external_id,
            global_type=self.gtype.name, direction="read",
            error=(f"{row.system} {row.datatype} {row.external_id}: ambiguous match, "
                   f"{name} {value.replace(chr(31), ' ')!r} fits {count} "
                   f"{self.gtype.name} records; not merged"),
        ))
