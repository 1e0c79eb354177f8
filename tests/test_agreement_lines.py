"""Lines of agreements: routed by their parent, and held back where a system would refuse them.

The plan picks a line's datatype from where its parent is (``Route.parent``
and ``ParentPlacement``); a parent that a system takes only with lines waits,
without a dead letter, until it has some; a line without a field the system
requires keeps its parent out of that system with a dead letter that says
what to do. The three-system end-to-end version is tests/e2e/test_agreements.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest
from orders import BILLING, ERP, invoice_with_lines, order_sync, order_systems

from talk_core.mapping import Mapping, mapped
from talk_core.model import ChildOf, DataType, Link, Property, PropertyType
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync import lines
from talk_core.sync.conflicts import newest
from talk_core.sync.engine import Sync
from talk_core.sync.placement import ParentPlacement
from talk_core.sync.plan import Create, Observation, Route, Target, choose_route, plan_group
from talk_core.sync.settings import SyncSettings, SystemInstance

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LINE_PROPS = frozenset({"agreement", "quantity"})
DOC_PROPS = frozenset({"kind", "number"})


def _is_quote(values: dict[str, Any]) -> bool:
    return values.get("kind") == "quote"


# -- the plan: a line's route follows its parent ------------------------------------------

ERP_LINES = Target("erp", {}, (
    Route("SalesOrderLines", LINE_PROPS, parent="SalesOrders"),
    Route("QuotationLines", LINE_PROPS, parent="Quotations"),
))


def _plan_line(parent_in: Any) -> list[tuple[str, str]]:
    seen = Observation("shop", "lines", "7", {"agreement": "g-doc", "quantity": 2}, "h", T0)
    plan = plan_group(global_type="agreementline", global_id="g-line", current=None, links={},
                      observations=[seen], targets=[ERP_LINES], resolver=newest(),
                      policy="newest", parent_in=parent_in)
    return [(a.system, a.datatype) for a in plan.actions if isinstance(a, Create)]


def test_a_line_is_created_in_the_line_datatype_of_its_parents_datatype() -> None:
    asked: list[tuple[str, Any]] = []

    def parent_in(system: str, values: dict[str, Any]) -> str | None:
        asked.append((system, values["agreement"]))
        return "Quotations"

    assert _plan_line(parent_in) == [("erp", "QuotationLines")]
    assert asked[0] == ("erp", "g-doc")
    assert _plan_line(lambda _s, _v: "SalesOrders") == [("erp", "SalesOrderLines")]


def test_a_line_whose_parent_has_no_place_in_a_system_is_not_created_there() -> None:
    assert _plan_line(lambda _s, _v: None) == []
    assert _plan_line(lambda _s, _v: "Invoices") == []


def test_routes_without_a_parent_ignore_placement() -> None:
    plain = Target("b", {}, (Route("lines", LINE_PROPS),))
    assert choose_route(plain, {}, lambda _s, _v: None) == plain.routes[0]
    assert choose_route(ERP_LINES, {}) == ERP_LINES.routes[0]  # nothing to place by


# -- where a parent is, or will be ----------------------------------------------------------

DOC_ROUTES = (Route("Quotations", DOC_PROPS, _is_quote), Route("SalesOrders", DOC_PROPS))


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    opened = SQLiteStore(tmp_path / "state.db")
    opened.put_global("agreement", "g-quote", {"kind": "quote", "number": "Q-1"})
    opened.put_global("agreement", "g-order", {"kind": "order", "number": "O-1"})
    opened.put_link(Link("agreement", "g-order", "erp", "SalesOrders", "E1", "h", {}))
    return opened


def _placement(store: SQLiteStore, *targets: Target, **kw: Any) -> ParentPlacement:
    return ParentPlacement(store, "agreement", "agreement", targets, **kw)


def test_a_linked_parent_is_where_its_link_is(store: SQLiteStore) -> None:
    place = _placement(store, Target("erp", {}, DOC_ROUTES))
    assert place("erp", {"agreement": "g-order"}) == "SalesOrders"


def test_an_unlinked_parent_is_where_its_own_route_will_create_it(store: SQLiteStore) -> None:
    place = _placement(store, Target("erp", {}, DOC_ROUTES))
    assert place("erp", {"agreement": "g-quote"}) == "Quotations"
    assert place("erp", {"agreement": "g-unknown"}) is None
    assert place("erp", {"agreement": None}) is None
    assert place("crm", {"agreement": "g-quote"}) is None  # crm does not carry agreements


def test_a_parent_that_will_not_be_created_gives_its_lines_no_place(store: SQLiteStore) -> None:
    assert _placement(store, Target("erp", {}, DOC_ROUTES, share=False))(
        "erp", {"agreement": "g-quote"}) is None
    assert _placement(store, Target("erp", {}, DOC_ROUTES),
                      accept=lambda v: v["kind"] != "quote")(
        "erp", {"agreement": "g-quote"}) is None
    store.detach("agreement", "g-quote", "erp")
    assert _placement(store, Target("erp", {}, DOC_ROUTES))(
        "erp", {"agreement": "g-quote"}) is None


def test_answers_are_kept_for_a_batch_only(store: SQLiteStore) -> None:
    place = _placement(store, Target("erp", {}, DOC_ROUTES))
    assert place("erp", {"agreement": "g-quote"}) == "Quotations"
    store.put_link(Link("agreement", "g-quote", "erp", "SalesOrders", "E2", "h", {}))
    assert place("erp", {"agreement": "g-quote"}) == "Quotations"
    place.reset()
    assert place("erp", {"agreement": "g-quote"}) == "SalesOrders"


# -- what a system requires of lines ------------------------------------------------------

LINE = DataType("OrderLines", "Orderlines", (
    Property("ID", read_only=True),
    Property("OrderID", PropertyType.REFERENCE, reference="Orders", required=True),
    Property("Item", PropertyType.REFERENCE, reference="Items", required=True),
    Property("Quantity", PropertyType.DECIMAL),
), id_field="ID", child_of=ChildOf("Orders", "OrderID", inline_on_create=True))


def test_missing_fields_leave_out_the_parents_id_and_what_is_never_sent() -> None:
    assert lines.missing_fields(LINE, {"Quantity": 1}) == ["Item"]
    assert lines.missing_fields(LINE, {"Item": "", "OrderID": "9"}) == ["Item"]
    assert lines.missing_fields(LINE, {"Item": "I1"}) == []


def test_the_message_names_the_line_what_it_lacks_and_where_to_add_it() -> None:
    mapping = Mapping("OrderLines", "agreementline",
                      mapped([("OrderID", "agreement"), ("Item", "product")]))
    text = lines.missing_message("erp", "Orders", mapping, "Item", {"description": "Freight"},
                                 ["shop", "billing", "shop"], " 2 of 3")
    assert text == (
        "erp Orders (new): line 2 of 3 'Freight' has no Item (erp requires one on every "
        "line; it comes from the line's product). Give the line a product in billing or "
        "shop, then run `talk deadletters --retry`")


def test_a_parent_needs_lines_only_where_its_field_of_lines_is_required() -> None:
    orders = DataType("Orders", "Orders", (
        Property("Lines", PropertyType.CHILDREN, child="OrderLines", required=True),
        Property("Notes", PropertyType.CHILDREN, child="OrderNotes")))
    assert lines.lines_required(orders, "Lines")
    assert not lines.lines_required(orders, "Notes")
    assert not lines.lines_required(orders, "Missing")


# -- the engine over two in-memory systems (tests/orders.py) --------------------------------

def test_an_invoice_without_lines_waits_for_them_without_a_dead_letter(tmp_path: Path) -> None:
    conns = order_systems()
    billing, erp = conns["billing"], conns["erp"]
    ids = invoice_with_lines(billing, lines=0)
    sync = order_sync(tmp_path / "state.db", conns)
    first = sync.run()
    assert first.dead_letters == [] and first.exit_code == 0
    assert erp.count("SalesOrders") == 0 and erp.count("Accounts") == 1
    assert first.deferred == 1
    [waiting] = sync.store.inbox_deferred()
    assert waiting.deferred == ("erp SalesOrders: not created until it has lines; erp "
                                "refuses salesorders without SalesOrderLines")
    calls = erp.stats["create"]
    again = sync.run()
    assert again.writes == 0 and again.dead_letters == [] and erp.stats["create"] == calls

    item = billing.put("items", {"code": "sku-late", "name": "Late", "price": 5})
    billing.put("lineitems", {"invoice": ids["invoice"], "item": item.id, "quantity": 4,
                              "unit_cost": 5})
    sync.run()
    [order] = erp.records("SalesOrders").values()
    [line] = erp.records("SalesOrderLines").values()
    assert line["Quantity"] == 4 and order["OrderNumber"] == "INV-Acme"
    assert sync.store.inbox_deferred() == []
    assert sync.run().writes == 0


def test_a_line_without_an_item_keeps_the_order_out_until_it_has_one(tmp_path: Path) -> None:
    conns = order_systems()
    billing, erp = conns["billing"], conns["erp"]
    ids = invoice_with_lines(billing, lines=1)
    free = billing.put("lineitems", {"invoice": ids["invoice"], "quantity": 1, "unit_cost": 9})
    sync = order_sync(tmp_path / "state.db", conns)
    first = sync.run()
    [letter] = first.dead_letters
    assert (letter["system"], letter["datatype"]) == ("erp", "SalesOrders")
    assert "line 2 of 2 has no Item" in letter["error"]
    assert "Give the line a product in billing" in letter["error"]
    assert erp.count("SalesOrders") == 0 and erp.count("SalesOrderLines") == 0

    item = billing.put("items", {"code": "sku-free", "name": "Freight", "price": 9})
    billing.edit("lineitems", free.id, item=item.id)
    for letter_ in sync.store.dead_letters():
        assert letter_.id is not None
        sync.store.schedule_dead_letter(letter_.id, datetime(2000, 1, 1, tzinfo=UTC))
    retried = sync.run()
    assert retried.dead_letters == []
    assert erp.count("SalesOrders") == 1 and erp.count("SalesOrderLines") == 2
    assert sync.store.dead_letters() == []
    assert sync.run().writes == 0


def test_a_waiting_parent_whose_route_no_longer_takes_it_is_dropped(tmp_path: Path) -> None:
    """A config change while it waited (orders no longer go to erp): no order made there."""
    conns = order_systems()
    billing, erp = conns["billing"], conns["erp"]
    ids = invoice_with_lines(billing, lines=0)
    with order_sync(tmp_path / "state.db", conns) as first:
        first.run()
        assert len(first.store.inbox_deferred()) == 1

    narrowed = attrs.evolve(ERP, mappings=tuple(
        attrs.evolve(m, route=lambda _v: False) if m.datatype == "SalesOrders" else m
        for m in ERP.mappings))
    sync = Sync(SQLiteStore(tmp_path / "state.db"),
                [SystemInstance("billing", BILLING, billing),
                 SystemInstance("erp", narrowed, erp)], SyncSettings())
    item = billing.put("items", {"code": "sku-late", "name": "Late", "price": 5})
    billing.put("lineitems", {"invoice": ids["invoice"], "item": item.id, "quantity": 4,
                              "unit_cost": 5})
    result = sync.run()
    assert result.dead_letters == []
    assert erp.count("SalesOrders") == 0 and erp.count("SalesOrderLines") == 0
    assert sync.store.inbox_deferred() == [] and sync.store.inbox_count("agreementline") == 0
