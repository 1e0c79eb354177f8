"""Exact Online's datatypes seen as talk's global datatypes.

Quotations and sales orders are both agreements: ``route`` sends a new
quote to Quotations and every other agreement to SalesOrders, and
``defaults`` give each its kind. An instance whose ``invoices_as`` is
"quotations" sends new invoices to Quotations too (``mappings_for``): some
businesses offer in Exact what another system has already invoiced. Lines
taken inline by their parent are agreement lines of either, and a new line
goes where its parent went.

Exact numbers its own documents (``QuotationNumber``, ``OrderNumber``: integers,
one sequence per kind): the number is read (the global ``number``) but never
written, so a document from elsewhere ("INV-0001" from Invoiced) is numbered
by Exact instead of being refused, and the number Exact gives is what the
link holds, so it does not flow back over the other system's number.

A contact in Exact belongs to an account, so only a human with an
organisation is created as a Contact (``route``); a person on their own
(an Invoiced person customer) is linked to an Exact contact when their keys
(e-mail, name + postal code) meet, and kept in sync from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from talk_core.mapping import DECIMAL, INTEGER, Direction, Mapping, PropertyMapping, mapped
from talk_exactonline.convert import (
    ADDRESS_TYPE,
    CODE,
    DOCUMENT_NUMBER,
    EXACT_DATE,
    PERCENT,
    UPPER_CODE,
)

P = PropertyMapping
IN = Direction.TO_GLOBAL


#: Where a new Invoiced-style invoice goes: the values of the ``invoices_as`` option.
INVOICES_AS = ("salesorders", "quotations")

Route = Callable[[dict[str, Any]], bool]


def _kind_in(kinds: frozenset[str]) -> Route:
    def route(values: dict[str, Any]) -> bool:
        return values.get("kind") in kinds

    route.__doc__ = f"kind in {sorted(kinds)}"
    return route


def _kind_not_in(kinds: frozenset[str]) -> Route:
    def route(values: dict[str, Any]) -> bool:
        return values.get("kind") not in kinds

    route.__doc__ = f"kind not in {sorted(kinds)}"
    return route


def _quoted_kinds(invoices_as: str) -> frozenset[str]:
    """The agreement kinds created as Quotations; every other kind becomes a SalesOrder."""
    return frozenset({"quote", "invoice"} if invoices_as == "quotations" else {"quote"})


def _employed(values: dict[str, Any]) -> bool:
    return bool(values.get("organisation"))


def _address(country: str = "Country") -> tuple[PropertyMapping, ...]:
    return mapped([("AddressLine1", "address_line1"), ("AddressLine2", "address_line2"),
                   ("City", "city"), ("Postcode", "postal_code"), ("State", "state"),
                   P(country, "country", UPPER_CODE)])


ACCOUNTS = Mapping("Accounts", "organisation", mapped([
    ("Name", "name"), ("Email", "email"), ("Phone", "phone"), ("Website", "website"),
    ("ChamberOfCommerce", "org_number"), ("VATNumber", "vat_number"),
    *_address(), P("Code", "customer_number", CODE),
]))

CONTACTS = Mapping("Contacts", "human", mapped([
    ("FullName", "name"), P("FirstName", "first_name", direction=IN),
    P("LastName", "last_name", direction=IN),
    ("Email", "email"), ("Phone", "phone"), ("Mobile", "mobile"),
    ("JobTitleDescription", "title"), ("Account", "organisation"),
    ("City", "city"), ("Postcode", "postal_code"), P("Country", "country", UPPER_CODE),
]), route=_employed)

ADDRESSES = Mapping("Addresses", "location", mapped([
    ("Account", "owner"), P("Type", "kind", ADDRESS_TYPE), *_address(), ("Phone", "phone"),
]))

ITEMS = Mapping("Items", "product", mapped([
    P("Code", "code", CODE), ("Description", "name"), ("ExtraDescription", "description"),
    P("CostPriceStandard", "unit_price", DECIMAL), ("Unit", "unit"),
]))

QUOTATIONS = Mapping("Quotations", "agreement", mapped([
    ("OrderAccount", "customer"), P("Currency", "currency", UPPER_CODE),
    P("QuotationDate", "date", EXACT_DATE), P("DueDate", "due_date", EXACT_DATE),
    ("Description", "description"), ("YourRef", "reference"), ("Remarks", "notes"),
    P("QuotationNumber", "number", DOCUMENT_NUMBER, IN),
]), defaults={"kind": "quote"}, route=_kind_in(_quoted_kinds("salesorders")))

SALES_ORDERS = Mapping("SalesOrders", "agreement", mapped([
    ("OrderedBy", "customer"), P("Currency", "currency", UPPER_CODE),
    P("OrderDate", "date", EXACT_DATE), P("DeliveryDate", "due_date", EXACT_DATE),
    P("Discount", "discount", PERCENT),
    ("Description", "description"), ("YourRef", "reference"), ("Remarks", "notes"),
    P("OrderNumber", "number", DOCUMENT_NUMBER, IN),
]), defaults={"kind": "order"}, route=_kind_not_in(_quoted_kinds("salesorders")))


def _lines(datatype: str, parent: str) -> Mapping:
    return Mapping(datatype, "agreementline", mapped([
        (parent, "agreement"), ("Item", "product"),
        P("Quantity", "quantity", DECIMAL), P("UnitPrice", "unit_price", DECIMAL),
        P("Discount", "discount", DECIMAL), ("Description", "description"),
        P("LineNumber", "line_number", INTEGER, IN),
    ]))


QUOTATION_LINES = _lines("QuotationLines", "QuotationID")
SALES_ORDER_LINES = _lines("SalesOrderLines", "OrderID")

MAPPINGS = (ACCOUNTS, CONTACTS, ADDRESSES, ITEMS, QUOTATIONS, QUOTATION_LINES,
            SALES_ORDERS, SALES_ORDER_LINES)


def mappings_for(invoices_as: str) -> tuple[Mapping, ...]:
    """The mappings of an instance that creates new invoices as ``invoices_as``.

    Only the routes of the two documents differ; ``defaults`` stay, so a
    quotation read from Exact is still born a quote, and an invoice created
    as a quotation keeps its kind "invoice" in talk.
    """
    if invoices_as not in INVOICES_AS:
        raise ValueError(f"invoices_as: expected one of {', '.join(INVOICES_AS)}, "
                         f"got {invoices_as!r}")
    if invoices_as == INVOICES_AS[0]:
        return MAPPINGS
    kinds = _quoted_kinds(invoices_as)
    routed = {QUOTATIONS.key: attrs.evolve(QUOTATIONS, route=_kind_in(kinds)),
              SALES_ORDERS.key: attrs.evolve(SALES_ORDERS, route=_kind_not_in(kinds))}
    return tuple(routed.get(m.key, m) for m in MAPPINGS)
