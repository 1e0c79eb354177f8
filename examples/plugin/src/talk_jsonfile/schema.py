"""The datatypes a JSON folder holds, as talk sees them.

Every field is text; ``required`` fields are refused when missing, and a
``reference`` field holds the id of a record of another datatype, which
talk translates between systems through its links.
"""

from __future__ import annotations

from talk_core.model import DataType, Property, PropertyType

COMPANIES = DataType(
    "companies", "Companies",
    (
        Property("name", required=True),
        Property("org_number", label="organisation number"),
        Property("email"),
        Property("phone"),
        Property("city"),
        Property("country", label="ISO country code, lower case"),
        Property("status", label="active or inactive"),
    ),
)

CONTACTS = DataType(
    "contacts", "Contacts",
    (
        Property("name", required=True),
        Property("email"),
        Property("phone"),
        Property("title"),
        Property("company", PropertyType.REFERENCE, reference="companies"),
    ),
)

DATATYPES = (COMPANIES, CONTACTS)
