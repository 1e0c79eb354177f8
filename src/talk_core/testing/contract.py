"""The behaviour every connector owes the engine, as a test class plugins inherit.

The engine's guarantees (no lost updates, no duplicates after a crash, deletes
noticed) rest on a handful of connector promises that are easy to get subtly
wrong against a real API: paging that skips or repeats, cursors that resume
too early, updates that blank unsent fields, deletes that are not idempotent.
Checking them once here, like singer-sdk's standard tap tests, saves every
plugin from rediscovering them in production.

Use it by subclassing (the base name has no ``Test`` prefix, so pytest only
collects the subclass) and defining these fixtures on the subclass::

    class TestMyConnector(ConnectorContract):
        @pytest.fixture
        def connector(self):            # a fresh Connector per test
            c = MyConnector(...)
            yield c
            c.close()

        @pytest.fixture
        def datatype(self):             # the datatype to exercise
            return "contacts"

        @pytest.fixture
        def new_record(self):           # n -> valid create properties, distinct per n
            return lambda n: {"name": f"Contact {n}"}

        @pytest.fixture
        def change(self):               # props -> a valid update that changes something
            return lambda props: {"name": props["name"] + " (changed)"}

A connector with ``recover_many`` (``talk_core.connector.BatchRecovery``)
is held to it too: it must answer as ``recover`` does, create by create.

Optional fixtures the base class defaults and a subclass may override:
``page_size`` (``connector.page_size`` if it has one), ``schema``
(``connector.datatype(name)`` if it has that method), ``read_mode`` (from
the schema, else incremental), ``unknown_id`` and ``create_key``. Define
overrides on the class itself: a conftest fixture of the same name would be
shadowed by the base class's default. Override ``assert_stored`` when the
system normalises values (decimals as strings, trimmed text).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from talk_core.connector import BatchRecovery, Connector, PendingCreate, recover_each
from talk_core.errors import RecordError
from talk_core.model import DataType, Entity, PropertyType, ReadMode

NewRecord = Callable[[int], dict[str, Any]]
Change = Callable[[dict[str, Any]], dict[str, Any]]
CreateKey = Callable[[int], str]


def _contains(stored: Any, sent: Any) -> bool:
    """Sent values appear in what is stored; systems may add fields (ids on lines)."""
    if isinstance(sent, dict):
        return isinstance(stored, dict) and all(
            k in stored and _contains(stored[k], v) for k, v in sent.items()
        )
    if isinstance(sent, list):
        return (
            isinstance(stored, list)
            and len(stored) == len(sent)
            and all(_contains(a, b) for a, b in zip(stored, sent, strict=True))
        )
    return bool(stored == sent)


class ConnectorContract:
    """Connector contract tests; subclass and provide the fixtures above."""

    # -- fixtures a subclass may override -------------------------------------

    @pytest.fixture
    def page_size(self, connector: Connector) -> int | None:
        """Known page size, so the paging test can force several pages."""
        size = getattr(connector, "page_size", None)
        return size if isinstance(size, int) and size > 0 else None

    @pytest.fixture
    def schema(self, connector: Connector, datatype: str) -> DataType | None:
        lookup = getattr(connector, "datatype", None)
        if not callable(lookup):
            return None
        try:
            found = lookup(datatype)
        except KeyError:
            return None
        return found if isinstance(found, DataType) else None

    @pytest.fixture
    def read_mode(self, schema: DataType | None) -> ReadMode:
        return schema.read_mode if schema is not None else ReadMode.INCREMENTAL

    @pytest.fixture
    def unknown_id(self) -> str:
        """An id no record has; numeric, because many systems reject other ids with a 400."""
        return "999999999"

    @pytest.fixture
    def create_key(self) -> CreateKey:
        """Keys unique per test run, so sandboxes that keep old records do not match them."""
        run = uuid.uuid4().hex[:12]
        return lambda n: f"talk-contract-{run}-{n}"

    # -- helpers ----------------------------------------------------------------

    def assert_stored(self, sent: dict[str, Any], entity: Entity) -> None:
        """Every sent field reads back as sent; override for systems that normalise."""
        for name, value in sent.items():
            assert name in entity.properties, f"field {name!r} missing from {entity!r}"
            assert _contains(entity.properties[name], value), (
                f"field {name!r}: sent {value!r}, stored {entity.properties[name]!r}"
            )

    def _create(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        n: int,
    ) -> tuple[dict[str, Any], Entity]:
        sent = new_record(n)
        entity = connector.create(datatype, copy.deepcopy(sent), key=create_key(n))
        return sent, entity

    def _drain(
        self, connector: Connector, datatype: str, cursor: str | None
    ) -> tuple[list[Entity], str | None]:
        """All entities of one read and the cursor to resume from (unchanged if no page)."""
        entities: list[Entity] = []
        for page in connector.read(datatype, cursor):
            entities.extend(page.entities)
            if page.cursor is not None:
                cursor = page.cursor
        return entities, cursor

    def _changing(self, change: Change, entity: Entity) -> dict[str, Any]:
        changes = change(copy.deepcopy(entity.properties))
        assert changes, "the change fixture answered no changes"
        assert any(entity.properties.get(k) != v for k, v in changes.items()), (
            f"the change fixture must change something; {changes!r} is what is stored"
        )
        return changes

    # -- the contract -------------------------------------------------------------

    def test_create_answers_a_string_id_and_the_sent_fields(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
    ) -> None:
        sent = new_record(1)
        passed = copy.deepcopy(sent)
        entity = connector.create(datatype, passed, key=create_key(1))
        assert isinstance(entity, Entity)
        assert isinstance(entity.id, str) and entity.id, f"create answered id {entity.id!r}"
        assert not entity.deleted
        self.assert_stored(sent, entity)
        assert passed == sent, "create must not change the caller's properties"
        _, other = self._create(connector, datatype, new_record, create_key, 2)
        assert other.id != entity.id, "two creates answered the same id"

    def test_get_answers_the_record_or_none(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        unknown_id: str,
    ) -> None:
        sent, entity = self._create(connector, datatype, new_record, create_key, 1)
        got = connector.get(datatype, entity.id)
        assert got is not None, f"get({entity.id!r}) found nothing right after create"
        assert got.id == entity.id
        assert not got.deleted
        self.assert_stored(sent, got)
        assert connector.get(datatype, unknown_id) is None

    def test_read_lists_every_record_once_across_pages(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        page_size: int | None,
        read_mode: ReadMode,
    ) -> None:
        small = page_size is not None and page_size <= 100
        count = page_size * 2 + 1 if small and page_size is not None else 5
        created = {
            self._create(connector, datatype, new_record, create_key, n)[1].id for n in range(count)
        }
        assert len(created) == count, "creates answered duplicate ids"
        pages = list(connector.read(datatype, None))
        listed = [e.id for page in pages for e in page.entities if not e.deleted]
        repeated = {i for i in listed if listed.count(i) > 1}
        assert not repeated, f"records listed more than once: {sorted(repeated)}"
        missing = created - set(listed)
        assert not missing, f"records never listed: {sorted(missing)}"
        if page_size is not None:
            sizes = [len(page.entities) for page in pages]
            assert max(sizes) <= page_size, f"page sizes {sizes} exceed {page_size}"
        if small:
            assert len(pages) >= 3, f"{count} records with page size {page_size} came in one go"
        if read_mode is ReadMode.INCREMENTAL:
            assert pages[-1].cursor is not None, "an incremental read must end with a cursor"

    def test_read_after_cursor_answers_only_changes(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        change: Change,
        read_mode: ReadMode,
    ) -> None:
        made = [self._create(connector, datatype, new_record, create_key, n)[1] for n in range(3)]
        _, cursor = self._drain(connector, datatype, None)
        if read_mode is ReadMode.INCREMENTAL:
            again, _ = self._drain(connector, datatype, cursor)
            assert again == [], f"nothing changed, yet the read answered {again!r}"
        target, others = made[1], {made[0].id, made[2].id}
        changes = self._changing(change, target)
        connector.update(datatype, target.id, copy.deepcopy(changes))
        after, _ = self._drain(
            connector, datatype, cursor if read_mode is ReadMode.INCREMENTAL else None
        )
        found = [e for e in after if e.id == target.id]
        assert found, "the changed record was not read"
        self.assert_stored(changes, found[-1])
        ids = {e.id for e in after}
        if read_mode is ReadMode.INCREMENTAL:
            assert not ids & others, f"unchanged records read again: {sorted(ids & others)}"
        else:
            assert others <= ids, "a full listing dropped unchanged records"

    def test_update_changes_only_the_given_fields(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        change: Change,
    ) -> None:
        sent, entity = self._create(connector, datatype, new_record, create_key, 1)
        changes = self._changing(change, entity)
        answered = connector.update(datatype, entity.id, copy.deepcopy(changes))
        assert answered.id == entity.id
        untouched = {k: v for k, v in sent.items() if k not in changes}
        self.assert_stored(changes, answered)
        self.assert_stored(untouched, answered)
        got = connector.get(datatype, entity.id)
        assert got is not None
        self.assert_stored(changes, got)
        self.assert_stored(untouched, got)

    def test_delete_removes_and_is_noticed(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        read_mode: ReadMode,
    ) -> None:
        _, gone = self._create(connector, datatype, new_record, create_key, 1)
        _, kept = self._create(connector, datatype, new_record, create_key, 2)
        _, cursor = self._drain(connector, datatype, None)
        connector.delete(datatype, gone.id)
        assert connector.get(datatype, gone.id) is None
        assert connector.get(datatype, kept.id) is not None
        if read_mode is ReadMode.INCREMENTAL:
            after, _ = self._drain(connector, datatype, cursor)
            seen = [e for e in after if e.id == gone.id]
            assert seen and seen[-1].deleted, f"no tombstone for {gone.id} in {after!r}"
            assert kept.id not in {e.id for e in after}
        else:
            after, _ = self._drain(connector, datatype, None)
            live = {e.id for e in after if not e.deleted}
            assert gone.id not in live, "a deleted record is still listed"
            assert kept.id in live

    def test_delete_twice_does_not_raise(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
    ) -> None:
        _, entity = self._create(connector, datatype, new_record, create_key, 1)
        connector.delete(datatype, entity.id)
        connector.delete(datatype, entity.id)
        assert connector.get(datatype, entity.id) is None

    def test_recover_finds_by_create_key(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
    ) -> None:
        sent, entity = self._create(connector, datatype, new_record, create_key, 1)
        found = connector.recover(datatype, create_key(1), copy.deepcopy(sent))
        assert found is not None, "recover did not find the record its key created"
        assert found.id == entity.id
        assert connector.recover(datatype, create_key(99), new_record(99)) is None

    def test_recover_many_finds_each_created_record_by_key(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
    ) -> None:
        """Several creates settled at once: each found, the unmade None, as ``recover`` says.

        A connector without ``recover_many`` is settled by ``recover_each``,
        as the engine does, and held to the same.
        """
        sent_at = datetime.now(UTC) - timedelta(seconds=2)
        made: dict[str, str] = {}
        pending: list[PendingCreate] = []
        for n in (1, 2, 3):
            sent, entity = self._create(connector, datatype, new_record, create_key, n)
            pending.append(PendingCreate(create_key(n), copy.deepcopy(sent), sent_at))
            made[create_key(n)] = entity.id
        for n in (98, 99):
            pending.append(PendingCreate(create_key(n), new_record(n), sent_at))
        if isinstance(connector, BatchRecovery):
            found = connector.recover_many(datatype, pending)
        else:
            found = recover_each(connector, datatype, pending)
        assert set(found) == {create.key for create in pending}
        for key, ident in made.items():
            answer = found[key]
            assert isinstance(answer, Entity), f"recover_many did not find {key}: {answer!r}"
            assert answer.id == ident
        assert found[create_key(98)] is None and found[create_key(99)] is None
        for create in pending:
            one = connector.recover(datatype, create.key, copy.deepcopy(create.properties))
            assert getattr(one, "id", None) == getattr(found[create.key], "id", None), (
                f"recover_many and recover disagree on {create.key}"
            )

    def test_update_of_unknown_id_raises_record_error(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        change: Change,
        unknown_id: str,
    ) -> None:
        _, entity = self._create(connector, datatype, new_record, create_key, 1)
        changes = change(copy.deepcopy(entity.properties))
        with pytest.raises(RecordError):
            connector.update(datatype, unknown_id, changes)

    def test_create_without_required_field_raises_record_error(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
        schema: DataType | None,
    ) -> None:
        if schema is None:
            pytest.skip("the connector exposes no schema (no datatype(name) method)")
        required = [
            p
            for p in schema.properties
            if p.required and not p.read_only and p.type is not PropertyType.CHILDREN
        ]
        if not required:
            pytest.skip(f"{schema.name} has no required property")
        missing = required[0].name
        props = {k: v for k, v in new_record(1).items() if k != missing}
        with pytest.raises(RecordError):
            connector.create(datatype, props, key=create_key(1))

    def test_records_read_back_stably(
        self,
        connector: Connector,
        datatype: str,
        new_record: NewRecord,
        create_key: CreateKey,
    ) -> None:
        _, entity = self._create(connector, datatype, new_record, create_key, 1)
        first, second = connector.get(datatype, entity.id), connector.get(datatype, entity.id)
        assert first is not None and second is not None
        assert first.properties == second.properties, "two gets of one record differ"
        listed = [
            [e.properties for e in self._drain(connector, datatype, None)[0] if e.id == entity.id]
            for _ in range(2)
        ]
        assert listed[0], "the created record was not listed"
        assert listed[0] == listed[1], "two reads of one unchanged record differ"
