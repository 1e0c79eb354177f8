"""``talk jsonfile``: look at a folder and change it the way its other users would.

The folder is a system of its own, so people change it behind talk's back;
these commands do that through ``JsonFolder``, which keeps the versions
that talk's incremental reads rely on (editing a file by hand would not).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from talk_jsonfile.folder import DamagedFile, JsonFolder
from talk_jsonfile.schema import DATATYPES

DATATYPE = click.Choice([dt.name for dt in DATATYPES])
FOLDER = click.Path(file_okay=False, path_type=Path)


@click.group("jsonfile")
def jsonfile() -> None:
    """Show and change the records in a JSON folder (the talk-jsonfile plugin)."""


@jsonfile.command("show")
@click.argument("folder", type=FOLDER)
@click.argument("datatype", type=DATATYPE)
def show(folder: Path, datatype: str) -> None:
    """Print a datatype's records, one JSON object a line."""
    data = _load(JsonFolder(folder), datatype)
    for ident, record in sorted(data["records"].items(), key=lambda item: int(item[0])):
        click.echo(json.dumps({"id": ident, **record["fields"]}, ensure_ascii=False))


@jsonfile.command("set", short_help="Add a record or change one.")
@click.argument("folder", type=FOLDER)
@click.argument("datatype", type=DATATYPE)
@click.argument("fields", nargs=-1, required=True, metavar="FIELD=VALUE...")
@click.option("--id", "ident", default=None, help="Change this record instead of adding one.")
def set_fields(folder: Path, datatype: str, fields: tuple[str, ...], ident: str | None) -> None:
    """Add a record, or change some fields of one with --id; an empty VALUE clears a field."""
    schema = next(dt for dt in DATATYPES if dt.name == datatype)
    values: dict[str, str | None] = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep or name not in schema.property_names:
            raise click.BadParameter(
                f"{item!r}: expected FIELD=VALUE with FIELD one of "
                f"{', '.join(sorted(schema.property_names))}", param_hint="FIELD=VALUE")
        values[name] = value or None
    store = JsonFolder(folder)
    _load(store, datatype)
    if ident is None:
        ident, _ = store.insert(datatype, values)
        click.echo(f"added {datatype} {ident}")
        return
    try:
        store.update(datatype, ident, values)
    except KeyError:
        raise click.BadParameter(f"{datatype} has no record {ident}", param_hint="--id") from None
    click.echo(f"changed {datatype} {ident}")


@jsonfile.command("delete")
@click.argument("folder", type=FOLDER)
@click.argument("datatype", type=DATATYPE)
@click.argument("ident", metavar="ID")
def delete(folder: Path, datatype: str, ident: str) -> None:
    """Delete a record (talk sees the tombstone on its next run)."""
    store = JsonFolder(folder)
    _load(store, datatype)
    if not store.delete(datatype, ident):
        raise click.BadParameter(f"{datatype} has no record {ident}", param_hint="ID")
    click.echo(f"deleted {datatype} {ident}")


def _load(store: JsonFolder, datatype: str) -> dict[str, object]:
    try:
        return store.load(datatype)
    except DamagedFile as exc:
        raise click.ClickException(str(exc)) from None
