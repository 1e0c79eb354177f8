"""The endpoint table agrees with the datatypes it describes.

The connector takes every per-datatype choice from ``schema.ENDPOINTS``;
an entry that names a field the datatype lacks, or a parent that does not
hold it, would send requests Invoiced refuses.
"""

from __future__ import annotations

import pytest

from talk_core.model import PropertyType
from talk_invoiced.api import collection_path, record_path
from talk_invoiced.schema import BY_NAME, ENDPOINTS, Deleting, Nesting, Reading, children_of


def test_every_datatype_has_one_endpoint() -> None:
    assert set(ENDPOINTS) == set(BY_NAME)


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_an_entry_names_only_fields_its_datatype_has(name: str) -> None:
    endpoint, dt = ENDPOINTS[name], BY_NAME[name]
    assert set(endpoint.id_fields) <= set(dt.property_names)
    assert set(endpoint.match) <= set(dt.property_names)
    assert set(endpoint.editable or ()) <= set(dt.property_names)
    assert ("metadata" in dt.property_names) is endpoint.metadata
    assert endpoint.metadata or endpoint.match  # a crashed create is found one way or the other
    if endpoint.self_reference is not None:
        assert dt.property(endpoint.self_reference).reference == name


@pytest.mark.parametrize("name", [n for n, e in ENDPOINTS.items() if e.parent])
def test_a_nested_datatype_points_at_a_parent_that_holds_it(name: str) -> None:
    endpoint = ENDPOINTS[name]
    assert endpoint.parent is not None and endpoint.parent_field is not None
    field = BY_NAME[name].property(endpoint.parent_field)
    assert field.type is PropertyType.REFERENCE and field.reference == endpoint.parent
    assert name in children_of(endpoint.parent)
    parent = ENDPOINTS[endpoint.parent]
    if endpoint.nesting is Nesting.INLINE:
        assert parent.lines == endpoint.path
        kids = BY_NAME[endpoint.parent].property(endpoint.path)
        assert kids.type is PropertyType.CHILDREN and kids.child == name
        assert endpoint.deleting is Deleting.DROP_FROM_PARENT
    else:
        assert endpoint.nesting is Nesting.PATH and parent.nesting is Nesting.TOP


def test_paths_nest_under_the_parent_and_encode_ids() -> None:
    contacts, invoices = ENDPOINTS["contacts"], ENDPOINTS["invoices"]
    assert collection_path(contacts, 12) == "customers/12/contacts"
    assert record_path(contacts, 7, "12") == "customers/12/contacts/7"
    assert record_path(invoices, "a/b") == "invoices/a%2Fb"


def test_only_top_level_collections_are_read_in_full_or_by_their_own_events() -> None:
    for name, endpoint in ENDPOINTS.items():
        if endpoint.reading in (Reading.FEED, Reading.FULL):
            assert endpoint.nesting is Nesting.TOP, name
        if endpoint.reading is not Reading.FULL and endpoint.nesting is not Nesting.INLINE:
            assert endpoint.event is not None, name
