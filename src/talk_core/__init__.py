"""talk: two-way sync of business records between SaaS systems.

The names most programs need are here; the modules hold the rest.
"""

from __future__ import annotations

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
