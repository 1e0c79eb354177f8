"""Exact Online's datatypes as the REST API defines them, and where each one lives.

The flags (required, read-only, create-only) are Exact's own: the engine
never sends read-only fields and sends ``Code`` only on create, because
Exact answers 500 "Gegeven bestaat reeds" when it is sent on update.
Employees, departments, divisions, units and currencies Exact only lets be
read: every field of theirs is read-only, and their endpoints say so.
"""

from __future__ import annotations

from typing import Any

import attrs

from talk_core.model import ChildOf, DataType, Property, PropertyType, ReadMode
from talk_exactonline.convert import CODE_WIDTH

D, INT, B = PropertyType.DECIMAL, PropertyType.INTEGER, PropertyType.BOOLEAN
DT, REF, KIDS = PropertyType.DATETIME, PropertyType.REFERENCE, PropertyType.CHILDREN
FULL = ReadMode.FULL

#: talk's own field on a record that owns an address of its own (an account, an
#: employee, a division): the record's id, so its address facet can name its owner.
#: Never asked of Exact nor sent to it (``Endpoint.self_field``).
OWNER = "Owner"


def _ref(name: str, target: str, *, required: bool = False) -> Property:
    return Property(name, REF, reference=target, required=required)


def _owner(datatype: str) -> Property:
    return Property(OWNER, REF, label="the record itself (talk's, not Exact's)",
                    read_only=True, reference=datatype)


def _read_only(*names: str, type: PropertyType = PropertyType.STRING) -> tuple[Property, ...]:
    return tuple(Property(name, type, read_only=True) for name in names)


def _address() -> tuple[Property, ...]:
    return (Property("AddressLine1"), Property("AddressLine2"), Property("AddressLine3"),
            Property("City"), Property("Postcode"), Property("Country"), Property("State"))


ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("ID", read_only=True),
    Property("Name", required=True),
    Property("Code", create_only=True),
    Property("Status"),
    *_address(),
    Property("Email"), Property("Phone"), Property("Website"),
    Property("ChamberOfCommerce"), Property("VATNumber"),
    Property("Blocked", B), Property("IsSupplier", B),
    Property("CountryName", read_only=True), Property("Modified", DT, read_only=True),
    _owner("Accounts"),
), id_field="ID", updated_field="Modified")

