"""talk connector for Custom CRM, Custom Webshop and Custom PMS.

An in-house system is reached over the custom REST contract
(``docs/custom-rest-contract.md``) or as tables of a SQLite file.
"""

from __future__ import annotations

from talk_custom.database import create_database
from talk_custom.emulator import CustomEmulator
from talk_custom.plugin import SPECS, instance

__all__ = ["SPECS", "CustomEmulator", "create_database", "instance"]
