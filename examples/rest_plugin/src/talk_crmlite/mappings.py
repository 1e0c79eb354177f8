"""CRM Lite's datatypes as talk's global ones: customers are organisations, contacts humans.

Field names already match the global ones but for the contact's employer,
and country codes are upper case on both sides: no converter is needed.
"""

from __future__ import annotations

from talk_core.mapping import UPPER, Mapping, PropertyMapping, mapped

CUSTOMER = Mapping("customers", "organisation", mapped([
    ("name", "name"), ("email", "email"), ("phone", "phone"), ("city", "city"),
    PropertyMapping("country", "country", UPPER),
]))

CONTACT = Mapping("contacts", "human", mapped([
    ("name", "name"), ("email", "email"), ("phone", "phone"), ("title", "title"),
    ("customer_id", "organisation"),
]))

MAPPINGS = (CUSTOMER, CONTACT)
