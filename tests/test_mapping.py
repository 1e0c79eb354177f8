from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talk_core.mapping import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    ISO_DATE,
    UNIX_DATE,
    UNIX_DATETIME,
    UPPER,
    ConversionError,
    Direction,
    Mapping,
    PropertyMapping,
    constant,
    field_equals,
    mapped,
    value_hash,
)
from talk_core.model import DataType, Entity, Property, PropertyType
from talk_core.sync.conflicts import Candidate, by_priority, make_resolver, newest
from talk_core.sync.match import key_values, match_keys, normalise

CUSTOMERS = DataType("customers", "Customers", (
    Property("id", read_only=True),
    Property("name", required=True),
    Property("type"),
    Property("currency"),
    Property("number", create_only=True),
    Property("created_at", PropertyType.DATETIME, read_only=True),
    Property("parent", PropertyType.REFERENCE, reference="customers"),
))

COMPANIES = Mapping(
    "customers", "organisation",
    mapped([
        ("name", "name"),
        PropertyMapping("currency", "currency", UPPER),
        ("number", "customer_number"),
        PropertyMapping("created_at", "created", UNIX_DATETIME, Direction.TO_GLOBAL),
        ("parent", "parent"),
    ]),
    facet="organisation data", when=field_equals("type", "company", default="company"),
    on_create={"type": "company"},
)


def test_to_global_converts_and_keeps_references_raw() -> None:
    e = Entity("7", {"name": "Acme", "currency": "usd", "number": "C-1", "created_at": 0,
                     "parent": 3})
    assert COMPANIES.to_global(e, CUSTOMERS) == {
        "name": "Acme", "currency": "USD", "customer_number": "C-1",
        "created": "1970-01-01T00:00:00Z", "parent": 3,
    }
    assert COMPANIES.references(CUSTOMERS) == {"parent": "customers"}


def test_to_system_skips_read_only_and_create_only_on_update() -> None:
    values = {"name": "Acme", "currency": "EUR", "customer_number": "C-9",
              "created": "2024-01-01T00:00:00Z"}
    assert COMPANIES.to_system(values, CUSTOMERS, creating=True) == {
        "type": "company", "name": "Acme", "currency": "eur", "number": "C-9",
    }
    assert COMPANIES.to_system(values, CUSTOMERS, creating=False) == {
        "name": "Acme", "currency": "eur",
    }
    assert COMPANIES.writable_globals(CUSTOMERS, creating=False) == {"name", "currency", "parent"}


def test_facet_predicate_with_default() -> None:
    assert COMPANIES.accepts(Entity("1", {"type": "company"}))
    assert COMPANIES.accepts(Entity("1", {}))
    assert not COMPANIES.accepts(Entity("1", {"type": "person"}))


def test_conversion_error_names_property_and_value() -> None:
    bad = Mapping("customers", "organisation", (PropertyMapping("created_at", "created",
                                                                UNIX_DATETIME),))
    with pytest.raises(ConversionError) as info:
        bad.to_global(Entity("1", {"created_at": "yesterday"}), CUSTOMERS)
    assert info.value.prop == "created_at" and "'yesterday'" in str(info.value)


@pytest.mark.parametrize(("conv", "raw", "glob"), [
    (DECIMAL, 12.5, "12.5"), (DECIMAL, "10.00", "10"), (DECIMAL, 3, "3"),
    (INTEGER, 4.0, 4), (BOOLEAN, "true", True), (BOOLEAN, 0, False),
    (UNIX_DATE, 1704067200, "2024-01-01"), (ISO_DATE, "2024-02-03T10:00:00", "2024-02-03"),
    (constant("x"), "anything", "x"),
])
def test_converters(conv, raw, glob) -> None:  # type: ignore[no-untyped-def]
    assert conv.to_global(raw) == glob


def test_a_constant_is_read_whether_or_not_its_field_is_filled() -> None:
    """A constant ignores the system's value, its absence included; others read None."""
    dt = DataType("customers", "Customers", (Property("name"), Property("object")))
    address = Mapping("customers", "location", (
        PropertyMapping("object", "kind", constant("invoice"), Direction.TO_GLOBAL),
        PropertyMapping("name", "city")))
    for record in ({"object": "customer"}, {"object": ""}, {"object": None}, {}):
        values = address.to_global(Entity("1", record), dt)
        assert values == {"kind": "invoice", "city": None}, record


