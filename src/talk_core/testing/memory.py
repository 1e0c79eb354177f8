"""A connector over dicts, so the engine can be tested without any real system.

It has to serve three masters at once: the engine's unit tests (which want
real semantics: validation, idempotency keys, tombstones, lines), a
Hypothesis state machine (which wants determinism and failure injection) and
benchmarks with a million records (which want every page to cost O(page), not
O(store)). Hence plain dicts, a logical clock, and an append-only change log
per datatype that an incremental read can bisect into.

Reading with no changes since the cursor yields **no pages at all** (not one
empty page): the engine then simply keeps the cursor it had.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from talk_core.connector import Page, PendingCreate, Recovered
from talk_core.errors import RecordError, TransientError
from talk_core.model import DataType, Entity, Property, PropertyType, ReadMode

__all__ = ["EPOCH", "InMemoryConnector", "LogicalClock", "SimulatedCrash"]

#: Where the default logical clock starts; fixed so test output is reproducible.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

OPERATIONS = frozenset({"read", "read_page", "create", "update", "delete", "get", "recover",
                        "recover_many"})
WRITES = frozenset({"create", "update", "delete"})

# The change log may hold this many stale entries beyond twice the live ones
# before it is rebuilt; rebuilding is O(n), so it must stay rare (amortised O(1)).
_COMPACT_SLACK = 1024


class SimulatedCrash(BaseException):
    """The process died after the system did a write but before talk recorded it.

    A ``BaseException`` on purpose: the engine rightly catches ``Exception``
    around connector calls to dead-letter one record, and a crash must not be
    survivable that way, or crash-recovery tests would prove nothing.
    """


class LogicalClock:
    """A clock that ticks once per call, so "newest wins" never depends on wall time.

    Two writes in the same real millisecond would tie under a wall clock and
    make conflict resolution flaky; one tick per write keeps every ``updated``
    strictly increasing and every run identical.
    """

    def __init__(self, start: datetime = EPOCH, step: timedelta = timedelta(milliseconds=1)):
        self.start = start
        self.step = step
        self.ticks = 0

    def __call__(self) -> datetime:
        self.ticks += 1
        return self.start + self.ticks * self.step


class _Row:
    """One live record; ``born`` (its creation seq) orders lines under a parent.

    ``created`` is when it was made, ``updated`` when it last changed: equal
    until it is changed (its inline lines made with it do not change it).
    ``nested`` tells whether a value is a dict or list, which an answer must
    copy: a row of scalars is answered with one shallow copy, the common case
    when a million records are re-read.
    """

    __slots__ = ("born", "created", "nested", "props", "updated")

    def __init__(self, born: int, props: dict[str, Any], updated: datetime,
                 nested: bool | None = None) -> None:
        self.born = born
        self.props = props
        self.updated = updated
        self.created = updated
        self.nested = _has_containers(props) if nested is None else nested


class _Table:
    """Everything kept for one datatype.

    ``seq_of`` maps every id ever written (tombstones too) to its latest change
    seq, and is kept in seq order by pop-and-reinsert, so rebuilding the log
    from it is a straight copy. ``log_seqs``/``log_ids`` are an append-only
    log in seq order: an entry is current when ``seq_of[id]`` equals its seq,
    otherwise stale and skipped. Bisecting ``log_seqs`` finds "after cursor"
    in O(log n), which is what makes a no-change resync of 1M records free.
    """

    __slots__ = (
        "by_parent",
        "children",
        "children_names",
        "dt",
        "keys",
        "known",
        "log_ids",
        "log_seqs",
        "props",
        "read_only",
        "required",
        "rows",
        "schemaless",
        "seq_of",
        "tombstones",
        "updated_field",
    )

    def __init__(self, dt: DataType) -> None:
        self.dt = dt
        self.rows: dict[str, _Row] = {}
        self.seq_of: dict[str, int] = {}
        self.tombstones: dict[str, datetime] = {}
        self.log_seqs: list[int] = []
        self.log_ids: list[str] = []
        self.keys: dict[str, str] = {}
        self.by_parent: dict[str, dict[str, None]] = {}
        self.props: dict[str, Property] = {p.name: p for p in dt.properties}
        self.children: tuple[Property, ...] = tuple(
            p for p in dt.properties if p.type is PropertyType.CHILDREN
        )
        self.children_names = frozenset(p.name for p in self.children)
        known = set(self.props)
        if dt.child_of is not None:
            known.add(dt.child_of.parent_property)
        self.known = frozenset(known)
        self.read_only = frozenset(p.name for p in dt.properties if p.read_only)
        self.required = tuple(p.name for p in dt.properties if p.required and not p.read_only)
        # A datatype declared without properties accepts anything, so quick
        # tests need not spell out a schema they do not care about.
        self.schemaless = not dt.properties
        self.updated_field = dt.updated_field


class _Rule:
    """One pending injected failure."""

    __slots__ = ("datatype", "error", "operation", "remaining")

    def __init__(
        self,
        operation: str,
        error: BaseException | type[BaseException],
        remaining: int,
        datatype: str | None,
    ) -> None:
        self.operation = operation
        self.error = error
        self.remaining = remaining
        self.datatype = datatype


def _clone(value: Any) -> Any:
    """Copy only the mutable JSON containers: scalars are shared, which is safe and fast."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _copy_props(props: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A copy of ``props`` to store, and whether it holds a container (``_Row.nested``)."""
    out = dict(props)
    nested = False
    for name, value in out.items():
        if isinstance(value, (dict, list)):
            out[name] = _clone(value)
            nested = True
    return out, nested


