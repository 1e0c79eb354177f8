"""talk-jsonfile: a connector plugin for talk over a folder of JSON files.

A small, complete example of a connector plugin; docs/plugins.md in the
talk repository walks through it.
"""

from __future__ import annotations

from talk_jsonfile.connector import JsonFileConnector
from talk_jsonfile.folder import JsonFolder
from talk_jsonfile.plugin import JSONFILE

__all__ = ["JSONFILE", "JsonFileConnector", "JsonFolder"]
