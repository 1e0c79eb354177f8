"""talk: two-way sync of business records between SaaS systems.

The names most programs need are here; the modules hold the rest.
"""

from __future__ import annotations

import logging

from talk_core.config import Config, load_config
from talk_core.connector import Connector, Page, Reject
from talk_core.globaltypes import GLOBAL_TYPES, GlobalProperty, GlobalType
from talk_core.mapping import Converter, Direction, Mapping, PropertyMapping, mapped
from talk_core.model import ChildOf, DataType, Entity, Link, Property, PropertyType, ReadMode
from talk_core.sync.engine import Sync
from talk_core.sync.plan import DeletePolicy
from talk_core.sync.result import RunResult
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance
from talk_core.system import Option, SystemContext, SystemSpec

__version__ = "0.1.0"

# A library logs, it does not print: without this, Python's last-resort handler
# would write talk's warnings to stderr of a program that configured no logging.
# The command line (talk_core.cli.logs) and any program that wants them add a
# handler of their own to the "talk" logger or the root logger.
logging.getLogger("talk").addHandler(logging.NullHandler())

__all__ = [
    "GLOBAL_TYPES",
    "ChildOf",
    "Config",
    "Connector",
    "Converter",
    "DataType",
    "DatatypeSettings",
    "DeletePolicy",
    "Direction",
    "Entity",
    "GlobalProperty",
    "GlobalType",
    "Link",
    "Mapping",
    "Option",
    "Page",
    "Property",
    "PropertyMapping",
    "PropertyType",
    "ReadMode",
    "Reject",
    "RunResult",
    "Sync",
    "SyncSettings",
    "SystemContext",
    "SystemInstance",
    "SystemSpec",
    "load_config",
    "mapped",
]
