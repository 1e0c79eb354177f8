"""Exact's formats: /Date(ms)/ with and without offset, padded codes, countries, discounts."""

from __future__ import annotations

import pytest

from talk_core.mapping import ConversionError
from talk_core.model import Entity
from talk_exactonline.convert import (
    ADDRESS_TYPE,
    CODE,
    DOCUMENT_NUMBER,
    EXACT_DATE,
    EXACT_DATETIME,
    PERCENT,
    UPPER_CODE,
    split_full_name,
)
from talk_exactonline.mappings import ACCOUNTS, SALES_ORDERS
from talk_exactonline.schema import BY_NAME


def test_exact_dates_to_iso() -> None:
    assert EXACT_DATETIME.to_global("/Date(1382667872203)/") == "2013-10-25T02:24:32.203000Z"
    # the offset names the zone it was entered in; the instant is the same
    assert EXACT_DATETIME.to_global("/Date(1382667872203+0100)/") == (
        "2013-10-25T02:24:32.203000Z")
    assert EXACT_DATE.to_global("/Date(1726444800000)/") == "2024-09-16"
    assert EXACT_DATE.to_global("/Date(-86400000)/") == "1969-12-31"
    assert EXACT_DATE.to_global("2024-09-16T00:00:00") == "2024-09-16"


def test_dates_are_sent_as_iso() -> None:
    assert EXACT_DATE.to_system("2024-09-16") == "2024-09-16T00:00:00"
    assert EXACT_DATETIME.to_system("2013-10-25T02:24:32Z") == "2013-10-25T02:24:32"


@pytest.mark.parametrize("bad", ["/Date(abc)/", "yesterday", "/Date(12)", 17])
def test_unparseable_date_is_a_conversion_error_naming_the_field(bad: object) -> None:
    entity = Entity("x", {"OrderedBy": "a", "OrderDate": bad})
    with pytest.raises(ConversionError) as caught:
        SALES_ORDERS.to_global(entity, BY_NAME["SalesOrders"])
    assert caught.value.prop == "OrderDate"
    assert "OrderDate" in str(caught.value)


def test_codes_are_right_aligned_to_18_and_trimmed_back() -> None:
    assert CODE.to_system("KOF-001") == "           KOF-001"
    assert len(CODE.to_system("1")) == 18
    assert CODE.to_global("           KOF-001") == "KOF-001"
    with pytest.raises(ValueError):
        CODE.to_system("X" * 19)


def test_code_is_never_sent_on_update() -> None:
    dt = BY_NAME["Accounts"]
    values = {"name": "Acme", "customer_number": "42"}
    assert ACCOUNTS.to_system(values, dt, creating=True)["Code"] == "42".rjust(18)
    assert "Code" not in ACCOUNTS.to_system(values, dt, creating=False)


def test_country_loses_its_trailing_blank() -> None:
    assert UPPER_CODE.to_global("NL ") == "NL"
    assert UPPER_CODE.to_global("be") == "BE"
    entity = Entity("x", {"Name": "Acme", "Country": "NL "})
    assert ACCOUNTS.to_global(entity, BY_NAME["Accounts"])["country"] == "NL"


def test_order_discount_is_a_percentage_line_discount_a_fraction() -> None:
    assert PERCENT.to_global(2.5) == "0.025"
    assert PERCENT.to_global("2.5") == "0.025"  # the order's Discount is text in talk's schema
    assert PERCENT.to_system("0.1") == "10"
    assert PERCENT.to_system("0.055") == "5.5"
    with pytest.raises(TypeError):
        PERCENT.to_system("ten percent")


def test_address_types_and_document_numbers() -> None:
    assert [ADDRESS_TYPE.to_global(n) for n in (1, 2, 3, 4)] == [
        "visit", "postal", "invoice", "delivery"]
    assert ADDRESS_TYPE.to_system("Delivery") == 4
    with pytest.raises(ValueError):
        ADDRESS_TYPE.to_global(7)
    assert DOCUMENT_NUMBER.to_global(12) == "12"
    assert DOCUMENT_NUMBER.to_system("12") == 12
    with pytest.raises(ValueError):
        DOCUMENT_NUMBER.to_system("INV-0001")


def test_full_name_is_split_dutch_style() -> None:
    assert split_full_name("Anna de Vries") == {"FirstName": "Anna", "LastName": "de Vries"}
    assert split_full_name("Madonna") == {"FirstName": "", "LastName": "Madonna"}
