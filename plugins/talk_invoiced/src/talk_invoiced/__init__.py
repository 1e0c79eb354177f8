"""talk connector for Invoiced."""

from __future__ import annotations
