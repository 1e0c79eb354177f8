"""How each default datatype of the in-house profiles maps to the hub's global types."""

from __future__ import annotations

from typing import Any

import attrs

from talk_core.mapping import (
    ADDRESS_LINES,
    DECIMAL,
    ISO_DATE,
    Composed,
    Converter,
    Direction,
    Mapping,
    PropertyMapping,
    constant,
    mapped,
)
from talk_core.model import Entity


def _code(value: Any) -> str:
    if isinstance(value, dict | list):
        raise TypeError("expected a code, got a structure")
    return str(value).strip().upper()


#: Country and currency codes: in-house systems usually keep them as the hub does.
CODE = Converter(_code, _code, "upper-case code")


#: One ``address`` text of lines is the hub's two address lines (see ``ADDRESS_LINES``).
ADDRESS = Composed(("address",), ("address_line1", "address_line2"), ADDRESS_LINES)


@attrs.frozen
class PeopleRule:
    """Which customers are persons: the rest are companies.

    ``field`` holds the customer's type; a customer is a person when it
    equals ``person`` (``customer_type = "person"``) or, with ``person``
    None, when it is empty (no organisation number: a private customer).
    ``company`` is written on companies talk creates (None: left as is).
    """

    field: str
    person: str | None = "person"
    company: str | None = "company"

    def is_person(self, entity: Entity) -> bool:
        value = entity.properties.get(self.field)
        if self.person is None:
            return value is None or (isinstance(value, str) and not value.strip())
        return bool(value == self.person)

    def is_company(self, entity: Entity) -> bool:
        return not self.is_person(entity)

    def describe(self) -> str:
        if self.person is None:
            return f"{self.field} is empty"
        return f"{self.field} == {self.person!r}"


#: The profiles' rule: a ``customer_type`` of ``person`` or ``company`` (missing: company).
CUSTOMER_TYPE = PeopleRule("customer_type")


def _independent(values: dict[str, Any]) -> bool:
    """Only a person with no employer is a customer of their own (the rest are contacts)."""
    return not values.get("organisation")


def customer_mappings(datatype: str = "customer", people: PeopleRule | None = CUSTOMER_TYPE
                      ) -> tuple[Mapping, ...]:
    """A customer as an organisation, as a human when ``people`` says so, and its address.

    The organisation mapping has no facet label, as the seeds name it
    ("Customer"). The address is a location owned by the customer itself,
    as an Invoiced customer's is, and only a company's: a person's address
    is part of the human. Its kind is ``invoice``: the customer of a CRM,
    shop or PMS is who its orders are for, and its address is where they
    are billed, as an Invoiced customer's is. The two systems' customers
    then hold one location, whose edits flow between them, and Exact
    Online gets it as an invoice address (Addresses Type 3) beside the
    account's own, which is its visit address. The location never creates
    a customer (``creates=False``).
    """
    org = Mapping(datatype, "organisation", mapped([
        ("name", "name"), ("email", "email"), ("phone", "phone"), ("city", "city"),
        ("postal_code", "postal_code"), PropertyMapping("country", "country", CODE),
        ("org_number", "org_number"), ("vat_number", "vat_number"),
    ]), composed=(ADDRESS,))
    location = Mapping(datatype, "location", mapped([
        ("owner", "owner"),
        PropertyMapping("id", "kind", constant("invoice"), Direction.TO_GLOBAL),
        ("city", "city"), ("postal_code", "postal_code"),
        PropertyMapping("country", "country", CODE), ("phone", "phone"),
    ]), composed=(ADDRESS,), facet="location data", defaults={"kind": "invoice"},
        creates=False)
    if people is None:
        return org, location
    is_person, is_company = people.is_person, people.is_company
    company = {} if people.company is None else {people.field: people.company}
    human = Mapping(datatype, "human", mapped([
        ("name", "name"), ("email", "email"), ("phone", "phone"), ("city", "city"),
        ("postal_code", "postal_code"), PropertyMapping("country", "country", CODE),
    ]), composed=(ADDRESS,), facet="human data", when=_Predicate(is_person, people.describe()),
        on_create={people.field: people.person}, route=_independent)
    return (attrs.evolve(org, when=_Predicate(is_company, f"not ({people.describe()})"),
                         on_create=company),
            human,
            attrs.evolve(location, when=_Predicate(is_company,
                                                   f"not ({people.describe()})")))