CONTACTS = DataType("Contacts", "Contacts", (
    Property("ID", read_only=True),
    _ref("Account", "Accounts", required=True),
    # Exact wants FirstName or LastName; the connector splits FullName into them on writes.
    Property("FullName", required=True),
    Property("FirstName"), Property("LastName"), Property("MiddleName"),
    Property("Initials"), Property("Title"),
    Property("Email"), Property("BusinessEmail"), Property("Phone"), Property("BusinessPhone"),
    Property("Mobile"), Property("JobTitleDescription"), Property("Language"), Property("Notes"),
    # Exact derives these from the account's address; seed 004 sends them all the same.
    Property("City"), Property("Country"), Property("Postcode"),
    Property("AddressLine2", read_only=True),
    Property("AccountName", read_only=True), Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified")

ADDRESSES = DataType("Addresses", "Addresses", (
    Property("ID", read_only=True),
    _ref("Account", "Accounts", required=True),
    Property("Type", INT, required=True), Property("Main", B),
    *_address(),
    Property("Phone"),
    Property("AccountName", read_only=True), Property("CountryName", read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified")

ITEMS = DataType("Items", "Items", (
    Property("ID", read_only=True),
    Property("Code", required=True, create_only=True),
    Property("Description", required=True),
    Property("ExtraDescription"), Property("Notes"), Property("Unit"),
    Property("CostPriceStandard", D), Property("StandardSalesPrice", D, read_only=True),
    Property("IsSalesItem", B), Property("IsStockItem", B), Property("Barcode"),
    Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified")

QUOTATIONS = DataType("Quotations", "Quotations", (
    Property("QuotationID", read_only=True),
    _ref("OrderAccount", "Accounts", required=True),
    Property("QuotationLines", KIDS, child="QuotationLines", required=True),
    Property("Currency"), Property("QuotationDate", PropertyType.DATE),
    Property("ClosingDate", PropertyType.DATE), Property("DueDate", PropertyType.DATE),
    Property("DeliveryDate", PropertyType.DATE),
    Property("Description"), Property("YourRef"), Property("Remarks"),
    Property("QuotationNumber", INT),
    Property("Status", INT, read_only=True), Property("AmountFC", D, read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="QuotationID", updated_field="Modified")

QUOTATION_LINES = DataType("QuotationLines", "Quotationlines", (
    Property("ID", read_only=True),
    _ref("QuotationID", "Quotations", required=True),
    _ref("Item", "Items", required=True),
    Property("Quantity", D), Property("UnitPrice", D), Property("NetPrice", D),
    Property("Discount", D), Property("Description"), Property("UnitCode"),
    Property("LineNumber", INT, read_only=True), Property("AmountFC", D, read_only=True),
), id_field="ID", child_of=ChildOf("Quotations", "QuotationID", inline_on_create=True))

SALES_ORDERS = DataType("SalesOrders", "Salesorders", (
    Property("OrderID", read_only=True),
    _ref("OrderedBy", "Accounts", required=True),
    Property("SalesOrderLines", KIDS, child="SalesOrderLines", required=True),
    Property("Currency"), Property("OrderDate", PropertyType.DATE),
    Property("DeliveryDate", PropertyType.DATE),
    # a percentage, sent as decimal text ("2.5") so it reaches Exact as written
    Property("Discount"), Property("Description"), Property("YourRef"), Property("Remarks"),
    Property("OrderNumber", INT),
    Property("Status", INT, read_only=True), Property("AmountFC", D, read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="OrderID", updated_field="Modified")

SALES_ORDER_LINES = DataType("SalesOrderLines", "Salesorderlines", (
    Property("ID", read_only=True),
    _ref("OrderID", "SalesOrders", required=True),
    _ref("Item", "Items", required=True),
    Property("Quantity", D), Property("UnitPrice", D), Property("NetPrice", D),
    Property("Discount", D), Property("Description"), Property("UnitCode"),
    Property("DeliveryDate", PropertyType.DATE),
    Property("LineNumber", INT, read_only=True), Property("AmountDC", D, read_only=True),
), id_field="ID", child_of=ChildOf("SalesOrders", "OrderID", inline_on_create=True))

# -- what Exact only lets be read (GET only): people, the company's own structure ---------
EMPLOYEES = DataType("Employees", "Employees", (
    Property("ID", read_only=True),
    *_read_only("FullName", "FirstName", "MiddleName", "LastName", "Initials",
                "BusinessEmail", "Email", "BusinessPhone", "BusinessMobile", "Phone", "Mobile",
                "AddressStreet", "AddressStreetNumber", "AddressStreetNumberSuffix",
                "AddressLine2", "AddressLine3", "City", "Postcode", "Country", "State",
                "Notes"),
    # talk's: Exact keeps street, number and suffix apart (Endpoint.joined)
    Property("AddressLine1", label="street, number and suffix (talk's)", read_only=True),
    Property("BirthDate", PropertyType.DATE, read_only=True),
    Property("IsActive", B, read_only=True),
    Property("Modified", DT, read_only=True), _owner("Employees"),
), id_field="ID", updated_field="Modified", read_mode=FULL)

DEPARTMENTS = DataType("Departments", "Departments", (
    Property("ID", read_only=True),
    *_read_only("Code", "Description", "Notes"),
    Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified", read_mode=FULL)

DIVISIONS = DataType("Divisions", "Divisions", (
    Property("Code", INT, read_only=True),
    *_read_only("Description", "Website", "Email", "Phone", "ChamberOfCommerceNumber",
                "VATNumber", "Currency", "AddressLine1", "AddressLine2", "AddressLine3",
                "City", "Postcode", "Country", "State"),
    Property("Modified", DT, read_only=True), _owner("Divisions"),
), id_field="Code", updated_field="Modified", read_mode=FULL)

# -- invoices: posted with their lines into a sales journal ------------------------------
SALES_INVOICES = DataType("SalesInvoices", "Salesinvoices", (
    Property("InvoiceID", read_only=True),
    _ref("OrderedBy", "Accounts", required=True),
    Property("InvoiceTo", REF, reference="Accounts", create_only=True),
    Property("SalesInvoiceLines", KIDS, child="SalesInvoiceLines", required=True),
    # the sales journal the invoice is posted in, and invoice (8020) or credit note (8021):
    # both chosen once, on create
    Property("Journal", required=True, create_only=True),
    Property("Type", INT, create_only=True),
    Property("Currency", create_only=True),
    Property("InvoiceDate", PropertyType.DATE), Property("OrderDate", PropertyType.DATE),
    Property("DueDate", PropertyType.DATE),
    Property("Description"), Property("YourRef"), Property("Remarks"),
    Property("PaymentReference"),
    Property("InvoiceNumber", INT, read_only=True), Property("Status", INT, read_only=True),
    Property("AmountFC", D, read_only=True), Property("VATAmountFC", D, read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="InvoiceID", updated_field="Modified", read_mode=FULL)

SALES_INVOICE_LINES = DataType("SalesInvoiceLines", "Salesinvoicelines", (
    Property("ID", read_only=True),
    _ref("InvoiceID", "SalesInvoices", required=True),
    _ref("Item", "Items", required=True),
    Property("Quantity", D), Property("UnitPrice", D), Property("NetPrice", D),
    Property("Discount", D), Property("Description"), Property("UnitCode"),
    Property("VATCode"), Property("DeliveryDate", PropertyType.DATE),
    Property("LineNumber", INT, read_only=True), Property("AmountFC", D, read_only=True),
), id_field="ID", read_mode=FULL,
    child_of=ChildOf("SalesInvoices", "InvoiceID", inline_on_create=True))

# -- reference data two divisions of one company keep alike --------------------------------
UNITS = DataType("Units", "Units", (
    Property("ID", read_only=True),
    *_read_only("Code", "Description", "Type"),
    Property("Active", B, read_only=True),
), id_field="ID", read_mode=FULL)

VAT_CODES = DataType("VATCodes", "Vatcodes", (
    Property("ID", read_only=True),
    Property("Code", required=True, create_only=True),
    Property("Description", required=True),
    # a fraction: 21% is 0.21
    Property("Percentage", D),
    # E excluding, I including, N no VAT
    Property("Type"),
    Property("IsBlocked", B),
    Property("Modified", DT, read_only=True),
), id_field="ID", updated_field="Modified", read_mode=FULL)

CURRENCIES = DataType("Currencies", "Currencies", (
    Property("Code", read_only=True),
    Property("Description", read_only=True),
    Property("AmountPrecision", D, read_only=True), Property("PricePrecision", D, read_only=True),
    Property("Modified", DT, read_only=True),
), id_field="Code", updated_field="Modified", read_mode=FULL)

DATATYPES = (ACCOUNTS, CONTACTS, ADDRESSES, ITEMS, QUOTATIONS, QUOTATION_LINES,
             SALES_ORDERS, SALES_ORDER_LINES, EMPLOYEES, DEPARTMENTS, DIVISIONS,
             SALES_INVOICES, SALES_INVOICE_LINES, UNITS, VAT_CODES, CURRENCIES)


@attrs.frozen
class Frozen:
    """Records Exact no longer lets change or be deleted once ``field`` has one of ``values``.

    A processed (Status 50) sales invoice is in the books: Exact refuses to
    change it, its lines, or delete it; a correction is a credit note.
    """

    field: str
    values: frozenset[Any]
    reason: str


@attrs.frozen
class Endpoint:
    """Where one datatype is read, written and reported deleted, and Exact's rules for it.

    ``sync`` is the Sync API path (1000 a page, ``Timestamp`` filter) and
    ``deleted_type`` the ``EntityType`` of ``sync/Deleted``; a datatype
    without them (``ReadMode.FULL`` in its schema) is listed whole at
    ``path``, 60 a page, and its deletes are told by absence. ``children``:
    the inline lines field of a parent (orders, quotations, invoices).
    ``read_only``: Exact offers GET only. ``key``: how the id is written in
    a URL and a filter ("guid", "int" for Divisions' ``Code``, "text" for
    Currencies' ``Code``). ``self_field``: talk's field holding the record's
    own id (``OWNER``). ``joined``: fields talk reads as one, joined by a
    blank, from the parts Exact keeps apart. ``number``: the field Exact
    numbers a new document in; ``new_status`` its status when made.
    ``code_width``: Exact pads ``Code`` right-aligned to this width.
    """

    path: str
    sync: str | None = None
    deleted_type: int | None = None
    children: str | None = None
    read_only: bool = False
    key: str = "guid"
    self_field: str | None = None
    joined: tuple[tuple[str, tuple[str, ...]], ...] = ()
    number: str | None = None
    new_status: int | None = None
    frozen: Frozen | None = None
    code_width: int | None = None


ENDPOINTS: dict[str, Endpoint] = {
    "Accounts": Endpoint("crm/Accounts", "sync/CRM/Accounts", 2, self_field=OWNER,
                         code_width=CODE_WIDTH),
    "Contacts": Endpoint("crm/Contacts", "sync/CRM/Contacts", 5),
    "Addresses": Endpoint("crm/Addresses", "sync/CRM/Addresses", 3),
    "Items": Endpoint("logistics/Items", "sync/Logistics/Items", 9, code_width=CODE_WIDTH),
    "Quotations": Endpoint("crm/Quotations", "sync/CRM/QuotationHeaders", 34,
                           children="QuotationLines", number="QuotationNumber", new_status=20),
    "QuotationLines": Endpoint("crm/QuotationLines", "sync/CRM/QuotationLines", 35),
    "SalesOrders": Endpoint("salesorder/SalesOrders", "sync/SalesOrder/SalesOrderHeaders", 32,
                            children="SalesOrderLines", number="OrderNumber", new_status=12),
    "SalesOrderLines": Endpoint("salesorder/SalesOrderLines",
                                "sync/SalesOrder/SalesOrderLines", 33),
    "Employees": Endpoint("payroll/Employees", read_only=True, self_field=OWNER, joined=(
        ("AddressLine1", ("AddressStreet", "AddressStreetNumber", "AddressStreetNumberSuffix")),
    )),
    "Departments": Endpoint("hrm/Departments", read_only=True),
    "Divisions": Endpoint("hrm/Divisions", read_only=True, key="int", self_field=OWNER),
    "SalesInvoices": Endpoint(
        "salesinvoice/SalesInvoices", children="SalesInvoiceLines", number="InvoiceNumber",
        new_status=20, frozen=Frozen("Status", frozenset({50}), "the invoice is processed")),
    "SalesInvoiceLines": Endpoint("salesinvoice/SalesInvoiceLines"),
    "Units": Endpoint("logistics/Units", read_only=True),
    "VATCodes": Endpoint("vat/VATCodes"),
    "Currencies": Endpoint("general/Currencies", read_only=True, key="text"),
}

BY_NAME: dict[str, DataType] = {d.name: d for d in DATATYPES}