def _has_containers(props: dict[str, Any]) -> bool:
    # a plain loop: every stored row passes here, and ``any`` over a generator
    # costs twice as much on the rows of a few scalar fields that most are
    for value in props.values():  # noqa: SIM110
        if isinstance(value, (dict, list)):
            return True
    return False


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == []


class InMemoryConnector:
    """A ``Connector`` whose system is a set of dicts, with the semantics of a real API.

    It refuses what real systems refuse (unknown, read-only, create-only and
    missing required fields) so engine bugs show up here rather than against
    a customer's ERP. The direct helpers (``put``, ``edit``, ``remove``) play
    a person editing the system behind talk's back: they skip the sync-side
    validation and do not count in ``stats``.

    ``stats`` counts connector calls as a real system would bill them
    (failed calls included), plus ``read_visited``: log entries or rows looked
    at while reading, so tests can assert on work done instead of on time.
    Changing a line (a record of a ``child_of`` datatype) also marks its
    parent changed, as invoicing systems do, so an incremental read of the
    parent shows the new lines.
    """

    def __init__(
        self,
        datatypes: Iterable[DataType],
        *,
        page_size: int = 100,
        id_prefix: str = "",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        self.page_size = page_size
        self.id_prefix = id_prefix
        self.clock: Callable[[], datetime] = clock if clock is not None else LogicalClock()
        #: The global change counter, bumped once per record written.
        self.seq = 0
        self.stats: Counter[str] = Counter()
        self._tables: dict[str, _Table] = {}
        for dt in datatypes:
            if dt.name in self._tables:
                raise ValueError(f"datatype {dt.name!r} is given twice")
            self._tables[dt.name] = _Table(dt)
        self._check_children()
        self._next_id = 0
        self._failures: list[_Rule] = []
        self._crashes: list[tuple[str, str | None]] = []
        self._compact_slack = _COMPACT_SLACK

    def _check_children(self) -> None:
        """Fail at construction, not on the first create, when lines are misdeclared."""
        for table in self._tables.values():
            for prop in table.children:
                child = self._tables.get(prop.child or "")
                if child is None:
                    raise ValueError(
                        f"{table.dt.name}.{prop.name}: child datatype {prop.child!r} is not given"
                    )
                if child.dt.child_of is None or child.dt.child_of.parent != table.dt.name:
                    raise ValueError(
                        f"{table.dt.name}.{prop.name}: datatype {prop.child!r} must declare "
                        f"child_of=ChildOf(parent={table.dt.name!r}, ...)"
                    )

    # -- schema -------------------------------------------------------------

    @property
    def datatypes(self) -> tuple[DataType, ...]:
        return tuple(t.dt for t in self._tables.values())

    def datatype(self, name: str) -> DataType:
        """The schema, so the contract suite can find read mode and required fields."""
        return self._table(name).dt

    def _table(self, name: str) -> _Table:
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"in-memory connector has no datatype {name!r}") from None

    # -- the Connector protocol ----------------------------------------------

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        """Check failures and arguments now, page lazily later.

        Not a generator itself, so an injected ``read`` failure or a bad
        cursor raises at the call, where a test expects it.
        """
        self.stats["read"] += 1
        self._inject("read", datatype)
        table = self._table(datatype)
        if table.dt.read_mode is ReadMode.FULL:
            return self._read_full(table)
        try:
            after = int(cursor) if cursor else 0
        except ValueError:
            raise ValueError(
                f"{datatype}: {cursor!r} is not a cursor this connector issued"
            ) from None
        return self._read_changes(table, after)

    def _read_changes(self, table: _Table, after: int) -> Iterator[Page]:
        """Pages of changes after ``after``, found again by bisection for every page.

        Re-bisecting from the last seq yielded (instead of keeping a list
        index) keeps a paused read correct when the caller writes between
        pages and the log is compacted meanwhile.
        """
        name = table.dt.name
        last = after
        page_size = self.page_size
        seq_of, rows, tombstones = table.seq_of, table.rows, table.tombstones
        project = self._project
        # a record without lines or an updated field is answered as a plain copy here
        plain = not table.children and not table.updated_field
        while True:
            self._inject("read_page", name)
            seqs, ids = table.log_seqs, table.log_ids
            i = bisect.bisect_right(seqs, last)
            end = len(seqs)
            entities: list[Entity] = []
            append = entities.append
            top = last
            start = i
            while i < end and len(entities) < page_size:
                seq, eid = seqs[i], ids[i]
                i += 1
                if seq_of.get(eid) != seq:
                    continue
                top = seq
                row = rows.get(eid)
                if row is None:
                    append(Entity(eid, {}, tombstones[eid], True))
                else:
                    props = (row.props.copy() if plain and not row.nested
                             else project(table, eid, row))
                    append(Entity(eid, props, row.updated, False, row.created))
            self.stats["read_visited"] += i - start
            if not entities:
                return
            self.stats["read_pages"] += 1
            self.stats["read_entities"] += len(entities)
            yield Page(entities, str(top))
            last = top

    def _read_full(self, table: _Table) -> Iterator[Page]:
        """Every live record in creation order, from a snapshot of the ids.

        The snapshot (a list of keys, not of records) lets the caller write
        between pages without "dict changed size" errors; records deleted
        meanwhile are skipped, records created meanwhile wait for the next read.
        """
        name = table.dt.name
        ids = list(table.rows)
        for start in range(0, len(ids), self.page_size):
            self._inject("read_page", name)
            entities: list[Entity] = []
            chunk = ids[start : start + self.page_size]
            for eid in chunk:
                row = table.rows.get(eid)
                if row is not None:
                    entities.append(Entity(eid, self._project(table, eid, row), row.updated,
                                           False, row.created))
            self.stats["read_visited"] += len(chunk)
            if entities:
                self.stats["read_pages"] += 1
                self.stats["read_entities"] += len(entities)
                yield Page(entities, None)

    def get(self, datatype: str, id: str) -> Entity | None:
        self.stats["get"] += 1
        self._inject("get", datatype)
        table = self._table(datatype)
        return self._entity(table, id) if id in table.rows else None

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        """Create, or answer the record an earlier create with the same key made.

        A key whose record has since been deleted creates afresh: answering a
        deleted record would leave the engine linked to nothing.
        """
        self.stats["create"] += 1
        self._inject("create", datatype)
        table = self._table(datatype)
        earlier = table.keys.get(key)
        if earlier is not None and earlier in table.rows:
            entity = self._entity(table, earlier)
        else:
            self._validate_new(table, properties, inline=False, strict=True)
            new_id = self._insert(table, properties, None, touch=True)
            table.keys[key] = new_id
            entity = self._entity(table, new_id)
        self._maybe_crash("create", datatype)
        return entity

    def update(
        self, datatype: str, id: str, changes: dict[str, Any], *, current: Entity | None = None
    ) -> Entity:
        """Merge ``changes``; a ``children`` field replaces the lines as a whole.

        In a lines list, an item carrying the child's id updates that line,
        an item without one adds a line, and lines not listed are deleted,
        which is how invoicing APIs treat a PATCH of ``items``.
        """
        self.stats["update"] += 1
        self._inject("update", datatype)
        table = self._table(datatype)
        if id not in table.rows:
            raise RecordError(f"{datatype} {id} not found")
        self._validate_changes(table, id, changes, strict=True)
        self._modify(table, id, changes, touch=True)
        entity = self._entity(table, id)
        self._maybe_crash("update", datatype)
        return entity

    def delete(self, datatype: str, id: str) -> None:
        """Delete with its lines; a missing id is fine, so a replay after a crash is safe."""
        self.stats["delete"] += 1
        self._inject("delete", datatype)
        table = self._table(datatype)
        self._drop(table, id, touch=True)
        self._maybe_crash("delete", datatype)

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        self.stats["recover"] += 1
        self._inject("recover", datatype)
        table = self._table(datatype)
        found = table.keys.get(key)
        if found is None or found not in table.rows:
            return None
        return self._entity(table, found)

    def recover_many(self, datatype: str,
                     pending: Sequence[PendingCreate]) -> dict[str, Recovered]:
        """Every key looked up in one call, as a system that lists by key would answer.

        Counted once in ``stats["recover_many"]``: one request, whatever the
        number of creates.
        """
        self.stats["recover_many"] += 1
        self._inject("recover_many", datatype)
        table = self._table(datatype)
        answers: dict[str, Recovered] = {}
        for create in pending:
            found = table.keys.get(create.key)
            answers[create.key] = (self._entity(table, found)
                                   if found is not None and found in table.rows else None)
        return answers

    def close(self) -> None:
        """Nothing to release; present because the engine always calls it."""

    # -- a person editing the system -----------------------------------------

    def put(self, datatype: str, properties: dict[str, Any], id: str | None = None) -> Entity:
        """Create as a person would: only unknown fields are refused."""
        table = self._table(datatype)
        if id is not None and id in table.rows:
            raise ValueError(f"{datatype} {id} already exists")
        self._validate_new(table, properties, inline=False, strict=False)
        new_id = self._insert(table, properties, id, touch=True)
        return self._entity(table, new_id)

    def edit(self, datatype: str, id: str, **changes: Any) -> Entity:
        """Change fields as a person would, read-only and create-only ones included."""
        table = self._table(datatype)
        if id not in table.rows:
            raise RecordError(f"{datatype} {id} not found")
        self._validate_changes(table, id, changes, strict=False)
        self._modify(table, id, changes, touch=True)
        return self._entity(table, id)

    def remove(self, datatype: str, id: str) -> bool:
        """Delete as a person would; answers whether there was anything to delete."""
        return self._drop(self._table(datatype), id, touch=True)

    def records(self, datatype: str) -> dict[str, dict[str, Any]]:
        """Live records as the connector would answer them, for asserting on whole stores."""
        table = self._table(datatype)
        return {eid: self._project(table, eid, row) for eid, row in table.rows.items()}

    def count(self, datatype: str) -> int:
        return len(self._table(datatype).rows)

    # -- failure injection -----------------------------------------------------

    def fail_next(
        self,
        operation: str,
        error: BaseException | type[BaseException] = TransientError,
        *,
        times: int = 1,
        datatype: str | None = None,
    ) -> None:
        """Make the next ``times`` matching calls raise ``error`` before doing anything.

        ``operation`` is a protocol method name, or ``read_page`` to fail in
        the middle of a read, just before the next page is fetched.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"cannot fail {operation!r}; choose from {sorted(OPERATIONS)}")
        if times < 1:
            raise ValueError(f"times must be at least 1, not {times}")
        self._failures.append(_Rule(operation, error, times, datatype))

    def crash_after_next(self, operation: str, *, datatype: str | None = None) -> None:
        """Make the next matching write happen and then raise ``SimulatedCrash``."""
        if operation not in WRITES:
            raise ValueError(f"cannot crash after {operation!r}; choose from {sorted(WRITES)}")
        self._crashes.append((operation, datatype))

    def disarm(self) -> None:
        """Drop every armed failure and crash that has not fired yet."""
        self._failures.clear()
        self._crashes.clear()

    def reset_stats(self) -> None:
        self.stats.clear()

    def _inject(self, operation: str, datatype: str) -> None:
        if not self._failures:
            return
        for rule in self._failures:
            if rule.operation == operation and rule.datatype in (None, datatype):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._failures.remove(rule)
                error = rule.error
                if isinstance(error, type):
                    error = error(f"injected {operation} failure on {datatype}")
                raise error

    def _maybe_crash(self, operation: str, datatype: str) -> None:
        for i, (op, dt) in enumerate(self._crashes):
            if op == operation and dt in (None, datatype):
                del self._crashes[i]
                raise SimulatedCrash(f"simulated crash after {operation} on {datatype}")

    # -- validation (raises before anything is written, so a refusal changes nothing)

    def _check_known(self, table: _Table, props: dict[str, Any]) -> None:
        if table.schemaless or props.keys() <= table.known:
            return
        for name in props:
            if name not in table.known:
                raise RecordError(f"{table.dt.name}: unknown field {name!r}")

    def _validate_new(self, table: _Table, props: Any, *, inline: bool, strict: bool) -> None:
        dt = table.dt
        if not isinstance(props, dict):
            raise RecordError(f"{dt.name}: a record must be a dict, not {type(props).__name__}")
        self._check_known(table, props)
        parent_property = dt.child_of.parent_property if dt.child_of else None
        if strict:
            if not table.read_only.isdisjoint(props):
                name = next(n for n in props if n in table.read_only)
                raise RecordError(f"{dt.name}: field {name!r} is read-only")
            for name in table.required:
                if inline and name == parent_property:
                    continue
                if _blank(props.get(name)):
                    raise RecordError(f"{dt.name}: required field {name!r} is missing")
        for prop in table.children:
            if props.get(prop.name) is not None:
                self._validate_lines(table, None, prop, props[prop.name], strict=strict)
        if strict and not inline and dt.child_of is not None:
            parent = self._tables.get(dt.child_of.parent)
            pid = props.get(dt.child_of.parent_property)
            if parent is not None and (not isinstance(pid, str) or pid not in parent.rows):
                raise RecordError(f"{dt.name}: parent {dt.child_of.parent} {pid!r} not found")

    def _validate_changes(self, table: _Table, id: str, changes: Any, *, strict: bool) -> None:
        dt = table.dt
        if not isinstance(changes, dict):
            raise RecordError(f"{dt.name}: changes must be a dict, not {type(changes).__name__}")
        self._check_known(table, changes)
        if strict:
            for name, value in changes.items():
                prop = table.props.get(name)
                if prop is None:
                    continue
                if prop.read_only:
                    raise RecordError(f"{dt.name}: field {name!r} is read-only")
                if prop.create_only:
                    raise RecordError(f"{dt.name}: field {name!r} can only be set on create")
                if prop.required and _blank(value):
                    raise RecordError(f"{dt.name}: required field {name!r} cannot be emptied")
        for prop in table.children:
            if prop.name in changes:
                self._validate_lines(table, id, prop, changes[prop.name], strict=strict)
        if strict and dt.child_of is not None and dt.child_of.parent_property in changes:
            parent = self._tables.get(dt.child_of.parent)
            pid = changes[dt.child_of.parent_property]
            if parent is not None and (not isinstance(pid, str) or pid not in parent.rows):
                raise RecordError(f"{dt.name}: parent {dt.child_of.parent} {pid!r} not found")

    def _validate_lines(
        self, table: _Table, parent_id: str | None, prop: Property, items: Any, *, strict: bool
    ) -> None:
        child = self._tables[prop.child or ""]
        cdt = child.dt
        assert cdt.child_of is not None  # checked at construction
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise RecordError(
                f"{table.dt.name}: field {prop.name!r} must be a list of {cdt.name} records"
            )
        current = child.by_parent.get(parent_id, {}) if parent_id is not None else {}
        seen: set[str] = set()
        for item in items:
            cid = item.get(cdt.id_field)
            rest = {
                k: v
                for k, v in item.items()
                if k not in (cdt.id_field, cdt.child_of.parent_property)
            }
            if cid is None:
                self._validate_new(child, rest, inline=True, strict=strict)
                continue
            if cid not in current or cid in seen:
                raise RecordError(f"{cdt.name} {cid} is not a line of {table.dt.name} {parent_id}")
            seen.add(cid)
            self._validate_changes(child, cid, self._diff(child, cid, rest), strict=strict)

    def _diff(self, table: _Table, id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields that really change: a resent line repeats unchanged (even create-only) values."""
        stored = table.rows[id].props
        return {
            k: v
            for k, v in fields.items()
            if k in table.children_names or k not in stored or stored[k] != v
        }

    # -- writes (valid input only) ---------------------------------------------

    def _new_id(self, table: _Table) -> str:
        while True:
            self._next_id += 1
            candidate = f"{self.id_prefix}{self._next_id}"
            if candidate not in table.seq_of:
                return candidate

    def _mark(self, table: _Table, id: str) -> int:
        """Record a change of ``id``: the one place ``seq`` moves."""
        self.seq += 1
        seq = self.seq
        table.seq_of.pop(id, None)
        table.seq_of[id] = seq
        table.log_seqs.append(seq)
        table.log_ids.append(id)
        if len(table.log_seqs) > 2 * len(table.seq_of) + self._compact_slack:
            # Fresh lists rather than in-place edits: a paused read holds the
            # old ones only until its next page, where it bisects again.
            table.log_seqs = list(table.seq_of.values())
            table.log_ids = list(table.seq_of)
        return seq

    def _insert(self, table: _Table, props: dict[str, Any], id: str | None, *, touch: bool) -> str:
        nested: bool | None = None
        if table.children_names:
            own = {k: _clone(v) for k, v in props.items() if k not in table.children_names}
        else:
            own, nested = _copy_props(props)
        new_id = id if id is not None else self._new_id(table)
        born = self._mark(table, new_id)
        table.rows[new_id] = _Row(born, own, self.clock(), nested)
        table.tombstones.pop(new_id, None)
        self._attach(table, new_id, own)
        for prop in table.children:
            child = self._tables[prop.child or ""]
            assert child.dt.child_of is not None
            for item in props.get(prop.name) or ():
                line = {k: v for k, v in item.items() if k != child.dt.id_field}
                line[child.dt.child_of.parent_property] = new_id
                self._insert(child, line, None, touch=False)
        if touch:
            self._touch_parent_of(table, own)
        return new_id

    def _modify(self, table: _Table, id: str, changes: dict[str, Any], *, touch: bool) -> None:
        row = table.rows[id]
        for prop in table.children:
            if prop.name in changes:
                self._replace_lines(id, prop, changes[prop.name] or [])
        own = {k: _clone(v) for k, v in changes.items() if k not in table.children_names}
        co = table.dt.child_of
        if co is not None and co.parent_property in own:
            if touch:
                self._touch_parent_of(table, row.props)
            self._detach(table, id, row.props)
            row.props.update(own)
            self._attach(table, id, row.props)
        else:
            row.props.update(own)
        row.nested = _has_containers(row.props)
        self._mark(table, id)
        row.updated = self.clock()
        if touch:
            self._touch_parent_of(table, row.props)

    def _replace_lines(self, parent_id: str, prop: Property, items: list[dict[str, Any]]) -> None:
        child = self._tables[prop.child or ""]
        cdt = child.dt
        assert cdt.child_of is not None
        listed = {item[cdt.id_field] for item in items if item.get(cdt.id_field) is not None}
        for cid in list(child.by_parent.get(parent_id, {})):
            if cid not in listed:
                self._drop(child, cid, touch=False)
        for item in items:
            line_id = item.get(cdt.id_field)
            fields = {
                k: v
                for k, v in item.items()
                if k not in (cdt.id_field, cdt.child_of.parent_property)
            }
            if line_id is None:
                fields[cdt.child_of.parent_property] = parent_id
                self._insert(child, fields, None, touch=False)
            else:
                diff = self._diff(child, line_id, fields)
                if diff:
                    self._modify(child, line_id, diff, touch=False)

    def _drop(self, table: _Table, id: str, *, touch: bool) -> bool:
        row = table.rows.get(id)
        if row is None:
            return False
        for prop in table.children:
            child = self._tables[prop.child or ""]
            for cid in list(child.by_parent.get(id, {})):
                self._drop(child, cid, touch=False)
        self._detach(table, id, row.props)
        del table.rows[id]
        self._mark(table, id)
        table.tombstones[id] = self.clock()
        if touch:
            self._touch_parent_of(table, row.props)
        return True

    def _touch_parent_of(self, table: _Table, props: dict[str, Any]) -> None:
        """Mark the parent of a changed line changed too (and its parent, and so on)."""
        co = table.dt.child_of
        if co is None:
            return
        parent = self._tables.get(co.parent)
        pid = props.get(co.parent_property)
        if parent is None or not isinstance(pid, str):
            return
        row = parent.rows.get(pid)
        if row is None:
            return
        self._mark(parent, pid)
        row.updated = self.clock()
        self._touch_parent_of(parent, row.props)

    def _attach(self, table: _Table, id: str, props: dict[str, Any]) -> None:
        co = table.dt.child_of
        if co is None:
            return
        pid = props.get(co.parent_property)
        if isinstance(pid, str):
            table.by_parent.setdefault(pid, {})[id] = None

    def _detach(self, table: _Table, id: str, props: dict[str, Any]) -> None:
        co = table.dt.child_of
        if co is None:
            return
        pid = props.get(co.parent_property)
        if not isinstance(pid, str):
            return
        lines = table.by_parent.get(pid)
        if lines is not None:
            lines.pop(id, None)
            if not lines:
                del table.by_parent[pid]

    # -- answers ---------------------------------------------------------------

    def _project(self, table: _Table, id: str, row: _Row) -> dict[str, Any]:
        """The record as the API would answer it: a copy, with its lines inlined."""
        props = _copy_props(row.props)[0] if row.nested else row.props.copy()
        for prop in table.children:
            child = self._tables[prop.child or ""]
            line_ids = child.by_parent.get(id)
            lines: list[dict[str, Any]] = []
            if line_ids:
                for cid in sorted(line_ids, key=lambda c: child.rows[c].born):
                    line = self._project(child, cid, child.rows[cid])
                    line[child.dt.id_field] = cid
                    lines.append(line)
            props[prop.name] = lines
        if table.updated_field:
            props[table.updated_field] = row.updated.isoformat()
        return props

    def _entity(self, table: _Table, id: str) -> Entity:
        row = table.rows[id]
        return Entity(id, self._project(table, id, row), row.updated, created=row.created)
