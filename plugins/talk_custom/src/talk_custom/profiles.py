"""The three in-house system profiles: their default schemas and mappings to the hub.

A profile is what talk assumes an in-house CRM, webshop or PMS looks like
before the user's config says otherwise: the datatypes of ``schema.py``
with the mappings of ``mappings.py``.
"""

from __future__ import annotations

import attrs

from talk_core.mapping import Mapping
from talk_core.model import DataType
from talk_custom.mappings import (
    CODE,
    CONTACT_MAPPING,
    CUSTOMER_MAPPINGS,
    CUSTOMER_TYPE,
    ORDER_MAPPING,
    ORDERLINE_MAPPING,
    PRODUCT_MAPPING,
    PROJECT_MAPPING,
    QUOTE_MAPPING,
    QUOTELINE_MAPPING,
    TASK_MAPPING,
    USER_MAPPING,
    PeopleRule,
)
from talk_custom.schema import (
    CONTACT,
    CUSTOMER,
    ORDER,
    ORDERLINE,
    PRODUCT,
    PROJECT,
    QUOTE,
    QUOTELINE,
    TASK,
    USER,
    resource_name,
)

__all__ = ["CODE", "PROFILES", "Profile", "resource_name"]


@attrs.frozen
class Profile:
    """One kind of in-house system: kind name, label, schemas and mappings.

    ``resources`` names the default REST path (and SQLite table) of each
    datatype: the plural an in-house API most likely already uses.
    """

    name: str
    label: str
    datatypes: tuple[DataType, ...]
    mappings: tuple[Mapping, ...]
    #: datatype -> the rule that tells its persons from its companies (config may change it)
    people: dict[str, PeopleRule] = attrs.field(factory=dict)
    #: datatypes added to the profile after its first release: a database made before
    #: them may lack their tables, and is then used without them
    later: frozenset[str] = frozenset()

    def datatype(self, name: str) -> DataType:
        for dt in self.datatypes:
            if dt.name == name:
                return dt
        raise KeyError(f"profile {self.name!r} has no datatype {name!r}")


CUSTOMCRM = Profile(
    "customcrm", "Customcrm",
    (CUSTOMER, CONTACT, PRODUCT, ORDER, ORDERLINE, QUOTE, QUOTELINE, USER),
    (*CUSTOMER_MAPPINGS, CONTACT_MAPPING, PRODUCT_MAPPING, ORDER_MAPPING, ORDERLINE_MAPPING,
     QUOTE_MAPPING, QUOTELINE_MAPPING, USER_MAPPING),
    {"customer": CUSTOMER_TYPE},
)
CUSTOMWEBSHOP = Profile(
    "customwebshop", "Customwebshop",
    (CUSTOMER, PRODUCT, ORDER, ORDERLINE),
    (*CUSTOMER_MAPPINGS, PRODUCT_MAPPING, ORDER_MAPPING, ORDERLINE_MAPPING),
    {"customer": CUSTOMER_TYPE},
)
CUSTOMPMS = Profile("custompms", "Custom PMS", (CUSTOMER, PROJECT, TASK),
                    (*CUSTOMER_MAPPINGS, PROJECT_MAPPING, TASK_MAPPING),
                    {"customer": CUSTOMER_TYPE}, frozenset({"project", "task"}))

PROFILES: dict[str, Profile] = {p.name: p for p in (CUSTOMCRM, CUSTOMWEBSHOP, CUSTOMPMS)}
