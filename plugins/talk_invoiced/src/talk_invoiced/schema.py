"""The Invoiced objects talk reads and writes, with the API's own field rules.

Read-only and create-only flags matter to the engine: it never sends a
read-only field, and sends a create-only one (an invoice's customer, a
catalog item's id) only when the record is created.
"""

from __future__ import annotations

import enum

import attrs

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



class Nesting(enum.Enum):
    """Where a datatype's records live in the API."""

    #: its own collection at the top: ``/customers``, ``/customers/{id}``
    TOP = "top"
    #: a collection under each parent object: ``/customers/{id}/contacts/{id}``
    PATH = "path"
    #: inside the parent object's list field, written by PATCHing the parent
    INLINE = "inline"


class Reading(enum.Enum):
    """How a read finds what changed (each is a module of its own)."""

    #: a full listing once, then the parent's ``/events`` (``changes``)
    FEED = "feed"
    #: every parent's listing once, then the events of the children (``contacts``)
    CHILD_FEED = "child_feed"
    #: every parent's lines once, then the lines inside the parents' events (``lines``)
    INLINE_FEED = "inline_feed"
    #: the whole listing every run: no events, ``updated_after`` not to be trusted
    FULL = "full"


class Deleting(enum.Enum):
    """What a delete of the datatype is in Invoiced."""

    #: ``DELETE`` removes it (a 404 is already done)
    REMOVE = "remove"
    #: ``DELETE`` removes it, unless Invoiced refuses (400: a customer with invoices):
    #: then it is deactivated and marked ``RETIRED``, and reads as deleted from then on
    REMOVE_OR_RETIRE = "remove_or_retire"
    #: ``DELETE`` archives it: still there with ``archived=1``, no longer listed
    ARCHIVE = "archive"
    #: the line is left out of the parent's list (``PATCH`` of the parent)
    DROP_FROM_PARENT = "drop_from_parent"


class Discounts(enum.Enum):
    """What a record's ``discounts`` amounts are taken from (see ``discounts``)."""

    NONE = "none"
    SUBTOTAL = "subtotal"  # the invoice's subtotal, or the sum of its lines
    LINE = "line"  # the line's quantity x unit cost


@attrs.frozen
class Endpoint:
    """Where one datatype is read and written, and the rules Invoiced holds it to.

    The connector, its readers and its records take every per-datatype
    choice from here, so a datatype's behaviour reads in one entry.
    """

    #: the collection's path; for ``PATH`` nesting the part under the parent's object,
    #: for ``INLINE`` the parent's field that holds the records
    path: str
    #: one record, in messages ("a contact needs its customer")
    noun: str
    nesting: Nesting
    reading: Reading
    deleting: Deleting
    #: the datatype whose object holds this one, and the field naming it
    parent: str | None = None
    parent_field: str | None = None
    #: the event type prefix (``customer`` for ``customer.updated``); None: no events
    event: str | None = None
    #: fields holding an Invoiced integer id; talk carries ids as text
    id_fields: tuple[str, ...] = ("id",)
    #: the field of a parent that holds its inline children (an invoice's ``items``)
    lines: str | None = None
    discounts: Discounts = Discounts.NONE
    #: whether records carry ``metadata`` (talk's create marker goes there); without
    #: it a crashed create is found again by ``match`` fields
    metadata: bool = True
    match: tuple[str, ...] = ()
    #: fields Invoiced lets change in place; None: every writable field. A change
    #: to any other is a delete and a create again (an item's price)
    editable: frozenset[str] | None = None
    #: the record's id is talk's code in Invoiced's id form (catalog items)
    code_id: bool = False
    #: a talk field that is the record's own id, so a facet can name its owner
    self_reference: str | None = None
    #: document numbers are unique: a number taken already is left to Invoiced
    unique_number: bool = False
    #: voided or closed records refuse edits (invoices, and their lines with them)
    lockable: bool = False
    #: the ``filter[...]`` keys the connector lists the collection by
    filters: frozenset[str] = frozenset()
    #: whether the listing takes ``updated_after`` (strictly greater, unix seconds)
    updated_after: bool = False

    @property
    def own_listing(self) -> bool:
        """Whether the datatype has a listing of its own at the top."""
        return self.nesting is Nesting.TOP


ENDPOINTS: dict[str, Endpoint] = {
    "customers": Endpoint(
        "customers", "customer", Nesting.TOP, Reading.FEED, Deleting.REMOVE_OR_RETIRE,
        event="customer", id_fields=("id", "owner"), self_reference="owner",
        updated_after=True),
    "contacts": Endpoint(
        "contacts", "contact", Nesting.PATH, Reading.CHILD_FEED, Deleting.REMOVE,
        parent="customers", parent_field="customer", event="contact",
        id_fields=("id", "customer"), metadata=False, match=("name", "email")),
    "invoices": Endpoint(
        "invoices", "invoice", Nesting.TOP, Reading.FEED, Deleting.REMOVE,
        event="invoice", id_fields=("id", "customer"), lines="items",
        discounts=Discounts.SUBTOTAL, unique_number=True, lockable=True,
        filters=frozenset({"number"}), updated_after=True),
    "lineitems": Endpoint(
        "items", "line item", Nesting.INLINE, Reading.INLINE_FEED, Deleting.DROP_FROM_PARENT,
        parent="invoices", parent_field="invoice", id_fields=("id", "invoice"),
        discounts=Discounts.LINE),
    "items": Endpoint(
        "items", "item", Nesting.TOP, Reading.FULL, Deleting.ARCHIVE, id_fields=(),
        editable=frozenset({"name", "description", "type", "metadata"}), code_id=True,
        filters=frozenset({"id"}), updated_after=True),
}

#: Fields that hold another record's integer id; talk carries ids as text.
ID_FIELDS = {name: endpoint.id_fields for name, endpoint in ENDPOINTS.items()}


def children_of(parent: str) -> list[str]:
    """The datatypes whose records live under ``parent``'s objects."""
    return [name for name, e in ENDPOINTS.items() if e.parent == parent]
