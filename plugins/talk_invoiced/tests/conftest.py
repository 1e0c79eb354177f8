"""The Invoiced fixtures of ``talk_invoiced.testing``, for every test here to ask for by name.

Imported here once rather than into each module, where the import and each
test's parameter of the same name read as an unused import redefined.
"""

from __future__ import annotations

from talk_invoiced.testing import invoiced_connector, invoiced_emulator

__all__ = ["invoiced_connector", "invoiced_emulator"]