@pytest.mark.parametrize(("conv", "raw"), [
    (DECIMAL, "abc"), (DECIMAL, True), (DECIMAL, "NaN"), (INTEGER, 1.5), (BOOLEAN, "maybe"),
    (UNIX_DATETIME, "x"),
])
def test_converters_refuse_bad_values(conv, raw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((TypeError, ValueError)):
        conv.to_global(raw)


@given(st.integers(min_value=0, max_value=4_000_000_000))
def test_unix_datetime_round_trips(seconds: int) -> None:
    assert UNIX_DATETIME.to_system(UNIX_DATETIME.to_global(seconds)) == seconds


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4,
                   min_value=-10**9, max_value=10**9))
def test_decimal_text_is_canonical(value) -> None:  # type: ignore[no-untyped-def]
    text = DECIMAL.to_global(value)
    assert DECIMAL.to_global(text) == text
    assert DECIMAL.to_global(DECIMAL.to_system(text)) == text


def test_value_hash_is_order_independent_and_sensitive() -> None:
    assert value_hash({"a": 1, "b": 2}) == value_hash({"b": 2, "a": 1})
    assert value_hash({"a": {"y": 1, "x": 2}}) == value_hash({"a": {"x": 2, "y": 1}})
    assert value_hash({"a": 1}) != value_hash({"a": "1"})
    assert value_hash({"a": 1}) != value_hash({"a": 1.0})
    assert value_hash({"a": Decimal("1")}) != value_hash({"a": "1"})
    assert value_hash({"a": Decimal("1.0")}) != value_hash({"a": Decimal("1.00")})
    when = datetime(2026, 1, 2, tzinfo=UTC)
    assert value_hash({"a": when}) != value_hash({"a": when.isoformat()})


def test_value_hash_takes_what_json_cannot() -> None:
    assert value_hash({"a": 2**70}) != value_hash({"a": 2**70 + 1})
    assert value_hash({"a": [{1: "x"}]}) == value_hash({"a": [{1: "x"}]})


def test_match_keys_normalise_and_skip_empty_parts() -> None:
    keys = (("org_number",), ("email",), ("name", "postal_code"))
    found = match_keys({"org_number": None, "email": " A@X.no ", "name": "ACME  AS",
                        "postal_code": ""}, keys)
    assert found == {"email": "a@x.no"}
    found = match_keys({"name": "ACME  AS", "postal_code": "0150"}, keys)
    assert found == {"name+postal_code": "acme as\x1f0150"}
    assert normalise("\uff26\uff55\uff4c\uff4c width") == "full width"


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text() | st.integers())
def test_normalise_takes_a_short_way_for_ascii_with_the_same_result(value: object) -> None:
    """NFKC, casefold and joined white space, as the general way does for any text."""
    import re
    import unicodedata

    full = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value)).casefold().strip())
    assert normalise(value) == full


@pytest.mark.parametrize("text", ["A  B", " a\tb ", "a\x1fb", "a\x0b\x0cb", "A\r\nB"])
def test_ascii_white_space_of_every_kind_is_joined(text: str) -> None:
    assert normalise(text) == "a b"


def test_key_values_follow_each_keys_object() -> None:
    values = {"name": "Acme", "email": "a@x.no", "org_number": "9"}
    assert key_values(values, (("org_number",), ("name", "postal_code"))) == ("9", "Acme", None)
    for _ in range(100):  # many short-lived keys objects: each answers with its own parts
        keys = (("email",), (f"p{_}",))
        assert key_values(values, keys) == ("a@x.no", None)
    assert key_values(values, [["name"], ["email"]]) == ("Acme", "a@x.no")


def test_resolvers() -> None:
    from datetime import UTC, datetime

    t1, t2 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    cands = [Candidate("a", "x", t2), Candidate("b", "y", t1)]
    assert newest()("p", cands) == "a"
    assert newest(["b"])("p", [Candidate("a", "x", t1), Candidate("b", "y", t1)]) == "b"
    assert newest()("p", [Candidate("a", None, t2), Candidate("b", "y", t1)]) == "b"
    assert by_priority(["b", "a"])("p", cands) == "b"
    with pytest.raises(ValueError, match="unknown conflict policy 'oldest'"):
        make_resolver("oldest")