class _Predicate:
    """A facet's ``when`` with the rule's words as its doc, which ``talk docs`` shows."""

    def __init__(self, test: Any, doc: str) -> None:
        self.test = test
        self.__doc__ = doc

    def __call__(self, entity: Entity) -> bool:
        return bool(self.test(entity))


def _not_quote(values: dict[str, Any]) -> bool:
    """An order is any agreement but a quote or a project, which have datatypes of their own."""
    return values.get("kind") not in ("quote", "project")


def _is_project(values: dict[str, Any]) -> bool:
    return values.get("kind") == "project"


def _is_quote(values: dict[str, Any]) -> bool:
    return values.get("kind") == "quote"


def _has_licence(entity: Entity) -> bool:
    """Only users billed for a licence carry an agreement; staff accounts do not."""
    return bool(entity.properties.get("licence_number"))


_has_licence.__doc__ = "licence_number is set"


CUSTOMER_MAPPINGS = customer_mappings()
CONTACT_MAPPING = Mapping("contact", "human", mapped([
    ("name", "name"), ("email", "email"), ("phone", "phone"), ("title", "title"),
    ("customer", "organisation"),
]))
PRODUCT_MAPPING = Mapping("product", "product", mapped([
    ("code", "code"), ("name", "name"), ("description", "description"),
    PropertyMapping("price", "unit_price", DECIMAL), PropertyMapping("currency", "currency", CODE),
]))
ORDER_MAPPING = Mapping("order", "agreement", mapped([
    ("number", "number"), ("customer", "customer"),
    PropertyMapping("currency", "currency", CODE), PropertyMapping("date", "date", ISO_DATE),
    ("status", "status"),
]), defaults={"kind": "order"}, route=_not_quote)


def _line_mapping(datatype: str, parent: str) -> Mapping:
    return Mapping(datatype, "agreementline", mapped([
        (parent, "agreement"), ("product", "product"), ("description", "description"),
        PropertyMapping("quantity", "quantity", DECIMAL),
        PropertyMapping("unit_price", "unit_price", DECIMAL),
    ]))


ORDERLINE_MAPPING = _line_mapping("orderline", "order")
QUOTELINE_MAPPING = _line_mapping("quoteline", "quote")
QUOTE_MAPPING = Mapping("quote", "agreement", mapped([
    ("number", "number"), ("customer", "customer"),
    PropertyMapping("currency", "currency", CODE), PropertyMapping("date", "date", ISO_DATE),
    PropertyMapping("valid_until", "due_date", ISO_DATE), ("status", "status"),
]), defaults={"kind": "quote"}, route=_is_quote)
#: A CRM user billed for a licence seat: the licence is an agreement with the
#: customer account that pays for it. It is never created from another system's
#: agreement (``creates=False``): an invoice elsewhere must not invent a CRM login.
USER_MAPPING = Mapping("user", "agreement", mapped([
    ("licence_number", "number"), ("account", "customer"),
    PropertyMapping("currency", "currency", CODE), ("plan", "description"),
    PropertyMapping("licence_start", "date", ISO_DATE), ("licence_status", "status"),
]), when=_has_licence, defaults={"kind": "order"}, creates=False)
#: A PMS project is an agreement of kind "project": only those are created in a PMS, so
#: an invoice elsewhere never becomes a project. Its tasks are the agreement's lines.
PROJECT_MAPPING = Mapping("project", "agreement", mapped([
    ("number", "number"), ("customer", "customer"), ("name", "description"),
    PropertyMapping("currency", "currency", CODE),
    PropertyMapping("start_date", "date", ISO_DATE),
    PropertyMapping("end_date", "due_date", ISO_DATE), ("status", "status"),
    ("description", "notes"),
]), defaults={"kind": "project"}, route=_is_project)
TASK_MAPPING = Mapping("task", "agreementline", mapped([
    ("project", "agreement"), ("title", "description"),
    PropertyMapping("hours", "quantity", DECIMAL), PropertyMapping("rate", "unit_price", DECIMAL),
]))
