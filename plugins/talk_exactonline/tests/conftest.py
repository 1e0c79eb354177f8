"""The emulator fixture of ``talk_exactonline.testing``, for every test here to ask for by name.

Imported here once rather than into each module, where the import and each
test's parameter of the same name read as an unused import redefined.
"""

from __future__ import annotations

from talk_exactonline.testing import exact_emulator

__all__ = ["exact_emulator"]
