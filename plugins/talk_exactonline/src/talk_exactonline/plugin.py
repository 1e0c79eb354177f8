"""Entry point of the Exact Online connector in the ``talk`` plugin group.

It registers no system kinds yet: installing it is harmless, and ``talk plugins``
lists it.
"""

from __future__ import annotations
