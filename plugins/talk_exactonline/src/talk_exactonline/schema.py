"""Exact Online's datatypes as the REST API defines them, and where each one lives.

The flags (required, read-only, create-only) are Exact's own: the engine
never sends read-only fields and sends ``Code`` only on create, because
Exact answers 500 "Gegeven bestaat reeds" when it is sent on update.
"""

from __future__ import annotations

import attrs

from talk_core.model import ChildOf, DataType, Property, PropertyType

D, INT, B = PropertyType.DECIMAL, PropertyType.INTEGER, PropertyType.BOOLEAN
DT, REF, KIDS = PropertyType.DATETIME, PropertyType.REFERENCE, PropertyType.CHILDREN


def _ref(name: str, target: str, *, required: bool = False) -> Property:
    return Property(name, REF, reference=target, required=required)


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

DATATYPES = (ACCOUNTS, CONTACTS, ADDRESSES, ITEMS, QUOTATIONS, QUOTATION_LINES,
             SALES_ORDERS, SALES_ORDER_LINES)


@attrs.frozen
class Endpoint:
    """Where one datatype is read, written and reported deleted.

    ``sync`` is the Sync API path (1000 a page, ``Timestamp`` filter);
    ``deleted_type`` the ``EntityType`` of ``sync/Deleted``; ``children``
    the inline lines field of a parent (orders and quotations).
    """

    path: str
    sync: str
    deleted_type: int
    children: str | None = None


ENDPOINTS: dict[str, Endpoint] = {
    "Accounts": Endpoint("crm/Accounts", "sync/CRM/Accounts", 2),
    "Contacts": Endpoint("crm/Contacts", "sync/CRM/Contacts", 5),
    "Addresses": Endpoint("crm/Addresses", "sync/CRM/Addresses", 3),
    "Items": Endpoint("logistics/Items", "sync/Logistics/Items", 9),
    "Quotations": Endpoint("crm/Quotations", "sync/CRM/QuotationHeaders", 34,
                           children="QuotationLines"),
    "QuotationLines": Endpoint("crm/QuotationLines", "sync/CRM/QuotationLines", 35),
    "SalesOrders": Endpoint("salesorder/SalesOrders", "sync/SalesOrder/SalesOrderHeaders", 32,
                            children="SalesOrderLines"),
    "SalesOrderLines": Endpoint("salesorder/SalesOrderLines",
                                "sync/SalesOrder/SalesOrderLines", 33),
}

BY_NAME: dict[str, DataType] = {d.name: d for d in DATATYPES}
