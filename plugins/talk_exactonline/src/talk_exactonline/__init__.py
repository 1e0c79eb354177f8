"""talk connector for Exact Online."""

from __future__ import annotations
