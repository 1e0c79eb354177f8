"""The administrations (divisions) a user can reach: ``hrm/Divisions`` and ``system/Divisions``.

``hrm/Divisions`` lists the divisions of the user's current licence,
``system/Divisions`` all those the user has access to; clients read either
to let a person choose one (the ``exactonline`` package asks for
``hrm/Divisions?$select=Code,Description``). The emulator holds one
division, so both list it alone. Both are read only.
"""

from __future__ import annotations

from typing import Any

DIVISION_LISTS = frozenset({"hrm/divisions", "system/divisions"})
DIVISION_FIELDS = ("Code", "BlockingStatus", "ChamberOfCommerceNumber", "Country",
                   "CountryDescription", "Created", "Currency", "Customer", "CustomerCode",
                   "CustomerName", "Description", "DivisionMoveDate", "HID", "Main", "Modified",
                   "StartDate", "Status", "VATNumber", "Website")


def division_record(division: int, uri: str) -> dict[str, Any]:
    record: dict[str, Any] = dict.fromkeys(DIVISION_FIELDS)
    record.update({
        "Code": division, "HID": division, "Description": "Emulated administration",
        "BlockingStatus": 0, "Country": "NL", "CountryDescription": "Nederland",
        "Currency": "EUR", "CustomerName": "Emulated User", "Main": True, "Status": 1,
        "StartDate": "/Date(1704067200000)/", "Created": "/Date(1704067200000)/",
        "Modified": "/Date(1704067200000)/",
    })
    return {"__metadata": {"uri": f"{uri}({division})",
                           "type": "Exact.Web.Api.Models.HRM.Division"}, **record}
