"""The entry point: what ``[project.entry-points.talk]`` names.

talk's plugin manager calls the two hooks below; everything else in the
package is reached from the ``SystemSpec`` registered here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from talk_core.errors import ConfigError
from talk_core.hookspecs import Register, hookimpl
from talk_core.system import Option, SystemContext, SystemSpec
from talk_jsonfile.connector import JsonFileConnector
from talk_jsonfile.folder import JsonFolder
from talk_jsonfile.mappings import MAPPINGS
from talk_jsonfile.schema import DATATYPES

OPTIONS = (
    Option("folder", str, required=True,
           help="folder with one JSON file per datatype, relative to the config file"),
    Option("page_size", int, default=100, help="records per page read (1 or more)"),
)


def make_connector(*, options: dict[str, Any], context: SystemContext) -> JsonFileConnector:
    """Build the connector for one ``[systems.NAME]`` table, its options already checked."""
    folder = Path(options["folder"])
    if not folder.is_absolute():
        folder = context.base_dir / folder
    page_size = options["page_size"]
    if page_size < 1:
        raise ConfigError(f"page_size: expected 1 or more, got {page_size}")
    return JsonFileConnector(JsonFolder(folder), page_size=page_size)


JSONFILE = SystemSpec(
    "jsonfile", "JSON folder", DATATYPES, MAPPINGS,
    factory=make_connector, options=OPTIONS, plugin="talk-jsonfile",
)


@hookimpl
def register_systems(register: Register) -> None:
    register(JSONFILE)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from talk_jsonfile.commands import jsonfile

    cli.add_command(jsonfile)
