"""Every entity set the emulator answers: talk's schema, and Exact's bookkeeping sets beside it.

The emulator's state, listing and filtering read their datatypes and
endpoints from here, so an entity set a client of Exact uses but talk does
not sync (``books``) is served by the same code as talk's own.
"""

from __future__ import annotations

from talk_core.model import DataType
from talk_exactonline.emulator.books import BOOK_ENDPOINTS, BOOK_TYPES
from talk_exactonline.schema import BY_NAME, ENDPOINTS, Endpoint

TYPES: dict[str, DataType] = {**BY_NAME, **BOOK_TYPES}
PLACES: dict[str, Endpoint] = {**ENDPOINTS, **BOOK_ENDPOINTS}
