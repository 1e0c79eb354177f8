"""CRM Lite's two datatypes, as talk sees them: customers and their contacts.

Every field is text. ``required`` fields are refused when missing; a
``reference`` holds the id of another datatype's record, which talk
translates between systems through its links.
"""

from __future__ import annotations

from talk_core.model import DataType, Property, PropertyType

CUSTOMERS = DataType(
    "customers", "Customers",
    (
        Property("name", required=True),
        Property("email"),
        Property("phone"),
        Property("city"),
        Property("country", label="ISO country code"),
    ),
    updated_field="updated_at",
)

CONTACTS = DataType(
    "contacts", "Contacts",
    (
        Property("name", required=True),
        Property("email"),
        Property("phone"),
        Property("title"),
        Property("customer_id", PropertyType.REFERENCE, reference="customers"),
    ),
    updated_field="updated_at",
)

DATATYPES = (CUSTOMERS, CONTACTS)
