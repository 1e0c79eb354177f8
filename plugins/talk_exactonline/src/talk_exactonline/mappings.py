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

An account is a company (organisation) unless the instance's
``person_accounts`` rule says it is a person (``talk_exactonline.persons``):
then it is a human, and a person from elsewhere can be created as an
account. A company account's own address is also a location of kind
"visit" (Exact's account address is its visiting address), which never
creates an account nor deletes one (``creates=False, deletes=False``) and is told apart from its
invoice, postal and delivery Addresses by that kind.

Sales invoices are agreements of kind "invoice". An instance whose
``invoices_as`` is "salesinvoices" creates new invoices there, posted in
the sales journal ``sales_journal`` names (``on_create``, with Type 8020:
an invoice, not a credit note); journal, type, currency and invoice-to are
Exact's to fix on create, and the invoice number is Exact's.

What Exact only lets be read flows out of it only (``creates=False``, every
property read into talk, and ``deletes=False``: a delete elsewhere drops the
link and leaves the record, which Exact would refuse to delete). Employees
are humans (their work e-mail and phones the human's own, their private
ones ``private_email`` and ``private_phone``) whose home address is a
location of kind "home";
departments and divisions (the administrations themselves) are
organisations, a division's address a "visit" location. Units, currencies
and VAT codes are entries of the global code list (``codelist``, told apart
by ``kind``); of them Exact lets only VAT codes be written, so only those
flow into Exact as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from talk_core.mapping import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    Converter,
    Direction,
    Mapping,
    PropertyMapping,
    constant,
    mapped,
)
from talk_core.model import Entity
from talk_exactonline.convert import (
    ADDRESS_KINDS,
    ADDRESS_TYPE,
    CODE,
    DOCUMENT_NUMBER,
    EXACT_DATE,
    PERCENT,
    UPPER_CODE,
)
from talk_exactonline.persons import PersonRule, parse_person_rule
from talk_exactonline.schema import BY_NAME, OWNER

P = PropertyMapping
IN = Direction.TO_GLOBAL


#: Where a new Invoiced-style invoice goes: the values of the ``invoices_as`` option.
INVOICES_AS = ("salesorders", "quotations", "salesinvoices")
#: The sales journal new invoices are posted in unless ``sales_journal`` says otherwise.
SALES_JOURNAL = "70"
INVOICE_TYPE = 8020

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


def _invoiced_kinds(invoices_as: str) -> frozenset[str]:
    """The agreement kinds created as SalesInvoices."""
    return frozenset({"invoice"} if invoices_as == "salesinvoices" else set())


def _employed(values: dict[str, Any]) -> bool:
    return bool(values.get("organisation"))


def _independent(values: dict[str, Any]) -> bool:
    """A person with no employer can be an account of their own."""
    return not values.get("organisation")


def _exact_address_kind(values: dict[str, Any]) -> bool:
    """Exact's Addresses are visit, postal, invoice or delivery addresses of an account."""
    return values.get("kind") in ADDRESS_KINDS.values()


_exact_address_kind.__doc__ = "kind is visit, postal, invoice or delivery"


def _not(value: Any) -> bool:
    return not BOOLEAN.to_global(value)


#: Exact says ``IsBlocked``; the code list says ``active``.
NOT_BLOCKED = Converter(_not, _not, "blocked as not active")


