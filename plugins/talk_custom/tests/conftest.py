"""The emulator fixtures of ``talk_custom.testing`` and ``talk_invoiced.testing``, for all here.

Imported here once rather than into each module, where the import and each
test's parameter of the same name read as an unused import redefined.
"""

from __future__ import annotations

from talk_custom.testing import custom_emulator
from talk_invoiced.testing import invoiced_emulator

__all__ = ["custom_emulator", "invoiced_emulator"]
