"""The engine end to end over in-memory systems: each behaviour the design promises."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from orders import invoice_with_lines, order_sync, order_systems
from systems import SharedClock, make_connectors, make_sync, records_as_global

from talk_core.errors import BudgetExhausted, LockedError, RecordError
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.plan import DeletePolicy
from talk_core.sync.settings import DatatypeSettings


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


@pytest.fixture
def conns(clock: SharedClock):  # type: ignore[no-untyped-def]
    return make_connectors(clock)


def company(conns, system: str, name: str, **extra: object):  # type: ignore[no-untyped-def]
    shapes = {"crm": ("customers", {"name": name, "type": "company"}),
              "erp": ("Accounts", {"Name": name}), "shop": ("companies", {"title": name})}
    datatype, props = shapes[system]
    return conns[system].put(datatype, {**props, **extra})


def test_initial_sync_everywhere_then_a_rerun_writes_nothing(tmp_path: Path, conns, clock
                                                             ) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Acme", email="post@acme.no", city="Oslo", size=12)
    conns["erp"].put("Contacts", {"FullName": "Kari Nordmann", "Mail": "kari@x.no"})
    company(conns, "shop", "Bolt", town="Bergen", staff=3)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert result.status == "done" and result.exit_code == 0
    orgs = records_as_global(conns, "organisation")
    assert orgs["crm"] == orgs["erp"] == orgs["shop"] == [
        ("Acme", "post@acme.no", "Oslo", 12), ("Bolt", None, "Bergen", 3)]
    people = records_as_global(conns, "human")
    assert people["crm"] == people["erp"] == people["shop"] == [("Kari Nordmann", "kari@x.no",
                                                                 None)]
    assert result.total("create") == 6
    again = sync.run()
    assert again.writes == 0 and again.conflicts == []


def test_first_sync_matches_existing_records_instead_of_duplicating(tmp_path: Path, conns,
                                                                    clock) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Acme", city="Oslo")
    company(conns, "erp", "ACME ", City="Bergen", Email="post@acme.no")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert conns["crm"].count("customers") == 1 and conns["erp"].count("Accounts") == 1
    assert conns["shop"].count("companies") == 1
    crm = next(iter(conns["crm"].records("customers").values()))
    assert crm["email"] == "post@acme.no"  # a value fills an empty one
    assert sorted((c["property"], c["policy"]) for c in result.conflicts) == [
        ("city", "newest"), ("name", "newest")]
    city = next(c for c in result.conflicts if c["property"] == "city")
    assert city["values"] == {"crm": "Oslo", "erp": "Bergen"} and city["winner"] == "erp"


def test_ambiguous_match_is_reported_and_never_merged(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    """erp's Acme could be either of crm's: erp holds neither yet."""
    company(conns, "crm", "Acme Oslo", email="post@acme.no")
    company(conns, "crm", "Acme Bergen", email="post@acme.no")
    company(conns, "erp", "Acme", Email="POST@acme.no")
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes={
        "organisation": DatatypeSettings(match_keys=(("email",),))})
    result = sync.run()
    letters = [d for d in result.dead_letters if "ambiguous" in d["error"]]
    assert len(letters) == 1 and letters[0]["system"] == "erp"
    assert "fits 2 organisation records" in letters[0]["error"]
    assert conns["crm"].count("customers") == 2  # the erp record went nowhere
    assert result.exit_code == 1


def test_records_of_one_system_with_one_key_stay_apart_however_many(
        tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    """The third and fourth record of a system with a key its others hold are no ambiguity:
    none of them can be another's, so each is one more entity, mirrored as one more."""
    for city in ("Oslo", "Bergen", "Tromsø"):
        company(conns, "crm", f"Acme {city}", email="post@acme.no")
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes={
        "organisation": DatatypeSettings(match_keys=(("email",),))})
    first = sync.run()
    assert first.dead_letters == [] and first.exit_code == 0
    assert conns["erp"].count("Accounts") == conns["shop"].count("companies") == 3
    company(conns, "crm", "Acme Bodø", email="POST@acme.no")
    later = sync.run()
    assert later.dead_letters == [] and conns["erp"].count("Accounts") == 4
    # erp holds a copy of each: a new Acme of its own is none of them, but one more
    company(conns, "erp", "Acme Alta", Email="post@acme.no")
    other = sync.run()
    assert other.dead_letters == []
    assert conns["crm"].count("customers") == conns["shop"].count("companies") == 5
    assert sync.run().writes == 0


