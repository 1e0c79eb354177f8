"""The ``talk`` command line: thin click commands over the library."""

from __future__ import annotations
