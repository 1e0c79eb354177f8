"""The three in-house system profiles: their default schemas and mappings to the hub.

A profile is what talk assumes an in-house CRM, webshop or PMS looks like
before the user's config says otherwise. Property names here are talk's
own (canonical) names; a system that calls ``name`` ``company_name`` says
so in config, and the connector renames on the wire, so the mappings below
never change per installation.

Wire formats: text as text, decimals as JSON numbers (or decimal text),
dates as ``YYYY-MM-DD``, country and currency codes upper case, ids as
text or integers (talk always holds them as text).
"""

from __future__ import annotations

from typing import Any

import attrs

from talk_core.mapping import DECIMAL, ISO_DATE, Converter, Mapping, PropertyMapping, mapped
from talk_core.model import ChildOf, DataType, Entity, Property, PropertyType

S, D, DATE = PropertyType.STRING, PropertyType.DECIMAL, PropertyType.DATE
REF = PropertyType.REFERENCE


def _code(value: Any) -> str:
    if isinstance(value, dict | list):
        raise TypeError("expected a code, got a structure")
    return str(value).strip().upper()


#: Country and currency codes: in-house systems usually keep them as the hub does.
CODE = Converter(_code, _code, "upper-case code")


@attrs.frozen
class Profile:
    """One kind of in-house system: kind name, label, schemas and mappings.

    ``resources`` names the default REST path (and SQLite table) of each
    datatype: the plural an in-house API most likely already uses.
    """

    name: str
    label: str
    datatypes: tuple[DataType, ...]
    mappings: tuple[Mapping, ...]

    def datatype(self, name: str) -> DataType:
        for dt in self.datatypes:
            if dt.name == name:
                return dt
        raise KeyError(f"profile {self.name!r} has no datatype {name!r}")


def resource_name(datatype: str) -> str:
    """The default path and table of a datatype: its plural."""
    return datatype + "s"


_ADDRESS = (Property("address"), Property("city"), Property("postal_code"), Property("country"))

CUSTOMER = DataType("customer", "Customer", (
    Property("name", required=True), Property("email"), Property("phone"), *_ADDRESS,
    Property("org_number"), Property("vat_number"),
))
CONTACT = DataType("contact", "Contact", (
    Property("name", required=True), Property("email"), Property("phone"), Property("title"),
    Property("customer", REF, reference="customer"),
))
PRODUCT = DataType("product", "Product", (
    Property("code", required=True), Property("name"), Property("description"),
    Property("price", D), Property("currency"),
))
ORDER = DataType("order", "Order", (
    Property("number"), Property("customer", REF, reference="customer", required=True),
    Property("currency"), Property("date", DATE), Property("status"),
))
ORDERLINE = DataType("orderline", "Orderline", (
    Property("order", REF, reference="order", required=True),
    Property("product", REF, reference="product"), Property("description"),
    Property("quantity", D), Property("unit_price", D),
), child_of=ChildOf("order", "order", inline_on_create=False))
QUOTE = DataType("quote", "Quote", (
    Property("number"), Property("customer", REF, reference="customer", required=True),
    Property("currency"), Property("date", DATE), Property("valid_until", DATE),
    Property("status"),
))
#: A quote's lines are records of their own, like an order's: the engine sends a
#: new agreement line here when its agreement is a quote in this system.
QUOTELINE = DataType("quoteline", "Quoteline", (
    Property("quote", REF, reference="quote", required=True),
    Property("product", REF, reference="product"), Property("description"),
    Property("quantity", D), Property("unit_price", D),
), child_of=ChildOf("quote", "quote", inline_on_create=False))
USER = DataType("user", "User", (
    Property("name", required=True), Property("email"), Property("role"),
    Property("licence_number"), Property("account", REF, reference="customer"),
    Property("plan"), Property("currency"), Property("licence_start", DATE),
    Property("licence_status"),
))


def _customer_mapping(datatype: str = "customer") -> Mapping:
    return Mapping(datatype, "organisation", mapped([
        ("name", "name"), ("email", "email"), ("phone", "phone"), ("address", "address_line1"),
        ("city", "city"), ("postal_code", "postal_code"),
        PropertyMapping("country", "country", CODE), ("org_number", "org_number"),
        ("vat_number", "vat_number"),
    ]))


def _not_quote(values: dict[str, Any]) -> bool:
    return values.get("kind") != "quote"


def _is_quote(values: dict[str, Any]) -> bool:
    return values.get("kind") == "quote"


def _has_licence(entity: Entity) -> bool:
    """Only users billed for a licence carry an agreement; staff accounts do not."""
    return bool(entity.properties.get("licence_number"))


_has_licence.__doc__ = "licence_number is set"


CUSTOMER_MAPPING = _customer_mapping()
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

CUSTOMCRM = Profile(
    "customcrm", "Customcrm",
    (CUSTOMER, CONTACT, PRODUCT, ORDER, ORDERLINE, QUOTE, QUOTELINE, USER),
    (CUSTOMER_MAPPING, CONTACT_MAPPING, PRODUCT_MAPPING, ORDER_MAPPING, ORDERLINE_MAPPING,
     QUOTE_MAPPING, QUOTELINE_MAPPING, USER_MAPPING),
)
CUSTOMWEBSHOP = Profile(
    "customwebshop", "Customwebshop",
    (CUSTOMER, PRODUCT, ORDER, ORDERLINE),
    (CUSTOMER_MAPPING, PRODUCT_MAPPING, ORDER_MAPPING, ORDERLINE_MAPPING),
)
CUSTOMPMS = Profile("custompms", "Custom PMS", (CUSTOMER,), (CUSTOMER_MAPPING,))

PROFILES: dict[str, Profile] = {p.name: p for p in (CUSTOMCRM, CUSTOMWEBSHOP, CUSTOMPMS)}
