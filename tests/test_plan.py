from __future__ import annotations

from datetime import UTC, datetime, timedelta

from talk_core.model import Link
from talk_core.sync.conflicts import by_priority, newest
from talk_core.sync.plan import (
    Create,
    Delete,
    DeletePolicy,
    Observation,
    Route,
    Target,
    Update,
    plan_group,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PROPS = frozenset({"name", "email", "city"})


def target(system: str, datatype: str = "customers", **kw: object) -> Target:
    return Target(system, {datatype: PROPS}, (Route(datatype, PROPS),), **kw)  # type: ignore[arg-type]


def link(system: str, values: dict[str, object], ext: str = "1") -> Link:
    return Link("organisation", "g1", system, "customers", ext, "h", dict(values))


def plan(**kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "global_type": "organisation", "global_id": "g1", "current": None, "links": {},
        "observations": [], "targets": [target("a"), target("b")],
        "resolver": newest(), "policy": "newest",
    }
    args.update(kw)
    return plan_group(**args)  # type: ignore[arg-type]


def test_new_record_is_created_in_the_other_system_only() -> None:
    obs = Observation("a", "customers", "1", {"name": "Acme", "email": None}, "h1", T0)
    p = plan(observations=[obs])
    # an empty value is no news on a first link: it does not enter the global entity
    assert p.is_new and p.values == {"name": "Acme"}
    assert [type(a) for a in p.actions] == [Create]
    create = p.actions[0]
    assert isinstance(create, Create) and create.system == "b"
    assert create.values == {"name": "Acme"}
    assert [(lk.system, lk.external_id, lk.values) for lk in p.links] == [
        ("a", "1", {"name": "Acme", "email": None})
    ]


def test_defaults_apply_only_to_new_entities() -> None:
    obs = Observation("a", "invoices", "1", {"number": "7"}, "h", T0, defaults={"kind": "invoice"})
    assert plan(observations=[obs]).values == {"kind": "invoice", "number": "7"}
    current = {"kind": "order", "number": "7"}
    p = plan(current=current, links={"a": link("a", {"number": "6"})}, observations=[obs])
    assert p.values == {"kind": "order", "number": "7"}


def test_a_new_entity_seen_once_merges_as_when_seen_with_others() -> None:
    """The short way for one first observation gives what the general merge gives."""
    values = {"name": "Acme", "email": "", "city": "Oslo", "note": [], "kind": "shop"}
    one = Observation("a", "customers", "1", values, "h", T0, defaults={"kind": "invoice",
                      "currency": "NOK"}, ignored=frozenset({"city"}))
    alone = plan(observations=[one])
    assert alone.values == {"kind": "shop", "currency": "NOK", "name": "Acme"}
    # the same observation beside another system's record of nothing takes the general way
    other = Observation("b", "customers", "9", {}, "h9", T0)
    assert plan(observations=[one, other]).values == alone.values
    assert alone.conflicts == []


def test_unchanged_observation_plans_no_write() -> None:
    values = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", values), "b": link("b", values, "9")}
    obs = Observation("a", "customers", "1", dict(values), "h2", T0)
    p = plan(current=dict(values), links=links, observations=[obs])
    assert p.actions == [] and p.conflicts == [] and not p.changed


def test_only_changed_properties_are_written() -> None:
    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    obs = Observation("a", "customers", "1", {**old, "city": "Bergen"}, "h2", T0)
    p = plan(current=dict(old), links=links, observations=[obs])
    assert p.values == {**old, "city": "Bergen"}
    assert len(p.actions) == 1
    update = p.actions[0]
    assert isinstance(update, Update) and update.system == "b"
    assert update.values == {"city": "Bergen"}


def test_concurrent_edit_of_one_property_newest_wins_and_is_recorded() -> None:
    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    obs = [
        Observation("a", "customers", "1", {**old, "city": "Bergen"}, "h", T0),
        Observation("b", "customers", "9", {**old, "city": "Trondheim"}, "h", T0 + timedelta(1)),
    ]
    p = plan(current=dict(old), links=links, observations=obs)
    assert p.values is not None and p.values["city"] == "Trondheim"
    assert len(p.conflicts) == 1
    c = p.conflicts[0]
    assert c.property == "city" and c.winner == "b"
    assert c.values == {"a": "Bergen", "b": "Trondheim"}
    writes = [(a.system, a.values) for a in p.actions if isinstance(a, Update)]
    assert writes == [("a", {"city": "Trondheim"})]


def test_edits_of_different_properties_merge_without_conflict() -> None:
    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    obs = [
        Observation("a", "customers", "1", {**old, "city": "Bergen"}, "h", T0),
        Observation("b", "customers", "9", {**old, "email": "b@x"}, "h", T0),
    ]
    p = plan(current=dict(old), links=links, observations=obs)
    assert p.conflicts == []
    assert p.values == {"name": "Acme", "email": "b@x", "city": "Bergen"}
    writes = sorted((a.system, tuple(sorted(a.values.items()))) for a in p.actions)
    assert writes == [("a", (("email", "b@x"),)), ("b", (("city", "Bergen"),))]


def test_a_value_beats_an_empty_one_even_if_older() -> None:
    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    obs = [
        Observation("a", "customers", "1", {**old, "city": "Bergen"}, "h", T0),
        Observation("b", "customers", "9", {**old, "city": None}, "h", T0 + timedelta(1)),
    ]
    p = plan(current=dict(old), links=links, observations=obs)
    assert p.values is not None and p.values["city"] == "Bergen"
    assert p.conflicts[0].winner == "a"


def test_priority_policy_ignores_time() -> None:
    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    obs = [
        Observation("a", "customers", "1", {**old, "city": "Bergen"}, "h", T0),
        Observation("b", "customers", "9", {**old, "city": "Trondheim"}, "h", T0 + timedelta(1)),
    ]
    p = plan(current=dict(old), links=links, observations=obs,
             resolver=by_priority(["a", "b"]), policy="priority")
    assert p.values is not None and p.values["city"] == "Bergen"
    assert p.conflicts[0].policy == "priority"


def test_custom_resolver_is_called_with_the_candidates() -> None:
    seen = []

    def pick_b(prop: str, candidates: object) -> str:
        seen.append(prop)
        return "b"

    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    obs = [
        Observation("a", "customers", "1", {**old, "name": "A"}, "h", T0 + timedelta(5)),
        Observation("b", "customers", "9", {**old, "name": "B"}, "h", T0),
    ]
    p = plan(current=dict(old), links=links, observations=obs, resolver=pick_b, policy="mine")
    assert seen == ["name"] and p.values is not None and p.values["name"] == "B"


def test_adoption_keeps_stored_values_over_empty_ones_and_records_differences() -> None:
    current = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", current)}
    obs = Observation("b", "customers", "9", {"name": "Acme", "email": None, "city": "Bergen"},
                      "h", T0, adopted=True)
    p = plan(current=dict(current), links=links, observations=[obs])
    assert p.values == {"name": "Acme", "email": "a@x", "city": "Bergen"}
    assert [(c.property, c.winner, c.policy) for c in p.conflicts] == [
        ("city", "b", "first link")
    ]
    # b lacks the email: it is written there; a gets the new city
    writes = sorted((a.system, tuple(sorted(a.values.items()))) for a in p.actions)
    assert writes == [("a", (("city", "Bergen"),)), ("b", (("email", "a@x"),))]


def test_delete_propagates_to_every_other_linked_system() -> None:
    values = {"name": "Acme"}
    links = {"a": link("a", values), "b": link("b", values, "9"), "c": link("c", values, "5")}
    obs = Observation("a", "customers", "1", {}, None, deleted=True)
    p = plan(current=dict(values), links=links, observations=[obs],
             targets=[target("a"), target("b"), target("c")])
    assert p.deleted and p.values is None
    assert sorted((a.system, a.link.external_id) for a in p.actions if isinstance(a, Delete)) == [
        ("b", "9"), ("c", "5")
    ]
    assert sorted(lk.system for lk in p.drop_links) == ["a", "b", "c"]


def test_a_newer_reference_keeps_a_deleted_entity_and_recreates_it_where_deleted() -> None:
    values = {"name": "Acme"}
    links = {"a": link("a", values), "b": link("b", values, "9"), "c": link("c", values, "5")}
    obs = Observation("a", "customers", "1", {}, None, deleted=True)
    p = plan(current=dict(values), links=links, observations=[obs],
             targets=[target("a"), target("b"), target("c")],
             referenced={"b": "invoices 7 refers to customers 9", "a": "not kept where deleted"})
    assert not p.deleted and p.values == values
    assert [(type(a), a.system) for a in p.actions] == [(Create, "a")]
    assert [lk.system for lk in p.drop_links] == ["a"]
    [notice] = p.conflicts
    assert (notice.property, notice.winner, notice.policy) == (
        "(deleted)", "b", "newer reference")
    assert notice.values == {"a": "deleted", "b": "invoices 7 refers to customers 9"}


def test_unlink_detaches_and_never_recreates() -> None:
    values = {"name": "Acme"}
    links = {"a": link("a", values), "b": link("b", values, "9")}
    obs = Observation("a", "customers", "1", {}, None, deleted=True)
    p = plan(current=dict(values), links=links, observations=[obs],
             delete_policy=DeletePolicy.UNLINK)
    assert not p.deleted and p.actions == [] and p.detach == ["a"]
    assert [lk.system for lk in p.drop_links] == ["a"]


def test_ignore_recreates_where_deleted() -> None:
    values = {"name": "Acme"}
    links = {"a": link("a", values), "b": link("b", values, "9")}
    obs = Observation("a", "customers", "1", {}, None, deleted=True)
    p = plan(current=dict(values), links=links, observations=[obs],
             delete_policy=DeletePolicy.IGNORE)
    assert [(type(a), a.system) for a in p.actions] == [(Create, "a")]


def test_detached_system_gets_no_create_and_share_off_writes_nothing() -> None:
    obs = Observation("a", "customers", "1", {"name": "Acme"}, "h", T0)
    assert plan(observations=[obs], detached=frozenset({"b"})).actions == []
    p = plan(observations=[obs], targets=[target("a"), target("b", share=False)])
    assert p.actions == [] and len(p.links) == 1


def test_routes_pick_exactly_one_datatype() -> None:
    routes = (
        Route("quotations", PROPS, lambda v: v.get("kind") == "quote"),
        Route("salesorders", PROPS),
    )
    erp = Target("erp", {"quotations": PROPS, "salesorders": PROPS}, routes)
    quote = Observation("a", "x", "1", {"name": "Q"}, "h", T0, defaults={"kind": "quote"})
    order = Observation("a", "x", "2", {"name": "O"}, "h", T0, defaults={"kind": "invoice"})
    p1 = plan(observations=[quote], targets=[target("a", "x"), erp])
    p2 = plan(observations=[order], targets=[target("a", "x"), erp])
    assert [(a.system, a.datatype) for a in p1.actions if isinstance(a, Create)] == [
        ("erp", "quotations")
    ]
    assert [(a.system, a.datatype) for a in p2.actions if isinstance(a, Create)] == [
        ("erp", "salesorders")
    ]


def test_read_only_globals_are_never_written() -> None:
    old = {"name": "Acme", "email": "a@x", "city": "Oslo"}
    links = {"a": link("a", old), "b": link("b", old, "9")}
    narrow = Target("b", {"customers": frozenset({"name"})}, ())
    obs = Observation("a", "customers", "1", {**old, "city": "Bergen"}, "h", T0)
    p = plan(current=dict(old), links=links, observations=[obs], targets=[target("a"), narrow])
    assert p.actions == [] and p.values is not None and p.values["city"] == "Bergen"
