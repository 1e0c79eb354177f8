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
    CUSTOMER_MAPPING,
    ORDER_MAPPING,
    ORDERLINE_MAPPING,
    PRODUCT_MAPPING,
    QUOTE_MAPPING,
    QUOTELINE_MAPPING,
    USER_MAPPING,
)
from talk_custom.schema import (
    CONTACT,
    CUSTOMER,
    ORDER,
    ORDERLINE,
    PRODUCT,
    QUOTE,
    QUOTELINE,
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

    def datatype(self, name: str) -> DataType:
        for dt in self.datatypes:
            if dt.name == name:
                return dt
        raise KeyError(f"profile {self.name!r} has no datatype {name!r}")


CUSTOMCRM = Profile(
    "customcrm", "Customcrm",
    (CUSTOMER, CONTACT, PRODUCT, ORDER, ORDERLINE, QUOTE, QUOTELINE, USER),
    (CUSTOMER_MAPPING, CONTACT_MAPPING, PRODUCT_MAPPING, ORDER_MAPPING, ORDERLINE_MAPPING,
     QUOTE_MAPPING, QUOTELINE_MAPPING, USER_MAPPING),
)
CUSTOMWEBSHOP = Profile(
    "customwebshop", "Customwebshop",
    (CUSTOMER, PRODUCT, ORDER, ORDERLINE),
    (CUSTOMER_MAPPING, PRODUCT_MAPPING, ORDER_MAPPING, ORDERLINE_MAPPING),
)
CUSTOMPMS = Profile("custompms", "Custom PMS", (CUSTOMER,), (CUSTOMER_MAPPING,))

PROFILES: dict[str, Profile] = {p.name: p for p in (CUSTOMCRM, CUSTOMWEBSHOP, CUSTOMPMS)}
