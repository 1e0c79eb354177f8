"""What each entity set answers with: every property Exact lists, worked-out ones filled in.

talk's schema holds only the fields talk syncs; Exact answers with all of
an entity's properties (null when empty), including read-only ones it works
out itself: a Contact carries its account's ``Code`` and ``AccountName``, a
line its ``ItemCode`` and ``ItemDescription``. ``$select`` of a property the
entity does not have is a 400. The extra names come from Exact's field
reference for each endpoint (see ``shared/reference/exactonline.md``); an
entity set the table does not name answers with its schema's fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from talk_exactonline.emulator.books import BOOK_EXTRA, BOOK_TYPES, WITHOUT_SYSTEM, derived
from talk_exactonline.emulator.catalog import PLACES, TYPES

#: Properties every Exact entity carries, beyond its own.
SYSTEM = ("Created", "Creator", "CreatorFullName", "Modified", "Modifier",
          "ModifierFullName", "Division")
#: Properties Exact has that talk's schema leaves out, per entity set.
EXTRA: dict[str, tuple[str, ...]] = {
    "Accounts": ("Code", "CountryName", "MainContact", "InvoiceAccount", "IsSales",
                 "IsPurchase", "Language", "Remarks", "SearchCode", "Type"),
    "Contacts": ("Code", "AccountName", "AccountIsCustomer", "AccountIsSupplier",
                 "AccountMainContact", "FullName", "HID", "IsMainContact", "BirthDate",
                 "Gender", "State", "AddressLine2"),
    "Addresses": ("Contact", "ContactName", "AccountIsSupplier", "CountryName", "Fax",
                  "Mailbox", "Notes"),
    "Items": ("IsPurchaseItem", "SalesVatCode", "ItemGroup", "Stock", "StandardSalesPrice",
              "CostPriceCurrency"),
    "Quotations": ("OrderAccountCode", "OrderAccountName", "OrderAccountContact",
                   "InvoiceAccount", "DeliveryAccount", "PaymentCondition", "SalesPerson",
                   "VersionNumber", "AmountDC", "VATAmountFC", "StatusDescription",
                   "CloseDate"),
    "QuotationLines": ("ItemCode", "ItemDescription", "VATCode", "Quotation"),
    "SalesOrders": ("OrderedByName", "DeliverTo", "InvoiceTo", "OrderedByContactPerson",
                    "AmountDiscount", "PaymentCondition", "AmountDC", "StatusDescription"),
    "SalesOrderLines": ("ItemCode", "ItemDescription", "VATCode", "AmountFC"),
    **BOOK_EXTRA,
}
#: Properties of type Edm.Guid beyond the key and the references of talk's schema.
GUIDS = ("Creator", "Modifier", "MainContact", "InvoiceAccount", "AccountMainContact",
         "Contact", "OrderAccountContact", "DeliveryAccount", "SalesPerson", "DeliverTo",
         "InvoiceTo", "OrderedByContactPerson", "ItemGroup", "Quotation", "DeletedBy",
         "EntityKey", "AccountId", "Id", "PaymentServiceAccount", "Document", "Project")
#: What ``sync/Deleted`` answers with.
DELETED_FIELDS = ("ID", "EntityKey", "EntityType", "Timestamp", "DeletedBy", "DeletedDate",
                  "Division", "FullName")


def fields(name: str) -> tuple[str, ...]:
    """Every property of entity set ``name``, in a stable order (Timestamp not among them)."""
    if name == "Deleted":
        return DELETED_FIELDS
    dt = TYPES[name]
    system = () if name in WITHOUT_SYSTEM else SYSTEM
    names = [dt.id_field, *(p.name for p in dt.properties), *EXTRA.get(name, ()), *system]
    return tuple(dict.fromkeys(names))


def guid_fields(name: str) -> frozenset[str]:
    """The properties of ``name`` that hold guids: compared with guid'...' only."""
    own: set[str] = {"ID"}
    if name in TYPES:
        dt = TYPES[name]
        own |= {p.name for p in dt.properties if p.reference}
        if PLACES[name].key == "guid":
            own.add(dt.id_field)
    return frozenset(own | (set(GUIDS) & set(fields(name))))


def stored_fields(name: str) -> frozenset[str]:
    """The properties the emulator's state keeps; the rest are null or worked out."""
    dt = TYPES[name]
    return frozenset({dt.id_field, *dt.property_names, "Timestamp", "Created", "Modified"})


def navigation(name: str) -> str | None:
    """The lines property of a document, the one property that is a collection."""
    endpoint = PLACES.get(name)
    return endpoint.children if endpoint else None


def _account(records: dict[str, dict[str, dict[str, Any]]], ident: Any) -> dict[str, Any]:
    return records["Accounts"].get(str(ident or "").lower(), {})


def _item(records: dict[str, dict[str, dict[str, Any]]], ident: Any) -> dict[str, Any]:
    return records["Items"].get(str(ident or "").lower(), {})


Derive = Callable[[dict[str, dict[str, dict[str, Any]]], dict[str, Any]], dict[str, Any]]

#: Read-only properties Exact works out from other records, at the time of reading.
DERIVED: dict[str, Derive] = {
    "Contacts": lambda rs, r: {
        "Code": _account(rs, r.get("Account")).get("Code"),
        "AccountName": _account(rs, r.get("Account")).get("Name"),
        "AccountIsCustomer": _account(rs, r.get("Account")).get("Status") == "C",
        "AccountIsSupplier": bool(_account(rs, r.get("Account")).get("IsSupplier")),
    },
    "Addresses": lambda rs, r: {"AccountName": _account(rs, r.get("Account")).get("Name")},
    "Quotations": lambda rs, r: {
        "OrderAccountCode": _account(rs, r.get("OrderAccount")).get("Code"),
        "OrderAccountName": _account(rs, r.get("OrderAccount")).get("Name")},
    "SalesOrders": lambda rs, r: {
        "OrderedByName": _account(rs, r.get("OrderedBy")).get("Name")},
    "QuotationLines": lambda rs, r: {"ItemCode": _item(rs, r.get("Item")).get("Code")},
    "SalesOrderLines": lambda rs, r: {"ItemCode": _item(rs, r.get("Item")).get("Code")},
}


def complete(name: str, record: dict[str, Any], records: dict[str, dict[str, dict[str, Any]]],
             division: int) -> dict[str, Any]:
    """The record as Exact shows it: all properties, null where empty, derived ones filled."""
    shown: dict[str, Any] = dict.fromkeys(fields(name))
    shown.update(record)
    if name in BOOK_TYPES:
        shown.update(derived(name, records, record))
    elif name != "Deleted":
        shown.update(DERIVED.get(name, lambda rs, r: {})(records, record))
    if name not in WITHOUT_SYSTEM:
        shown["Division"] = division
    return shown
