"""The entry point: what ``[project.entry-points.talk]`` names.

talk's plugin manager calls the hook below; everything else in the package
is reached from the ``SystemSpec`` registered here.
"""

from __future__ import annotations

from typing import Any

from talk_core.errors import ConfigError
from talk_core.hookspecs import Register, hookimpl
from talk_core.limits import LIMIT_OPTIONS, limit_overrides
from talk_core.system import Option, SystemContext, SystemSpec
from talk_crmlite.connector import CrmLiteConnector
from talk_crmlite.emulator import DEFAULT_API_KEY, start
from talk_crmlite.mappings import MAPPINGS
from talk_crmlite.schema import DATATYPES

OPTIONS = (
    Option("base_url", str, required=True, help="the account's API, e.g. "
                                                "https://acme.crmlite.example"),
    Option("api_key", str, required=True, secret=True, help="sent as the X-API-Key header"),
    Option("page_size", int, default=100, help="records per list request (1 to 1000)"),
    *LIMIT_OPTIONS,
)


def make_connector(*, options: dict[str, Any], context: SystemContext) -> CrmLiteConnector:
    """Build the connector for one ``[systems.NAME]`` table, its options already checked."""
    if not 1 <= options["page_size"] <= 1000:
        raise ConfigError(f"[systems.{context.name}] page_size: expected 1 to 1000, got "
                          f"{options['page_size']}")
    return CrmLiteConnector(options["base_url"], options["api_key"],
                            page_size=options["page_size"], limits=limit_overrides(options))


CRMLITE = SystemSpec(
    "crmlite", "CRM Lite", DATATYPES, MAPPINGS, factory=make_connector, options=OPTIONS,
    plugin="talk-crmlite", start_emulator=start,
    emulator_credentials=(Option("api_key", str, secret=True, default=DEFAULT_API_KEY,
                                 help="the key the emulator demands in X-API-Key"),),
)


@hookimpl
def register_systems(register: Register) -> None:
    register(CRMLITE)
