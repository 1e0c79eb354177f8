"""How Invoiced records are seen as talk's global datatypes, and back.

Choices a reader would otherwise have to guess:

- A customer is organisation data when its ``type`` is ``company`` (the
  API's default, so a missing type counts as company) and human data when it
  is ``person``. Its own address is also location data of kind
  ``"invoice"``: Invoiced is a billing system, the address on a customer is
  where invoices go. That facet never creates a customer
  (``creates=False``); it only updates the address of the linked one. Only a
  company's address is a location of its own: a person customer's address
  is part of the human (an address owned by a human has nowhere to go in
  systems whose addresses belong to accounts, such as Exact Online).
- A new human becomes a person customer when it has no organisation, and
  a contact of that organisation's customer when it has one.
- A contact is a human working for its customer (``organisation``), and its
  address is location data of kind ``"postal"`` owned by that customer, so
  it never merges with the customer's own invoice address. Only a contact
  that holds an address (a street, city, postal code, state or country) has
  one: most contacts are a name, an e-mail and a phone, and each of them
  would otherwise be an empty postal address of its customer, made as an
  empty address elsewhere (Exact Online's Addresses).
- The organisation facet maps the customer's ``id`` to the global
  ``customer_number`` (read only): the seeds pair it with the other side's
  record id. Invoiced's own ``number`` is left to Invoiced, which numbers
  customers per account and refuses duplicates.
- Invoiced keeps invoice and line ``discounts`` as a list of money amounts;
  the global ``discount`` is a fraction. The connector annotates each entry
  with the amount it is taken from (the invoice's subtotal, the line's
  quantity x unit cost) so the converter answers total / base, and turns the
  rate the converter writes into one discount of rate x base, keeping the
  rate in ``metadata.talk_discount_rate`` to apply it again when lines change
  (see ``talk_invoiced.discounts``).
- Catalog item ids are chosen by the user but must match
  ``^[a-z0-9_\\-:]{2,}$``: the connector writes a product code from elsewhere
  in that form (lower case, other characters as ``-``) and keeps the code as
  given in ``metadata.talk_code``, so the item reads back as that code and an
  edit of the item in Invoiced does not rewrite the code elsewhere.
"""

from __future__ import annotations

from typing import Any

from talk_core.mapping import (
    BOOLEAN,
    DECIMAL,
    UNIX_DATE,
    UPPER,
    Converter,
    Direction,
    Mapping,
    PropertyMapping,
    constant,
    field_equals,
)
from talk_core.model import Entity
from talk_invoiced import discounts
from talk_invoiced.records import item_id

TO_GLOBAL = Direction.TO_GLOBAL


DISCOUNTS = Converter(discounts.to_fraction, discounts.to_rate, "discount amounts as a fraction")

def _item_code(value: Any) -> str:
    """The code as given; the connector makes the item id of it (and keeps the code)."""
    item_id(value)  # refuses what can never be an item id
    return str(value).strip()