def test_edit_flows_everywhere_and_echo_is_not_written_back(tmp_path: Path, conns, clock
                                                            ) -> None:  # type: ignore[no-untyped-def]
    acme = company(conns, "crm", "Acme", city="Oslo")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    sync.run()
    conns["crm"].edit("customers", acme.id, city="Tromsø")
    for c in conns.values():
        c.reset_stats()
    result = sync.run()
    assert result.total("update") == 2
    assert conns["crm"].stats["update"] == 0
    assert records_as_global(conns, "organisation")["shop"] == [("Acme", None, "Tromsø", None)]
    assert sync.run().writes == 0


def test_dry_run_returns_the_plan_and_changes_nothing(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Acme")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    plan = sync.run(dry_run=True)
    assert plan.dry_run and plan.total("create") == 2
    assert sorted((p["system"], p["action"]) for p in plan.planned) == [
        ("erp", "create"), ("shop", "create")]
    assert conns["erp"].count("Accounts") == 0
    assert list(sync.store.iter_links()) == []
    assert sync.store.get_cursor("crm", "customers") is None
    real = sync.run()
    assert real.total("create") == 2 and conns["erp"].count("Accounts") == 1


def test_bad_value_goes_to_dead_letters_with_where_and_what(tmp_path: Path, conns, clock
                                                            ) -> None:  # type: ignore[no-untyped-def]
    bad = company(conns, "erp", "Broken", Employees="a dozen")
    company(conns, "erp", "Fine", Employees="4")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert result.status == "done" and result.exit_code == 1
    (letter,) = result.dead_letters
    for part in ("erp", "Accounts", bad.id, "Employees", "'a dozen'"):
        assert part in letter["error"]
    assert [r[0] for r in records_as_global(conns, "organisation")["crm"]] == ["Fine"]
    conns["erp"].edit("Accounts", bad.id, Employees="12")
    fixed = sync.run()
    assert fixed.dead_letters == [] and sync.store.dead_letters() == []
    assert sorted(r[0] for r in records_as_global(conns, "organisation")["crm"]) == [
        "Broken", "Fine"]


def test_failed_write_is_retried_after_its_backoff(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Acme")
    conns["erp"].fail_next("create", RecordError("Name is too long"))
    sync = make_sync(tmp_path / "state.db", conns, clock)
    first = sync.run()
    assert "Name is too long" in first.dead_letters[0]["error"]
    assert conns["shop"].count("companies") == 1 and conns["erp"].count("Accounts") == 0
    (letter,) = sync.store.dead_letters()
    assert letter.attempts == 1 and letter.next_attempt is not None
    assert sync.run().writes == 0  # not due yet
    clock.advance(timedelta(minutes=6))
    retried = sync.run()
    assert retried.total("create") == 1 and conns["erp"].count("Accounts") == 1
    assert sync.store.dead_letters() == []


def test_backoff_grows_with_attempts(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Acme")
    conns["erp"].fail_next("create", RecordError("no"), times=3)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    delays = []
    for _ in range(3):
        now = clock.t
        sync.run()
        (letter,) = sync.store.dead_letters()
        assert letter.next_attempt is not None
        delays.append(letter.next_attempt - now)
        clock.t = letter.next_attempt
    assert delays[0] < delays[1] < delays[2]
    assert sync.store.dead_letters()[0].attempts == 3


def test_circuit_breaker_stops_a_mass_delete_before_deleting(tmp_path: Path, conns, clock
                                                             ) -> None:  # type: ignore[no-untyped-def]
    ids = [company(conns, "crm", f"Firm {i}").id for i in range(10)]
    sync = make_sync(tmp_path / "state.db", conns, clock, max_delete_fraction=0.25,
                     min_delete_count=1)
    sync.run()
    for ident in ids[:5]:
        conns["crm"].remove("customers", ident)
    result = sync.run()
    assert result.status == "breaker" and result.exit_code == 4
    assert "would delete 5 of 10" in result.message
    assert conns["erp"].count("Accounts") == 10 and conns["shop"].count("companies") == 10
    sync.settings.max_delete_fraction = 0.6
    done = sync.run()
    assert done.status == "done" and done.total("delete") == 10
    assert conns["erp"].count("Accounts") == 5


def test_a_full_listing_that_comes_back_empty_is_a_fault(tmp_path: Path, conns, clock
                                                         ) -> None:  # type: ignore[no-untyped-def]
    for i in range(8):
        company(conns, "crm", f"Firm {i}")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    sync.run()
    for ident in list(conns["shop"].records("companies")):
        conns["shop"].remove("companies", ident)
    result = sync.run()
    assert result.status == "breaker" and "listing came back empty" in result.message
    assert "8 records are linked" in result.message
    assert conns["crm"].count("customers") == 8


def test_a_few_records_may_all_go_from_a_full_listing(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Acme")
    company(conns, "crm", "Bolt")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    sync.run()
    for ident in list(conns["shop"].records("companies")):
        conns["shop"].remove("companies", ident)
    result = sync.run()
    assert result.status == "done" and result.total("delete") == 4
    assert conns["crm"].count("customers") == 0 and conns["erp"].count("Accounts") == 0


@pytest.mark.parametrize(("policy", "crm_after", "erp_after"), [
    (DeletePolicy.PROPAGATE, 0, 0),
    (DeletePolicy.UNLINK, 0, 1),
    (DeletePolicy.IGNORE, 1, 1),
])
def test_delete_policies(tmp_path: Path, conns, clock, policy, crm_after, erp_after  # type: ignore[no-untyped-def]
                         ) -> None:
    acme = company(conns, "crm", "Acme")
    sync = make_sync(tmp_path / "state.db", conns, clock, deletes=policy)
    sync.run()
    conns["crm"].remove("customers", acme.id)
    sync.run()
    assert conns["crm"].count("customers") == crm_after
    assert conns["erp"].count("Accounts") == erp_after
    # an edit elsewhere later: unlink must not bring the record back into crm
    if erp_after:
        erp_id = next(iter(conns["erp"].records("Accounts")))
        conns["erp"].edit("Accounts", erp_id, City="Oslo")
        sync.run()
        assert conns["crm"].count("customers") == crm_after
    assert sync.run().writes == 0


def test_budget_exhausted_stops_cleanly_and_the_next_run_carries_on(tmp_path: Path, conns,
                                                                    clock) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):
        company(conns, "crm", f"Firm {i}")
    conns["erp"].fail_next("create", BudgetExhausted("daily budget of 5000 requests spent"),
                           times=1)
    sync = make_sync(tmp_path / "state.db", conns, clock)
    stopped = sync.run()
    assert stopped.status == "budget" and "daily budget" in stopped.message
    assert stopped.dead_letters == []
    resumed = sync.run()
    assert resumed.status == "done"
    orgs = records_as_global(conns, "organisation")
    assert len(orgs["erp"]) == len(orgs["shop"]) == len(orgs["crm"]) == 6
    assert sync.run().writes == 0


def test_stop_request_keeps_progress_and_a_rerun_finishes(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    for i in range(8):
        company(conns, "crm", f"Firm {i}")
    sync = make_sync(tmp_path / "state.db", conns, clock, batch_size=2)
    pages = []

    def progress(event: str, **info: object) -> None:
        if event == "page":
            pages.append(info)
            if len(pages) == 2:
                sync.request_stop()

    sync._progress = progress
    stopped = sync.run()
    assert stopped.status == "interrupted"
    assert conns["erp"].count("Accounts") == 0
    sync._progress = None
    sync.run()
    assert conns["erp"].count("Accounts") == 8 and conns["shop"].count("companies") == 8


def test_a_second_sync_on_the_same_state_is_refused(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    other = SQLiteStore(tmp_path / "state.db")
    other.acquire_lock("someone else")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    with pytest.raises(LockedError, match="holds the lock"):
        sync.run()
    other.release_lock()
    assert sync.run().status == "done"


def test_orders_are_created_with_their_lines_and_edits_flow_back(tmp_path: Path) -> None:
    conns = order_systems()
    ids = invoice_with_lines(conns["billing"])
    sync = order_sync(tmp_path / "state.db", conns)
    first = sync.run()
    assert first.dead_letters == []
    (order,) = conns["erp"].records("SalesOrders").values()
    account = next(iter(conns["erp"].records("Accounts")))
    assert order["OrderedBy"] == account and order["OrderNumber"] == "INV-Acme"
    lines = conns["erp"].records("SalesOrderLines")
    assert sorted((line["Quantity"], line["UnitPrice"]) for line in lines.values()) == [
        (1, 10), (2, 11)]
    items = conns["erp"].records("Items")
    assert {items[line["Item"]]["Code"] for line in lines.values()} == {
        "sku-Acme-0", "sku-Acme-1"}
    assert conns["erp"].count("Quotations") == 0
    assert sync.run().writes == 0
    line_id = next(iter(lines))
    conns["erp"].edit("SalesOrderLines", line_id, Quantity=7)
    back = sync.run()
    assert back.total("update") == 1
    quantities = sorted(v["quantity"] for v in conns["billing"].records("lineitems").values()
                        if v["invoice"] == ids["invoice"])
    assert 7 in quantities
    assert sync.run().writes == 0


def test_a_quote_goes_to_quotations_only_by_its_route(tmp_path: Path) -> None:
    conns = order_systems()
    sync = order_sync(tmp_path / "state.db", conns)
    acc = conns["erp"].put("Accounts", {"Name": "Acme"})
    conns["erp"].put("Quotations", {"OrderAccount": acc.id, "QuotationNumber": "Q-1"})
    sync.run()
    (invoice,) = conns["billing"].records("invoices").values()
    assert invoice["number"] == "Q-1"
    assert conns["erp"].count("SalesOrders") == 0 and conns["erp"].count("Quotations") == 1
    assert sync.run().writes == 0


def test_a_line_waits_for_its_product_and_follows_later(tmp_path: Path) -> None:
    conns = order_systems()
    ids = invoice_with_lines(conns["billing"])
    bad_item = conns["billing"].put("items", {"code": "sku-bad", "price": "ten"})
    conns["billing"].put("lineitems", {"invoice": ids["invoice"], "item": bad_item.id,
                                       "quantity": 1, "unit_cost": 5})
    sync = order_sync(tmp_path / "state.db", conns)
    first = sync.run()
    assert any("'ten'" in d["error"] for d in first.dead_letters)
    assert first.deferred >= 1
    assert conns["erp"].count("SalesOrderLines") == 2  # the order went with what was ready
    conns["billing"].edit("items", bad_item.id, price=10)
    sync.run()
    assert conns["erp"].count("SalesOrderLines") == 3
    assert sync.run().writes == 0


def test_filter_limits_what_is_created_elsewhere(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Oslo Firm", city="Oslo")
    company(conns, "crm", "Bergen Firm", city="Bergen")
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes={
        "organisation": DatatypeSettings(match_keys=(("name",),), filter={"city": ["oslo"]})})
    sync.run()
    assert [r[0] for r in records_as_global(conns, "organisation")["erp"]] == ["Oslo Firm"]
    assert sync.run().writes == 0


def test_directions_make_a_property_flow_one_way(tmp_path: Path, conns, clock) -> None:  # type: ignore[no-untyped-def]
    acme = company(conns, "crm", "Acme", email="a@acme.no", city="Oslo")
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes={
        "organisation": DatatypeSettings(match_keys=(("name",),), directions={
            "erp": {"email": "to", "city": "from"}})})
    sync.run()
    (erp_id, erp_rec), = conns["erp"].records("Accounts").items()
    assert erp_rec["Email"] == "a@acme.no" and erp_rec.get("City") is None  # city never written
    conns["erp"].edit("Accounts", erp_id, Email="ignored@erp.no", City="Bergen")
    sync.run()
    crm = conns["crm"].records("customers")[acme.id]
    assert crm["email"] == "a@acme.no"  # erp's email changes are not taken
    assert crm["city"] == "Bergen"  # erp's city changes are
    assert sync.run().writes == 0


def test_history_new_links_old_records_but_copies_only_new_ones(tmp_path: Path, conns, clock
                                                                ) -> None:  # type: ignore[no-untyped-def]
    company(conns, "crm", "Old Firm")
    company(conns, "crm", "Shared Firm")
    company(conns, "erp", "Shared Firm")
    sync = make_sync(tmp_path / "state.db", conns, clock, datatypes={
        "organisation": DatatypeSettings(match_keys=(("name",),), history="new")})
    sync.run()
    assert [r[0] for r in records_as_global(conns, "organisation")["erp"]] == ["Shared Firm"]
    assert sync.store.count_links("organisation", "erp") == 1
    company(conns, "crm", "New Firm")
    sync.run()
    assert sorted(r[0] for r in records_as_global(conns, "organisation")["erp"]) == [
        "New Firm", "Shared Firm"]


def test_an_unreadable_record_in_a_full_listing_is_not_a_delete(tmp_path: Path, conns, clock
                                                                ) -> None:  # type: ignore[no-untyped-def]
    from talk_core.connector import Page, Reject

    company(conns, "crm", "Acme")
    company(conns, "crm", "Bolt")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    sync.run()
    shop = conns["shop"]
    broken = next(i for i, r in shop.records("companies").items() if r["title"] == "Acme")
    plain_read = shop.read

    def read(datatype: str, cursor: str | None):  # type: ignore[no-untyped-def]
        for page in plain_read(datatype, cursor):
            kept = [e for e in page.entities if e.id != broken]
            rejects = [Reject(broken, "unreadable body")] if len(kept) < len(page.entities) \
                else []
            yield Page(kept, page.cursor, rejects)

    shop.read = read  # type: ignore[method-assign]
    result = sync.run()
    assert result.total("delete") == 0
    assert conns["crm"].count("customers") == 2 and conns["erp"].count("Accounts") == 2
    assert any("unreadable body" in d["error"] for d in result.dead_letters)


def test_a_datatype_that_cannot_be_read_costs_only_itself(tmp_path: Path, conns, clock
                                                          ) -> None:  # type: ignore[no-untyped-def]
    from talk_core.errors import TransientError

    company(conns, "crm", "Acme")
    conns["erp"].put("Contacts", {"FullName": "Kari"})
    conns["erp"].fail_next("read", TransientError("erp is down"), datatype="Contacts")
    sync = make_sync(tmp_path / "state.db", conns, clock)
    result = sync.run()
    assert result.status == "done" and result.exit_code == 1
    assert result.errors == ["erp Contacts: reading failed: erp is down"]
    assert conns["erp"].count("Accounts") == 1  # the rest of the run went on
    assert sync.store.get_cursor("erp", "Contacts") is None
    sync.run()
    assert [r[0] for r in records_as_global(conns, "human")["crm"]] == ["Kari"]


def test_refused_credentials_stop_the_run_without_dead_letters(tmp_path: Path, conns, clock
                                                               ) -> None:  # type: ignore[no-untyped-def]
    from talk_core.errors import AccessDenied

    for i in range(3):
        company(conns, "crm", f"Firm {i}")
    conns["erp"].fail_next("create", AccessDenied("token refused; run `talk auth` again"))
    sync = make_sync(tmp_path / "state.db", conns, clock)
    stopped = sync.run()
    assert stopped.status == "auth" and "talk auth" in stopped.message
    assert stopped.dead_letters == []
    resumed = sync.run()
    assert resumed.status == "done" and conns["erp"].count("Accounts") == 3


def test_lines_sent_inline_keep_their_line_numbers_order() -> None:
    from talk_core.sync.parents import in_line_order

    children = [("g1", {"line_number": 3}), ("g2", {"line_number": 1}), ("g3", {}),
                ("g4", {"line_number": "2"})]
    assert [g for g, _v in in_line_order(children)] == ["g2", "g4", "g1", "g3"]


def test_a_run_puts_the_collector_thresholds_back(tmp_path: Path) -> None:
    import gc

    clock = SharedClock()
    connectors = make_connectors(clock)
    connectors["crm"].put("customers", {"name": "Acme", "type": "company"})
    seen: list[tuple[int, int, int]] = []
    read = connectors["crm"].read

    def watched(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold())
        return read(*args, **kwargs)

    connectors["crm"].read = watched  # type: ignore[method-assign]
    before = gc.get_threshold()
    make_sync(tmp_path / "state.sqlite", connectors, clock).run()
    assert seen and all(t[0] >= 50_000 for t in seen)
    assert gc.get_threshold() == before