def _stripped(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise TypeError("expected a code")
    return str(value).strip()


STRIPPED_CODE = Converter(_stripped, _stripped, "code, trimmed")


def _read(pairs: list[tuple[str, str] | PropertyMapping]) -> tuple[PropertyMapping, ...]:
    """Every pair read into talk only: what Exact lets be read and not written."""
    return tuple(attrs.evolve(pm, direction=IN) for pm in mapped(pairs))


def _address(country: str = "Country") -> tuple[PropertyMapping, ...]:
    return mapped([("AddressLine1", "address_line1"), ("AddressLine2", "address_line2"),
                   ("City", "city"), ("Postcode", "postal_code"), ("State", "state"),
                   P(country, "country", UPPER_CODE)])


NO_PERSONS = PersonRule()


def _company_when(rule: PersonRule) -> Callable[[Entity], bool] | None:
    if not rule.active:
        return None
    when = rule.is_company
    return when


def _person_when(rule: PersonRule) -> Callable[[Entity], bool]:
    def when(entity: Entity) -> bool:
        return rule.is_person(entity)

    when.__doc__ = str(rule) if rule.active else "never (person_accounts is none)"
    return when


def _accounts(rule: PersonRule) -> Mapping:
    return Mapping("Accounts", "organisation", mapped([
        ("Name", "name"), ("Email", "email"), ("Phone", "phone"), ("Website", "website"),
        ("ChamberOfCommerce", "org_number"), ("VATNumber", "vat_number"),
        *_address(), P("Code", "customer_number", CODE),
    ]), when=_company_when(rule))


def _person_accounts(rule: PersonRule) -> Mapping:
    return Mapping("Accounts", "human", mapped([
        ("Name", "name"), ("Email", "email"), ("Phone", "phone"), *_address(),
    ]), facet="human data", when=_person_when(rule), on_create=rule.on_create,
        creates=rule.creates, route=_independent)


def _account_address(rule: PersonRule) -> Mapping:
    return Mapping("Accounts", "location", mapped([
        P(OWNER, "owner", direction=IN), P("Name", "kind", constant("visit"), IN), *_address(),
    ]), facet="location data", when=_company_when(rule), defaults={"kind": "visit"},
        creates=False, deletes=False)


ACCOUNTS = _accounts(NO_PERSONS)
PERSON_ACCOUNTS = _person_accounts(NO_PERSONS)
ACCOUNT_ADDRESS = _account_address(NO_PERSONS)

CONTACTS = Mapping("Contacts", "human", mapped([
    ("FullName", "name"), P("FirstName", "first_name", direction=IN),
    P("LastName", "last_name", direction=IN),
    ("Email", "email"), ("Phone", "phone"), ("Mobile", "mobile"),
    ("JobTitleDescription", "title"), ("Account", "organisation"),
    ("City", "city"), ("Postcode", "postal_code"), P("Country", "country", UPPER_CODE),
]), route=_employed)

ADDRESSES = Mapping("Addresses", "location", mapped([
    ("Account", "owner"), P("Type", "kind", ADDRESS_TYPE), *_address(), ("Phone", "phone"),
]), route=_exact_address_kind)

ITEMS = Mapping("Items", "product", mapped([
    P("Code", "code", CODE), ("Description", "name"), ("ExtraDescription", "description"),
    P("CostPriceStandard", "unit_price", DECIMAL), ("Unit", "unit"),
]))

QUOTATIONS = Mapping("Quotations", "agreement", mapped([
    ("OrderAccount", "customer"), P("Currency", "currency", UPPER_CODE),
    P("QuotationDate", "date", EXACT_DATE), P("DueDate", "due_date", EXACT_DATE),
    P("DeliveryDate", "delivery_date", EXACT_DATE),
    ("Description", "description"), ("YourRef", "reference"), ("Remarks", "notes"),
    P("QuotationNumber", "number", DOCUMENT_NUMBER, IN),
]), defaults={"kind": "quote"}, route=_kind_in(_quoted_kinds("salesorders")))

SALES_ORDERS = Mapping("SalesOrders", "agreement", mapped([
    ("OrderedBy", "customer"), P("Currency", "currency", UPPER_CODE),
    P("OrderDate", "date", EXACT_DATE), P("DeliveryDate", "due_date", EXACT_DATE),
    P("DeliveryDate", "delivery_date", EXACT_DATE, IN),
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
SALES_INVOICE_LINES = _lines("SalesInvoiceLines", "InvoiceID")


def _sales_invoices(invoices_as: str, journal: str) -> Mapping:
    return Mapping("SalesInvoices", "agreement", mapped([
        ("OrderedBy", "customer"), P("Currency", "currency", UPPER_CODE),
        P("InvoiceDate", "date", EXACT_DATE), P("DueDate", "due_date", EXACT_DATE),
        ("Description", "description"), ("YourRef", "reference"), ("Remarks", "notes"),
        P("InvoiceNumber", "number", DOCUMENT_NUMBER, IN),
    ]), defaults={"kind": "invoice"}, on_create={"Journal": journal, "Type": INVOICE_TYPE},
        route=_kind_in(_invoiced_kinds(invoices_as)))


SALES_INVOICES = _sales_invoices(INVOICES_AS[0], SALES_JOURNAL)


def _address_read() -> list[tuple[str, str] | PropertyMapping]:
    return [("AddressLine1", "address_line1"), ("AddressLine2", "address_line2"),
            ("City", "city"), ("Postcode", "postal_code"), ("State", "state"),
            P("Country", "country", UPPER_CODE)]


EMPLOYEES = Mapping("Employees", "human", _read([
    ("FullName", "name"), ("FirstName", "first_name"), ("LastName", "last_name"),
    ("BusinessEmail", "email"), ("BusinessPhone", "phone"), ("BusinessMobile", "mobile"),
    ("Email", "private_email"), ("Phone", "private_phone"),
    P("BirthDate", "birth_date", EXACT_DATE), ("Notes", "notes"), *_address_read(),
]), creates=False, deletes=False)

EMPLOYEE_ADDRESS = Mapping("Employees", "location", _read([
    (OWNER, "owner"), P("ID", "kind", constant("home")), *_address_read(),
]), facet="location data", defaults={"kind": "home"}, creates=False, deletes=False)

DEPARTMENTS = Mapping("Departments", "organisation", _read([
    ("Description", "name"), ("Notes", "notes"),
]), creates=False, deletes=False)

DIVISIONS = Mapping("Divisions", "organisation", _read([
    ("Description", "name"), ("Website", "website"), ("Email", "email"), ("Phone", "phone"),
    ("ChamberOfCommerceNumber", "org_number"), ("VATNumber", "vat_number"),
    P("Currency", "currency", UPPER_CODE), *_address_read(),
]), creates=False, deletes=False)

DIVISION_ADDRESS = Mapping("Divisions", "location", _read([
    (OWNER, "owner"), P("Code", "kind", constant("visit")), *_address_read(),
]), facet="location data", defaults={"kind": "visit"}, creates=False, deletes=False)

UNITS = Mapping("Units", "codelist", _read([
    P("Code", "kind", constant("unit")), P("Code", "code", STRIPPED_CODE),
    ("Description", "name"), P("Active", "active", BOOLEAN),
]), defaults={"kind": "unit"}, creates=False, deletes=False)

CURRENCIES = Mapping("Currencies", "codelist", _read([
    P("Code", "kind", constant("currency")), P("Code", "code", UPPER_CODE),
    ("Description", "name"),
]), defaults={"kind": "currency"}, creates=False, deletes=False)

VAT_CODES = Mapping("VATCodes", "codelist", mapped([
    P("Code", "kind", constant("vat"), IN), P("Code", "code", STRIPPED_CODE),
    ("Description", "name"), P("Percentage", "rate", DECIMAL),
    P("IsBlocked", "active", NOT_BLOCKED),
]), defaults={"kind": "vat"}, route=_kind_in(frozenset({"vat"})))

#: The company's own people and administrations: synced only when an instance asks
#: (``company_data``), since they would otherwise become customers and contacts elsewhere.
COMPANY_DATATYPES = frozenset({"Employees", "Departments", "Divisions"})

MAPPINGS = tuple(
    attrs.evolve(m, opt_in="company_data = true") if m.datatype in COMPANY_DATATYPES else m
    for m in (ACCOUNTS, PERSON_ACCOUNTS, ACCOUNT_ADDRESS, CONTACTS, ADDRESSES, ITEMS,
              QUOTATIONS, QUOTATION_LINES, SALES_ORDERS, SALES_ORDER_LINES,
              SALES_INVOICES, SALES_INVOICE_LINES, EMPLOYEES, EMPLOYEE_ADDRESS,
              DEPARTMENTS, DIVISIONS, DIVISION_ADDRESS, UNITS, CURRENCIES, VAT_CODES))


def mappings_for(invoices_as: str, person_accounts: str = "none",
                 sales_journal: str = SALES_JOURNAL, company_data: bool = False
                 ) -> tuple[Mapping, ...]:
    """The mappings of an instance with these options (see ``plugin.OPTIONS``).

    ``invoices_as`` changes only the routes of the documents; ``defaults``
    stay, so a quotation read from Exact is still born a quote, and an
    invoice created as a quotation keeps its kind "invoice" in talk.
    ``person_accounts`` is the rule that makes an account a person
    (``persons``); ``sales_journal`` the journal new sales invoices go in;
    ``company_data`` keeps the mappings of ``COMPANY_DATATYPES``.
    Raises ValueError naming the option that is wrong.
    """
    if invoices_as not in INVOICES_AS:
        raise ValueError(f"invoices_as: expected one of {', '.join(INVOICES_AS)}, "
                         f"got {invoices_as!r}")
    try:
        rule = parse_person_rule(person_accounts, BY_NAME["Accounts"])
    except ValueError as exc:
        raise ValueError(f"person_accounts: {exc}") from None
    journal = str(sales_journal or "").strip()
    if not journal:
        raise ValueError("sales_journal: empty; give the code of a sales journal (e.g. 70)")
    if (invoices_as, rule, journal, company_data) == (
            INVOICES_AS[0], NO_PERSONS, SALES_JOURNAL, True):
        return MAPPINGS
    quoted = _quoted_kinds(invoices_as)
    not_ordered = quoted | _invoiced_kinds(invoices_as)
    changed = {QUOTATIONS.key: attrs.evolve(QUOTATIONS, route=_kind_in(quoted)),
               SALES_ORDERS.key: attrs.evolve(SALES_ORDERS, route=_kind_not_in(not_ordered)),
               SALES_INVOICES.key: _sales_invoices(invoices_as, journal),
               ACCOUNTS.key: _accounts(rule), PERSON_ACCOUNTS.key: _person_accounts(rule),
               ACCOUNT_ADDRESS.key: _account_address(rule)}
    return tuple(changed.get(m.key, m) for m in MAPPINGS
                 if company_data or m.datatype not in COMPANY_DATATYPES)
