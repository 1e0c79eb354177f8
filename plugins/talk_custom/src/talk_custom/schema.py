"""The default schemas of the three in-house profiles: the datatypes and their properties.

Property names here are talk's own (canonical) names; a system that calls
``name`` ``company_name`` says so in config, and the connector renames on
the wire, so the mappings never change per installation.

Wire formats: text as text, decimals as JSON numbers (or decimal text),
dates as ``YYYY-MM-DD``, country and currency codes upper case, ids as
text or integers (talk always holds them as text).
"""

from __future__ import annotations

from talk_core.model import ChildOf, DataType, Property, PropertyType

S, D, DATE = PropertyType.STRING, PropertyType.DECIMAL, PropertyType.DATE
REF = PropertyType.REFERENCE


def resource_name(datatype: str) -> str:
    """The default path and table of a datatype: its plural."""
    return datatype + "s"


_ADDRESS = (Property("address"), Property("city"), Property("postal_code"), Property("country"))

#: A customer is a company or a person (``customer_type``, see ``mappings.PeopleRule``);
#: ``owner`` is the customer's own id, read only, so that its address can be a location
#: owned by it (``Resource.own_id``): no field of its own on the wire or in a table.
CUSTOMER = DataType("customer", "Customer", (
    Property("name", required=True), Property("email"), Property("phone"), *_ADDRESS,
    Property("org_number"), Property("vat_number"), Property("customer_type"),
    Property("owner", REF, read_only=True, reference="customer"),
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

#: A Custom PMS (project management) project: work done for a customer, an agreement
#: of kind "project" whose tasks are its lines (hours at a rate).
PROJECT = DataType("project", "Project", (
    Property("name", required=True), Property("number"),
    Property("customer", REF, reference="customer", required=True), Property("currency"),
    Property("start_date", DATE), Property("end_date", DATE), Property("status"),
    Property("description"),
))
#: A task belongs to one project; its hours and rate are what the project bills for it.
TASK = DataType("task", "Task", (
    Property("project", REF, reference="project", required=True),
    Property("title", required=True), Property("hours", D), Property("rate", D),
    Property("status"),
), child_of=ChildOf("project", "project", inline_on_create=False))
