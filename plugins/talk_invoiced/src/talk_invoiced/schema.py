"""The Invoiced objects talk reads and writes, with the API's own field rules.

Read-only and create-only flags matter to the engine: it never sends a
read-only field, and sends a create-only one (an invoice's customer, a
catalog item's id) only when the record is created.
"""

from __future__ import annotations

from talk_core.model import ChildOf, DataType, Property, PropertyType, ReadMode

S = PropertyType.STRING
INT = PropertyType.INTEGER
DEC = PropertyType.DECIMAL
BOOL = PropertyType.BOOLEAN
DATETIME = PropertyType.DATETIME
DATE = PropertyType.DATE
REF = PropertyType.REFERENCE
KIDS = PropertyType.CHILDREN

#: The metadata key that ties a record talk created to the create's key.
MARKER = "talk_key"
#: The metadata key where talk keeps the discount rate (a fraction) it wrote to an invoice
#: or line, so it can turn it into an amount again when the subtotal changes.
RATE = "talk_discount_rate"
#: Keys the connector adds to each discount entry it reads: the subtotal the amount is
#: taken from, and the rate talk last wrote (see ``mappings.DISCOUNTS``); never sent.
BASE_KEY = "talk_base"
RATE_KEY = "talk_rate"
#: The metadata key where talk keeps an item's code as the other system has it, when
#: Invoiced's id had to be a different form of it (lower case, ``-`` for other characters).
CODE = "talk_code"
#: The metadata key on a customer talk deactivated because Invoiced refused to delete it.
RETIRED = "talk_deleted"
#: The metadata key on an item talk archives to add it again with a new price: an item
#: archived with it and not added again yet is still the same item (see the connector).
REPLACING = "talk_replacing"


def _stamps() -> tuple[Property, ...]:
    return (
        Property("object", read_only=True),
        Property("created_at", INT, read_only=True),
        Property("updated_at", INT, read_only=True),
    )


def _address() -> tuple[Property, ...]:
    return tuple(Property(n) for n in ("address1", "address2", "city", "state", "postal_code",
                                       "country"))


CUSTOMERS = DataType("customers", "Customers", (
    Property("id", read_only=True),
    # not an Invoiced field: the connector sets it to the customer's own id so
    # that the location facet can name its owner as a reference, which the
    # engine translates to the customer's organisation or human global id
    # (``id`` itself cannot be a reference: the organisation facet reads it as text)
    Property("owner", REF, read_only=True, reference="customers"),
    Property("name", required=True),
    Property("number"),
    Property("email"),
    Property("type"),
    *_address(),
    Property("phone"),
    Property("attention_to"),
    Property("tax_id"),
    Property("language"),
    Property("currency"),
    Property("payment_terms"),
    Property("taxable", BOOL),
    Property("notes"),
    Property("active", BOOL),
    Property("metadata"),
    Property("payment_source", read_only=True),
    Property("statement_pdf_url", read_only=True),
    Property("sign_up_url", read_only=True),
    *_stamps(),
), updated_field="updated_at", read_mode=ReadMode.INCREMENTAL)

CONTACTS = DataType("contacts", "Contacts", (
    Property("id", read_only=True),
    Property("customer", REF, required=True, create_only=True, reference="customers"),
    Property("name", required=True),
    Property("title"),
    Property("email"),
    Property("phone"),
    Property("department"),
    Property("primary", BOOL),
    Property("sms_enabled", BOOL),
    *_address(),
    *_stamps(),
), read_mode=ReadMode.INCREMENTAL)

INVOICES = DataType("invoices", "Invoices", (
    Property("id", read_only=True),
    Property("customer", REF, required=True, create_only=True, reference="customers"),
    Property("name"),
    Property("number"),
    Property("currency"),
    Property("date", INT),
    Property("due_date", INT),
    Property("payment_terms"),
    Property("purchase_order"),
    Property("notes"),
    Property("draft", BOOL),
    Property("closed", BOOL),
    Property("sent", BOOL),
    Property("items", KIDS, child="lineitems"),
    Property("discounts"),
    Property("taxes"),
    Property("ship_to"),
    Property("metadata"),
    Property("status", read_only=True),
    Property("paid", BOOL, read_only=True),
    Property("balance", DEC, read_only=True),
    Property("subtotal", DEC, read_only=True),
    Property("total", DEC, read_only=True),
    Property("url", read_only=True),
    Property("pdf_url", read_only=True),
    *_stamps(),
), updated_field="updated_at", read_mode=ReadMode.INCREMENTAL)

LINEITEMS = DataType("lineitems", "Lineitem", (
    Property("id", read_only=True),
    Property("invoice", REF, required=True, create_only=True, reference="invoices"),
    Property("catalog_item", REF, reference="items"),
    Property("type"),
    Property("name"),
    Property("description"),
    Property("quantity", DEC),
    Property("unit_cost", DEC),
    Property("amount", DEC, read_only=True),
    Property("discountable", BOOL),
    Property("taxable", BOOL),
    Property("discounts"),
    Property("taxes"),
    Property("metadata"),
), read_mode=ReadMode.INCREMENTAL,
   child_of=ChildOf("invoices", "invoice", inline_on_create=False))

ITEMS = DataType("items", "Items", (
    Property("id", create_only=True),
    Property("name", required=True),
    Property("currency"),
    Property("unit_cost", DEC),
    Property("type"),
    Property("description"),
    Property("taxable", BOOL),
    Property("discountable", BOOL),
    Property("gl_account"),
    Property("metadata"),
    *_stamps(),
), read_mode=ReadMode.FULL)

DATATYPES = (CUSTOMERS, CONTACTS, INVOICES, LINEITEMS, ITEMS)
BY_NAME = {d.name: d for d in DATATYPES}

#: Fields that hold another record's integer id; talk carries ids as text.
ID_FIELDS = {"customers": ("id", "owner"), "contacts": ("id", "customer"),
             "invoices": ("id", "customer"), "lineitems": ("id", "invoice"), "items": ()}
