"""The hub model: the global datatypes every system datatype is mapped to.

Systems never map to each other directly. Each maps to these types, and a
dataflow between two systems is the composition of their two mappings. The
order of ``GLOBAL_TYPES`` is the order the engine syncs them in, so that a
reference always points at a type that was synced before it.
"""

from __future__ import annotations

import attrs

from talk_core.errors import UnknownName
from talk_core.model import PropertyType


@attrs.frozen
class GlobalProperty:
    name: str
    type: PropertyType = PropertyType.STRING
    description: str = ""
    references: tuple[str, ...] = ()


@attrs.frozen
class GlobalType:
    """A global datatype, its properties and its default match keys.

    ``match_keys`` are tried in order when a record is seen for the first
    time: each is a tuple of properties that together identify the record.
    ``parent`` names the property that ties a line to its parent record.
    """

    name: str
    label: str
    properties: tuple[GlobalProperty, ...]
    match_keys: tuple[tuple[str, ...], ...] = ()
    parent: str | None = None

    @property
    def property_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.properties)

    def property(self, name: str) -> GlobalProperty:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(f"global type {self.name} has no property {name!r}")



S, INT, D, B = PropertyType.STRING, PropertyType.INTEGER, PropertyType.DECIMAL, PropertyType.BOOLEAN
DATE, DT, REF = PropertyType.DATE, PropertyType.DATETIME, PropertyType.REFERENCE


CODELIST = GlobalType(
    "codelist",
    "Code list entry",
    (
        GlobalProperty("kind", S, "unit, vat or currency: which list the code is of"),
        GlobalProperty("code", S, "the code as the list has it"),
        GlobalProperty("name", S, "what the code stands for"),
        GlobalProperty("rate", D, "a tax rate as a fraction (0.21 = 21%)"),
        GlobalProperty("active", B, "false when blocked or no longer used"),
    ),
    match_keys=(("kind", "code"),),
)


def _address() -> tuple[GlobalProperty, ...]:
    return (
        GlobalProperty("address_line1", S, "street and number"),
        GlobalProperty("address_line2", S, "second address line"),
        GlobalProperty("city", S, "city or town"),
        GlobalProperty("postal_code", S, "postal or ZIP code"),
        GlobalProperty("state", S, "state, province or region"),
        GlobalProperty("country", S, "ISO 3166-1 alpha-2 code, upper case"),
    )


ORGANISATION = GlobalType(
    "organisation",
    "Organisation",
    (
        GlobalProperty("name", S, "registered or trading name"),
        GlobalProperty("org_number", S, "company registration number"),
        GlobalProperty("vat_number", S, "VAT or tax id"),
        GlobalProperty("email", S, "main e-mail address"),
        GlobalProperty("phone", S, "main phone number"),
        GlobalProperty("website", S, "web address"),
        GlobalProperty("customer_number", S, "the customer number a system shows"),
        GlobalProperty("currency", S, "ISO 4217 code, upper case"),
        GlobalProperty("language", S, "ISO 639-1 code"),
        GlobalProperty("notes", S, "free text"),
        GlobalProperty("active", B, "false when deactivated"),
        *_address(),
    ),
    match_keys=(("org_number",), ("email",), ("name", "postal_code")),
)

HUMAN = GlobalType(
    "human",
    "Human",
    (
        GlobalProperty("name", S, "full name"),
        GlobalProperty("first_name", S),
        GlobalProperty("last_name", S),
        GlobalProperty("email", S, "work e-mail address"),
        GlobalProperty("phone", S, "work phone number"),
        GlobalProperty("mobile", S),
        GlobalProperty("private_email", S, "e-mail address at home"),
        GlobalProperty("private_phone", S, "phone number at home"),
        GlobalProperty("birth_date", DATE),
        GlobalProperty("title", S, "job title"),
        GlobalProperty("language", S, "ISO 639-1 code"),
        GlobalProperty("notes", S),
        GlobalProperty("organisation", REF, "employer", ("organisation",)),
        *_address(),
    ),
    match_keys=(("email",), ("name", "postal_code")),
)

LOCATION = GlobalType(
    "location",
    "Location",
    (
        GlobalProperty("owner", REF, "whose address this is", ("organisation", "human")),
        GlobalProperty("kind", S, "visit, postal, invoice or delivery"),
        *_address(),
        GlobalProperty("phone", S),
    ),
    match_keys=(("owner", "kind"),),
)

PRODUCT = GlobalType(
    "product",
    "Product",
    (
        GlobalProperty("code", S, "SKU or item code"),
        GlobalProperty("name", S),
        GlobalProperty("description", S),
        GlobalProperty("unit_price", D, "sales price per unit, decimal string"),
        GlobalProperty("currency", S, "ISO 4217 code, upper case"),
        GlobalProperty("unit", S, "unit of measure"),
        GlobalProperty("taxable", B),
    ),
    match_keys=(("code",), ("name",)),
)

AGREEMENT = GlobalType(
    "agreement",
    "Agreement",
    (
        GlobalProperty("kind", S, "invoice, order or quote"),
        GlobalProperty("number", S, "document number"),
        GlobalProperty("customer", REF, "who buys", ("organisation", "human")),
        GlobalProperty("currency", S, "ISO 4217 code, upper case"),
        GlobalProperty("date", DATE, "document date"),
        GlobalProperty("due_date", DATE),
        GlobalProperty("delivery_date", DATE, "when the goods or work are delivered"),
        GlobalProperty("discount", D, "order discount as a fraction (0.1 = 10%)"),
        GlobalProperty("description", S),
        GlobalProperty("reference", S, "purchase order or the customer's reference"),
        GlobalProperty("notes", S),
        GlobalProperty("status", S),
    ),
    match_keys=(("kind", "number"),),
)

AGREEMENTLINE = GlobalType(
    "agreementline",
    "Agreement line",
    (
        GlobalProperty("agreement", REF, "the document this line is part of", ("agreement",)),
        GlobalProperty("product", REF, "what is sold", ("product",)),
        GlobalProperty("description", S),
        GlobalProperty("quantity", D),
        GlobalProperty("unit_price", D),
        GlobalProperty("discount", D, "line discount as a fraction"),
        GlobalProperty("line_number", INT),
    ),
    match_keys=(),
    parent="agreement",
)

GLOBAL_TYPES: dict[str, GlobalType] = {
    t.name: t for t in (CODELIST, ORGANISATION, HUMAN, LOCATION, PRODUCT, AGREEMENT,
                        AGREEMENTLINE)
}


def sync_order(names: list[str] | None = None) -> list[GlobalType]:
    """Global types in dependency order, optionally limited to ``names``."""
    order = list(GLOBAL_TYPES.values())
    if names is None:
        return order
    unknown = sorted(set(names) - GLOBAL_TYPES.keys())
    if unknown:
        raise UnknownName(f"unknown global datatype(s): {', '.join(unknown)}; global "
                          f"datatypes: {', '.join(GLOBAL_TYPES)}")
    return [t for t in order if t.name in names]
