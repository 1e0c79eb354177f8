"""How each default datatype of the in-house profiles maps to the hub's global types."""

from __future__ import annotations

from typing import Any

from talk_core.mapping import DECIMAL, ISO_DATE, Converter, Mapping, PropertyMapping, mapped
from talk_core.model import Entity


def _code(value: Any) -> str:
    if isinstance(value, dict | list):
        raise TypeError("expected a code, got a structure")
    return str(value).strip().upper()


#: Country and currency codes: in-house systems usually keep them as the hub does.
CODE = Converter(_code, _code, "upper-case code")


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
