"""CRM Lite's API served locally, for tests and ``talk emulate crmlite``."""

from __future__ import annotations

from talk_crmlite.emulator.server import DEFAULT_API_KEY, CrmLiteEmulator, start

__all__ = ["DEFAULT_API_KEY", "CrmLiteEmulator", "start"]
