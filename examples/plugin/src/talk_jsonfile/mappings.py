"""How the folder's datatypes are seen as talk's global datatypes.

Companies are organisations and contacts are humans. Most fields keep
their values as they are; two need converters, because the folder spells
them differently from the global form: country codes are lower case here
and upper case globally, and a company's ``status`` text is the global
``active`` flag.
"""

from __future__ import annotations

from typing import Any

from talk_core.mapping import UPPER, Converter, Mapping, PropertyMapping, mapped


def _active(status: Any) -> bool:
    if status not in ("active", "inactive"):
        raise ValueError('expected "active" or "inactive"')
    return bool(status == "active")


def _status(active: Any) -> str:
    return "active" if active else "inactive"


STATUS = Converter(_active, _status, "status")

COMPANY = Mapping(
    "companies", "organisation",
    mapped([
        ("name", "name"),
        ("org_number", "org_number"),
        ("email", "email"),
        ("phone", "phone"),
        ("city", "city"),
        PropertyMapping("country", "country", UPPER),
        PropertyMapping("status", "active", STATUS),
    ]),
)

CONTACT = Mapping(
    "contacts", "human",
    mapped([
        ("name", "name"),
        ("email", "email"),
        ("phone", "phone"),
        ("title", "title"),
        ("company", "organisation"),
    ]),
)

MAPPINGS = (COMPANY, CONTACT)