def _upper(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise TypeError("expected a country code, got a structure")
    return str(value).strip().upper()


#: Invoiced keeps country codes upper case (the core's UPPER writes lower case, for currencies).
COUNTRY = Converter(_upper, _upper, "country code")

ITEM_ID = Converter(str, _item_code, "Invoiced item id")
TEXT_ID = Converter(str, str, "id as text")


def _pm(system: str, global_: str, converter: Converter | None = None,
        direction: Direction = Direction.BOTH) -> PropertyMapping:
    if converter is None:
        return PropertyMapping(system, global_, direction=direction)
    return PropertyMapping(system, global_, converter, direction)


def _address() -> tuple[PropertyMapping, ...]:
    return (
        _pm("address1", "address_line1"), _pm("address2", "address_line2"),
        _pm("city", "city"), _pm("postal_code", "postal_code"), _pm("state", "state"),
        _pm("country", "country", COUNTRY),
    )


def _independent(values: dict[str, Any]) -> bool:
    """A person with no employer is a customer of their own."""
    return not values.get("organisation")


def _employed(values: dict[str, Any]) -> bool:
    """A person working for an organisation is one of its contacts."""
    return bool(values.get("organisation"))


ORGANISATION = Mapping("customers", "organisation", (
    _pm("name", "name"),
    _pm("id", "customer_number", TEXT_ID, TO_GLOBAL),
    _pm("email", "email"),
    _pm("phone", "phone"),
    _pm("tax_id", "vat_number"),
    _pm("currency", "currency", UPPER),
    _pm("language", "language"),
    _pm("notes", "notes"),
    _pm("active", "active", BOOLEAN),
    *_address(),
), facet="organisation data", when=field_equals("type", "company", default="company"),
    on_create={"type": "company"})

PERSON = Mapping("customers", "human", (
    _pm("name", "name"),
    _pm("email", "email"),
    _pm("phone", "phone"),
    _pm("language", "language"),
    _pm("notes", "notes"),
    *_address(),
), facet="human data", when=field_equals("type", "person"), on_create={"type": "person"},
    route=_independent)

CUSTOMER_ADDRESS = Mapping("customers", "location", (
    _pm("owner", "owner"),
    _pm("object", "kind", constant("invoice"), TO_GLOBAL),
    *_address(),
    _pm("phone", "phone"),
), facet="location data", when=field_equals("type", "company", default="company"),
    defaults={"kind": "invoice"}, creates=False)

CONTACT = Mapping("contacts", "human", (
    _pm("name", "name"),
    _pm("email", "email"),
    _pm("phone", "phone"),
    _pm("title", "title"),
    _pm("customer", "organisation"),
    *_address(),
), route=_employed)

#: the fields of a contact that make an address; a phone alone does not
ADDRESS_FIELDS = ("address1", "address2", "city", "postal_code", "state", "country")


def _has_address(entity: Entity) -> bool:
    props = entity.properties
    return any(props.get(name) not in (None, "") for name in ADDRESS_FIELDS)


_has_address.__doc__ = "any of " + ", ".join(ADDRESS_FIELDS) + " is filled"

CONTACT_ADDRESS = Mapping("contacts", "location", (
    _pm("customer", "owner"),
    _pm("object", "kind", constant("postal"), TO_GLOBAL),
    *_address(),
    _pm("phone", "phone"),
), when=_has_address, defaults={"kind": "postal"}, creates=False)

INVOICE = Mapping("invoices", "agreement", (
    _pm("customer", "customer"),
    _pm("number", "number"),
    _pm("currency", "currency", UPPER),
    _pm("date", "date", UNIX_DATE),
    _pm("due_date", "due_date", UNIX_DATE),
    _pm("discounts", "discount", DISCOUNTS),
    _pm("name", "description"),
    _pm("purchase_order", "reference"),
    _pm("notes", "notes"),
    _pm("status", "status", direction=TO_GLOBAL),
), defaults={"kind": "invoice"})

LINEITEM = Mapping("lineitems", "agreementline", (
    _pm("invoice", "agreement"),
    _pm("catalog_item", "product"),
    _pm("name", "description"),
    _pm("quantity", "quantity", DECIMAL),
    _pm("unit_cost", "unit_price", DECIMAL),
    _pm("discounts", "discount", DISCOUNTS),
))

ITEM = Mapping("items", "product", (
    _pm("id", "code", ITEM_ID),
    _pm("name", "name"),
    _pm("description", "description"),
    _pm("unit_cost", "unit_price", DECIMAL),
    _pm("currency", "currency", UPPER),
    _pm("taxable", "taxable", BOOLEAN),
))

MAPPINGS = (ORGANISATION, PERSON, CUSTOMER_ADDRESS, CONTACT, CONTACT_ADDRESS, INVOICE,
            LINEITEM, ITEM)
