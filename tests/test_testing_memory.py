"""The in-memory connector: the contract suite on it, plus what only it promises.

Engine tests trust this connector to behave like a real system, so its
failure injection, idempotency, lines and paging cost are pinned down here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talk_core.connector import BatchRecovery, Connector, Page, PendingCreate
from talk_core.errors import RecordError, TransientError
from talk_core.model import ChildOf, DataType, Entity, Property, PropertyType, ReadMode
from talk_core.testing import ConnectorContract, InMemoryConnector, SimulatedCrash
from talk_core.testing.memory import EPOCH

CONTACTS = DataType(
    "contacts",
    "Contacts",
    (
        Property("name", required=True),
        Property("email"),
        Property("code", create_only=True),
        Property("balance", PropertyType.DECIMAL, read_only=True),
        Property("tags"),
    ),
)
ITEMS = DataType(
    "items",
    "Items",
    (Property("name", required=True), Property("price", PropertyType.DECIMAL)),
    read_mode=ReadMode.FULL,
)
INVOICES = DataType(
    "invoices",
    "Invoices",
    (
        Property("number", required=True),
        Property("customer", PropertyType.REFERENCE, reference="contacts"),
        Property("lines", PropertyType.CHILDREN, child="lines"),
    ),
)
LINES = DataType(
    "lines",
    "Invoice lines",
    (
        Property("invoice", PropertyType.REFERENCE, reference="invoices", required=True),
        Property("description", required=True),
        Property("amount", PropertyType.DECIMAL),
    ),
    id_field="line_id",
    child_of=ChildOf(parent="invoices", parent_property="invoice"),
)
ALL = (CONTACTS, ITEMS, INVOICES, LINES)


def make(page_size: int = 3, **kwargs: Any) -> InMemoryConnector:
    return InMemoryConnector(ALL, page_size=page_size, **kwargs)


def drain(connector: InMemoryConnector, datatype: str, cursor: str | None) -> list[Page]:
    return list(connector.read(datatype, cursor))


def entities(pages: list[Page]) -> list[Entity]:
    return [e for page in pages for e in page.entities]


# -- the contract, on every kind of datatype the connector has ---------------


class TestContractIncremental(ConnectorContract):
    @pytest.fixture
    def connector(self) -> Iterator[InMemoryConnector]:
        connector = make()
        yield connector
        connector.close()

    @pytest.fixture
    def datatype(self) -> str:
        return "contacts"

    @pytest.fixture
    def new_record(self) -> Callable[[int], dict[str, Any]]:
        return lambda n: {"name": f"Contact {n}", "email": f"c{n}@example.com", "code": f"C{n}"}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"email": "new-" + props["email"]}


class TestContractFull(ConnectorContract):
    @pytest.fixture
    def connector(self) -> InMemoryConnector:
        return make()

    @pytest.fixture
    def datatype(self) -> str:
        return "items"

    @pytest.fixture
    def new_record(self) -> Callable[[int], dict[str, Any]]:
        return lambda n: {"name": f"Item {n}", "price": f"{n}.50"}

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"price": "999.99"}


class TestContractWithLines(ConnectorContract):
    @pytest.fixture
    def connector(self) -> InMemoryConnector:
        return make(page_size=2)

    @pytest.fixture
    def datatype(self) -> str:
        return "invoices"

    @pytest.fixture
    def new_record(self) -> Callable[[int], dict[str, Any]]:
        return lambda n: {
            "number": f"INV-{n}",
            "lines": [{"description": f"line {n}.{i}", "amount": i} for i in range(2)],
        }

    @pytest.fixture
    def change(self) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda props: {"number": props["number"] + "-B"}


def test_contract_base_class_is_not_collected() -> None:
    assert not ConnectorContract.__name__.startswith("Test")


def test_is_a_connector() -> None:
    assert isinstance(make(), Connector)


# -- reading --------------------------------------------------------------------


def test_no_changes_yields_no_pages() -> None:
    c = make()
    assert drain(c, "contacts", None) == []
    c.put("contacts", {"name": "A"})
    cursor = drain(c, "contacts", None)[-1].cursor
    assert drain(c, "contacts", cursor) == []


def test_incremental_pages_are_ordered_by_seq_with_cursor_of_last() -> None:
    c = make(page_size=2)
    ids = [c.put("contacts", {"name": f"C{n}"}).id for n in range(5)]
    c.edit("contacts", ids[0], name="C0 again")
    pages = drain(c, "contacts", None)
    assert [len(p.entities) for p in pages] == [2, 2, 1]
    assert [e.id for e in entities(pages)] == [*ids[1:], ids[0]]
    assert pages[-1].cursor == str(c.seq)
    resumed = drain(c, "contacts", pages[0].cursor)
    assert [e.id for e in entities(resumed)] == [ids[3], ids[4], ids[0]]


def test_tombstone_shape() -> None:
    c = make()
    e = c.put("contacts", {"name": "A"})
    cursor = drain(c, "contacts", None)[-1].cursor
    c.remove("contacts", e.id)
    [tomb] = entities(drain(c, "contacts", cursor))
    assert tomb.id == e.id and tomb.deleted and tomb.properties == {}
    assert tomb.updated is not None and e.updated is not None and tomb.updated > e.updated


def test_full_read_lists_live_records_without_cursor() -> None:
    c = make(page_size=2)
    ids = [c.put("items", {"name": f"I{n}"}).id for n in range(5)]
    c.remove("items", ids[2])
    pages = drain(c, "items", "ignored")
    assert all(p.cursor is None for p in pages)
    assert [e.id for e in entities(pages)] == [ids[0], ids[1], ids[3], ids[4]]
    assert not any(e.deleted for e in entities(pages))


def test_writes_between_pages_do_not_break_a_read() -> None:
    c = make(page_size=2)
    c._compact_slack = 0
    ids = [c.put("contacts", {"name": f"C{n}"}).id for n in range(6)]
    reader = c.read("contacts", None)
    first = next(reader)
    for _ in range(5):  # enough rewrites to force the log to be rebuilt mid-read
        c.edit("contacts", ids[5], name="moved")
    rest = entities(list(reader))
    seen = [e.id for e in first.entities] + [e.id for e in rest]
    assert seen == ids
    items = [c.put("items", {"name": f"I{n}"}).id for n in range(4)]
    full = c.read("items", None)
    assert [e.id for e in next(full).entities] == items[:2]
    c.put("items", {"name": "created meanwhile"})  # waits for the next read
    c.remove("items", items[2])  # skipped, not an error
    assert [e.id for e in entities(list(full))] == [items[3]]


def test_bad_cursor_is_refused() -> None:
    with pytest.raises(ValueError, match="cursor"):
        make().read("contacts", "yesterday")


def test_entities_are_copies() -> None:
    c = make()
    sent = {"name": "A", "tags": ["x"]}
    e = c.create("contacts", sent, key="k")
    sent["tags"].append("from caller")
    e.properties["tags"].append("from answer")
    e.properties["name"] = "changed"
    for page in c.read("contacts", None):
        page.entities[0].properties["tags"].append("from read")
    got = c.get("contacts", e.id)
    assert got is not None and got.properties == {"name": "A", "tags": ["x"]}
    assert c.records("contacts")[e.id] == {"name": "A", "tags": ["x"]}


def test_every_entity_has_updated() -> None:
    c = make()
    c.put("contacts", {"name": "A"})
    c.put("items", {"name": "B"})
    for dt in ("contacts", "items"):
        assert all(e.updated is not None for e in entities(drain(c, dt, None)))


def test_updated_field_is_reported_when_declared() -> None:
    dt = DataType("notes", "Notes", (Property("text"),), updated_field="modified")
    c = InMemoryConnector([dt])
    e = c.put("notes", {"text": "x"})
    assert e.updated is not None
    assert e.properties["modified"] == e.updated.isoformat()


# -- O(changes) -------------------------------------------------------------------


def test_incremental_read_after_cursor_costs_o_changes() -> None:
    c = InMemoryConnector([CONTACTS], page_size=1000)
    for n in range(200_000):
        c.put("contacts", {"name": f"C{n}"})
    cursor = str(c.seq)
    c.reset_stats()
    assert drain(c, "contacts", cursor) == []
    assert c.stats["read_visited"] == 0
    c.edit("contacts", "77", name="changed")
    pages = drain(c, "contacts", cursor)
    assert [(e.id, e.properties["name"]) for e in entities(pages)] == [("77", "changed")]
    assert c.stats["read_visited"] == 1
    c.reset_stats()
    first = next(iter(c.read("contacts", None)))
    assert len(first.entities) == 1000
    # 1000 entries, plus at most the one stale entry left by the edit above.
    assert c.stats["read_visited"] <= 1001, "a page must cost O(page), not O(store)"


def test_change_log_is_compacted() -> None:
    c = InMemoryConnector([CONTACTS])
    e = c.put("contacts", {"name": "A"})
    for n in range(5000):
        c.edit("contacts", e.id, name=f"A{n}")
    table = c._tables["contacts"]
    assert len(table.log_seqs) <= 2 * len(table.seq_of) + 1024
    assert [x.properties["name"] for x in entities(drain(c, "contacts", None))] == ["A4999"]


# -- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"name": "A", "nickname": "x"}, "contacts: unknown field 'nickname'"),
        ({"name": "A", "balance": 3}, "contacts: field 'balance' is read-only"),
        ({"email": "a@b"}, "contacts: required field 'name' is missing"),
        ({"name": ""}, "required field 'name'"),
        ({"name": None}, "required field 'name'"),
    ],
)
def test_create_refuses_invalid_records(props: dict[str, Any], message: str) -> None:
    c = make()
    with pytest.raises(RecordError, match=message):
        c.create("contacts", props, key="k")
    assert c.count("contacts") == 0 and c.seq == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"nickname": "x"}, "unknown field 'nickname'"),
        ({"balance": 1}, "field 'balance' is read-only"),
        ({"code": "X"}, "field 'code' can only be set on create"),
        ({"name": ""}, "required field 'name' cannot be emptied"),
    ],
)
def test_update_refuses_invalid_changes(changes: dict[str, Any], message: str) -> None:
    c = make()
    e = c.create("contacts", {"name": "A", "code": "C"}, key="k")
    with pytest.raises(RecordError, match=message):
        c.update("contacts", e.id, changes)
    assert c.records("contacts")[e.id] == {"name": "A", "code": "C"}


def test_update_of_missing_record_names_it() -> None:
    with pytest.raises(RecordError, match="contacts 42 not found"):
        make().update("contacts", "42", {"name": "x"})


def test_update_merges_and_answers_whole_record() -> None:
    c = make()
    e = c.create("contacts", {"name": "A", "email": "a@x", "code": "C"}, key="k")
    seq = c.seq
    answered = c.update("contacts", e.id, {"email": "b@x"})
    assert answered.properties == {"name": "A", "email": "b@x", "code": "C"}
    assert c.seq == seq + 1
    assert answered.updated is not None and e.updated is not None and answered.updated > e.updated


def test_helpers_act_as_a_person() -> None:
    c = make(id_prefix="x-")
    e = c.put("contacts", {"balance": 5})  # no required check, read-only allowed
    assert e.id == "x-1"
    c.edit("contacts", e.id, code="changed", balance=6)
    assert c.records("contacts") == {"x-1": {"balance": 6, "code": "changed"}}
    with pytest.raises(RecordError, match="unknown field"):
        c.put("contacts", {"nope": 1})
    explicit = c.put("contacts", {"name": "B"}, id="x-2")
    assert explicit.id == "x-2"
    with pytest.raises(ValueError, match="already exists"):
        c.put("contacts", {"name": "C"}, id="x-2")
    assert c.put("contacts", {"name": "D"}).id == "x-3"  # generated ids skip taken ones
    assert c.count("contacts") == 3
    assert c.remove("contacts", "x-1") is True
    assert c.remove("contacts", "x-1") is False
    assert c.count("contacts") == 2
    assert c.stats == {}, "a person's edits are not connector calls"


def test_schemaless_datatype_accepts_anything() -> None:
    c = InMemoryConnector([DataType("blobs", "Blobs")])
    e = c.create("blobs", {"anything": 1}, key="k")
    assert c.get("blobs", e.id) == e


def test_unknown_datatype_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        make().get("nope", "1")


# -- idempotency and recovery ------------------------------------------------------------


def test_same_create_key_answers_the_first_record() -> None:
    c = make()
    first = c.create("contacts", {"name": "A"}, key="k1")
    again = c.create("contacts", {"name": "A, retried"}, key="k1")
    assert again.id == first.id and again.properties == {"name": "A"}
    assert c.count("contacts") == 1
    other = c.create("contacts", {"name": "B"}, key="k2")
    assert other.id != first.id
    # Keys are per datatype.
    assert c.create("items", {"name": "I"}, key="k1").id != first.id


def test_create_key_of_a_deleted_record_creates_afresh() -> None:
    c = make()
    first = c.create("contacts", {"name": "A"}, key="k")
    c.delete("contacts", first.id)
    assert c.recover("contacts", "k", {"name": "A"}) is None
    second = c.create("contacts", {"name": "A"}, key="k")
    assert second.id != first.id
    found = c.recover("contacts", "k", {"name": "A"})
    assert found is not None and found.id == second.id


# -- failure injection ------------------------------------------------------------------


def test_fail_next_raises_once_then_works() -> None:
    c = make()
    c.fail_next("create")
    with pytest.raises(TransientError, match="injected create failure on contacts"):
        c.create("contacts", {"name": "A"}, key="k")
    assert c.count("contacts") == 0, "an injected failure happens before anything is done"
    assert c.create("contacts", {"name": "A"}, key="k").id
    assert c.stats["create"] == 2


def test_fail_next_times_and_instance() -> None:
    c = make()
    boom = RecordError("refused")
    c.fail_next("get", boom, times=2)
    for _ in range(2):
        with pytest.raises(RecordError) as raised:
            c.get("contacts", "1")
        assert raised.value is boom
    assert c.get("contacts", "1") is None


def test_fail_next_datatype_filter() -> None:
    c = make()
    c.fail_next("update", datatype="items")
    e = c.put("contacts", {"name": "A"})
    c.update("contacts", e.id, {"email": "x"})  # other datatype: unaffected
    item = c.put("items", {"name": "I"})
    with pytest.raises(TransientError):
        c.update("items", item.id, {"price": "1"})
    c.update("items", item.id, {"price": "1"})


def test_fail_next_read_raises_at_the_call() -> None:
    c = make()
    c.fail_next("read")
    with pytest.raises(TransientError):
        c.read("contacts", None)
    assert drain(c, "contacts", None) == []


def test_fail_next_read_page_fails_mid_read() -> None:
    c = make(page_size=2)
    for n in range(5):
        c.put("contacts", {"name": f"C{n}"})
    reader = c.read("contacts", None)
    first = next(reader)
    c.fail_next("read_page")
    with pytest.raises(TransientError):
        next(reader)
    resumed = entities(drain(c, "contacts", first.cursor))
    assert len(resumed) == 3


@pytest.mark.parametrize("operation", ["fetch", "put"])
def test_fail_next_refuses_unknown_operations(operation: str) -> None:
    with pytest.raises(ValueError, match="cannot fail"):
        make().fail_next(operation)
    with pytest.raises(ValueError, match="cannot crash"):
        make().crash_after_next("read")


def test_crash_after_create_writes_then_crashes() -> None:
    c = make()
    c.crash_after_next("create")
    try:
        c.create("contacts", {"name": "A"}, key="k")
    except Exception:  # pragma: no cover - the point is that this does not catch it
        pytest.fail("SimulatedCrash must not be an Exception")
    except SimulatedCrash:
        pass
    assert c.count("contacts") == 1
    found = c.recover("contacts", "k", {"name": "A"})
    assert found is not None and found.properties == {"name": "A"}
    c.create("contacts", {"name": "B"}, key="k2")  # only once


def test_crash_after_update_and_delete() -> None:
    c = make()
    e = c.put("contacts", {"name": "A"})
    c.crash_after_next("update", datatype="contacts")
    with pytest.raises(SimulatedCrash):
        c.update("contacts", e.id, {"email": "x"})
    assert c.records("contacts")[e.id]["email"] == "x"
    c.crash_after_next("delete", datatype="items")
    c.delete("contacts", e.id)  # other datatype: no crash
    item = c.put("items", {"name": "I"})
    with pytest.raises(SimulatedCrash):
        c.delete("items", item.id)
    assert c.count("items") == 0


def test_delete_of_missing_id_is_a_noop() -> None:
    c = make()
    c.delete("contacts", "404")
    assert c.seq == 0


# -- lines ----------------------------------------------------------------------------------


def test_create_with_lines_makes_child_records() -> None:
    c = make()
    inv = c.create(
        "invoices",
        {"number": "INV-1", "lines": [{"description": "a", "amount": 1}, {"description": "b"}]},
        key="k",
    )
    lines = c.records("lines")
    assert len(lines) == 2
    assert all(line["invoice"] == inv.id for line in lines.values())
    answered = inv.properties["lines"]
    assert [line["description"] for line in answered] == ["a", "b"]
    assert [line["line_id"] for line in answered] == list(lines)
    assert answered[0] == {"description": "a", "amount": 1, "invoice": inv.id, "line_id": "2"}
    got = c.get("invoices", inv.id)
    assert got is not None and got.properties["lines"] == answered
    [read] = entities(drain(c, "invoices", None))
    assert read.properties["lines"] == answered
    assert "lines" not in c._tables["invoices"].rows[inv.id].props


def test_invalid_line_refuses_the_whole_create() -> None:
    c = make()
    with pytest.raises(RecordError, match="lines: required field 'description'"):
        c.create("invoices", {"number": "1", "lines": [{"description": "a"}, {}]}, key="k")
    with pytest.raises(RecordError, match="must be a list"):
        c.create("invoices", {"number": "1", "lines": {"description": "a"}}, key="k")
    assert c.count("invoices") == 0 and c.count("lines") == 0


def test_line_changes_mark_the_parent_changed() -> None:
    c = make()
    inv = c.create("invoices", {"number": "1", "lines": [{"description": "a"}]}, key="k")
    line_id = inv.properties["lines"][0]["line_id"]
    cursor = drain(c, "invoices", None)[-1].cursor
    c.edit("lines", line_id, description="a2")
    [changed] = entities(drain(c, "invoices", cursor))
    assert changed.id == inv.id
    assert changed.properties["lines"][0]["description"] == "a2"
    added = c.create("lines", {"invoice": inv.id, "description": "b"}, key="l2")
    got = c.get("invoices", inv.id)
    assert got is not None
    assert [line["line_id"] for line in got.properties["lines"]] == [line_id, added.id]
    with pytest.raises(RecordError, match="parent invoices '404' not found"):
        c.create("lines", {"invoice": "404", "description": "x"}, key="l3")


def test_update_replaces_lines() -> None:
    c = make()
    inv = c.create(
        "invoices",
        {"number": "1", "lines": [{"description": "a"}, {"description": "b"}]},
        key="k",
    )
    a, b = inv.properties["lines"]
    answered = c.update(
        "invoices",
        inv.id,
        {"lines": [{**a, "description": "a2"}, {"description": "c"}]},
    )
    lines = answered.properties["lines"]
    assert [line["description"] for line in lines] == ["a2", "c"]
    assert lines[0]["line_id"] == a["line_id"]
    assert c.get("lines", b["line_id"]) is None
    with pytest.raises(RecordError, match="is not a line of"):
        c.update("invoices", inv.id, {"lines": [{"line_id": "404", "description": "x"}]})


def test_delete_parent_deletes_lines_with_tombstones() -> None:
    c = make()
    inv = c.create(
        "invoices", {"number": "1", "lines": [{"description": "a"}, {"description": "b"}]}, key="k"
    )
    cursor = str(c.seq)
    c.delete("invoices", inv.id)
    assert c.count("lines") == 0
    tombs = entities(drain(c, "lines", cursor))
    assert len(tombs) == 2 and all(t.deleted for t in tombs)


def test_misdeclared_children_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="child datatype 'lines' is not given"):
        InMemoryConnector([INVOICES])
    orphan = DataType("lines", "Lines", (Property("invoice"),))
    with pytest.raises(ValueError, match="must declare child_of"):
        InMemoryConnector([INVOICES, orphan])


# -- clock and stats ------------------------------------------------------------------------


def test_logical_clock_is_strictly_increasing() -> None:
    c = make()
    e = c.put("contacts", {"name": "A"})
    assert e.updated == EPOCH + timedelta(milliseconds=1)
    stamps = [e.updated]
    for n in range(50):
        stamps.append(c.edit("contacts", e.id, name=f"A{n}").updated)
    stamps.append(c.create("contacts", {"name": "B"}, key="b").updated)
    assert all(a is not None and b is not None and a < b for a, b in pairwise(stamps))
    assert all(s is not None and s.tzinfo is UTC for s in stamps)


def test_custom_clock_is_used() -> None:
    moment = datetime(2030, 5, 1, tzinfo=UTC)
    c = make(clock=lambda: moment)
    assert c.put("contacts", {"name": "A"}).updated == moment


def test_stats_count_calls() -> None:
    c = make(page_size=2)
    ids = [c.create("contacts", {"name": f"C{n}"}, key=str(n)).id for n in range(3)]
    c.update("contacts", ids[0], {"email": "x"})
    c.get("contacts", ids[0])
    c.recover("contacts", "0", {})
    c.delete("contacts", ids[1])
    drain(c, "contacts", None)
    assert c.stats["create"] == 3
    assert c.stats["update"] == 1
    assert c.stats["get"] == 1
    assert c.stats["recover"] == 1
    assert c.stats["delete"] == 1
    assert c.stats["read"] == 1
    assert c.stats["read_pages"] == 2
    assert c.stats["read_entities"] == 3  # two live records and one tombstone
    c.reset_stats()
    assert not c.stats


# -- a replica kept by incremental reads matches the store ---------------------------------

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 0)),
        st.tuples(st.just("edit"), st.integers(0, 30)),
        st.tuples(st.just("remove"), st.integers(0, 30)),
        st.tuples(st.just("sync"), st.integers(0, 3)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops=_ops, page_size=st.integers(1, 4), slack=st.integers(0, 3))
def test_incremental_replica_converges(
    ops: list[tuple[str, int]], page_size: int, slack: int
) -> None:
    """Any mix of writes and (partial) syncs: replaying pages reproduces the store."""
    c = InMemoryConnector([CONTACTS], page_size=page_size)
    c._compact_slack = slack
    replica: dict[str, dict[str, Any]] = {}
    cursor: str | None = None
    made: list[str] = []

    def sync(max_pages: int | None) -> str | None:
        nonlocal cursor
        for n, page in enumerate(c.read("contacts", cursor)):
            if max_pages is not None and n >= max_pages:
                break
            for e in page.entities:
                if e.deleted:
                    replica.pop(e.id, None)
                else:
                    replica[e.id] = e.properties
            cursor = page.cursor
        return cursor

    for n, (op, arg) in enumerate(ops):
        if op == "put":
            made.append(c.put("contacts", {"name": f"C{n}"}).id)
        elif op == "edit" and made:
            eid = made[arg % len(made)]
            if c.get("contacts", eid) is not None:
                c.edit("contacts", eid, name=f"E{n}")
        elif op == "remove" and made:
            c.remove("contacts", made[arg % len(made)])
        elif op == "sync":
            sync(arg or None)
    sync(None)
    assert replica == c.records("contacts")
    assert list(c.read("contacts", cursor)) == []


def test_recover_many_is_one_call_for_every_key_and_can_fail() -> None:
    c = make(page_size=2)
    made = {str(n): c.create("contacts", {"name": f"C{n}"}, key=str(n)).id for n in range(3)}
    c.remove("contacts", made["2"])  # made, then deleted by a person: nothing to link
    now = datetime.now(UTC)
    pending = [PendingCreate(str(n), {"name": f"C{n}"}, now) for n in range(5)]
    found = c.recover_many("contacts", pending)
    assert {k: getattr(v, "id", None) for k, v in found.items()} == {
        "0": made["0"], "1": made["1"], "2": None, "3": None, "4": None}
    assert c.stats["recover_many"] == 1 and c.stats["recover"] == 0
    assert isinstance(c, BatchRecovery)
    c.fail_next("recover_many", TransientError)
    with pytest.raises(TransientError):
        c.recover_many("contacts", pending)
