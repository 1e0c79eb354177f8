"""talk-crmlite: a connector plugin for talk over CRM Lite, an imaginary REST API.

The REST counterpart of the ``talk_jsonfile`` example: docs/plugins.md in
the talk repository walks through both.
"""

from __future__ import annotations

from talk_crmlite.connector import CrmLiteConnector
from talk_crmlite.emulator import CrmLiteEmulator
from talk_crmlite.plugin import CRMLITE

__all__ = ["CRMLITE", "CrmLiteConnector", "CrmLiteEmulator"]
