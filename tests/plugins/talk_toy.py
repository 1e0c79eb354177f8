"""A plugin for the command-line tests: two kinds of system kept in JSON files.

Each write is saved at once (atomically), so a process killed mid-run
leaves files that say exactly what was written, as a real system would.
Every datatype is read as a full listing, so no cursor needs to survive in
the file.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from talk_core.connector import Page
from talk_core.errors import RecordError
from talk_core.hookspecs import Register, hookimpl
from talk_core.mapping import Mapping, field_equals, mapped
from talk_core.model import DataType, Entity, Property, ReadMode
from talk_core.system import Option, SystemContext, SystemSpec

log = logging.getLogger("talk.toy")
FULL = ReadMode.FULL
CUSTOMERS = DataType("customers", "Customer", (
    Property("name", required=True), Property("email"), Property("city"), Property("type"),
), read_mode=FULL)
ACCOUNTS = DataType("Accounts", "Accounts", (
    Property("Name", required=True), Property("Email"), Property("City"),
), read_mode=FULL)
CONTACTS = DataType("Contacts", "Contacts", (
    Property("FullName", required=True), Property("Email"), Property("City"),
), read_mode=FULL)

OPTIONS = (
    Option("path", str, required=True, help="JSON file holding the records"),
    Option("token", str, secret=True, help="API token"),
    Option("delay", float, default=0.0, help="seconds to wait before each write"),
)


class JsonFileConnector:
    def __init__(self, datatypes: tuple[DataType, ...], path: Path, delay: float,
                 token: str | None) -> None:
        self.datatypes = {d.name: d for d in datatypes}
        self.path = path
        self.delay = delay
        self.token = token
        self.page_size = 2
        log.debug("opening %s with token %s", path, token)
        if path.exists():
            self.data = json.loads(path.read_text())
        else:
            self.data = {"next": 1, "records": {name: {} for name in self.datatypes},
                         "keys": {}}
            self._save()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    def _entity(self, ident: str, props: dict[str, Any]) -> Entity:
        return Entity(ident, dict(props), datetime(2024, 1, 1, tzinfo=UTC))

    def read(self, datatype: str, cursor: str | None) -> Iterator[Page]:
        items = sorted(self.data["records"][datatype].items())
        for i in range(0, len(items), self.page_size):
            yield Page([self._entity(k, v) for k, v in items[i:i + self.page_size]])

    def get(self, datatype: str, id: str) -> Entity | None:
        props = self.data["records"][datatype].get(id)
        return None if props is None else self._entity(id, props)

    def create(self, datatype: str, properties: dict[str, Any], *, key: str) -> Entity:
        time.sleep(self.delay)
        for prop in self.datatypes[datatype].properties:
            if prop.required and not properties.get(prop.name):
                raise RecordError(f"{datatype}: {prop.name} is required")
        ident = str(self.data["next"])
        self.data["next"] += 1
        self.data["records"][datatype][ident] = dict(properties)
        self.data["keys"][key] = [datatype, ident]
        self._save()
        return self._entity(ident, properties)

    def update(self, datatype: str, id: str, changes: dict[str, Any], *,
               current: Entity | None = None) -> Entity:
        time.sleep(self.delay)
        record = self.data["records"][datatype].get(id)
        if record is None:
            raise RecordError(f"{datatype} {id} not found")
        record.update(changes)
        self._save()
        return self._entity(id, record)

    def delete(self, datatype: str, id: str) -> None:
        time.sleep(self.delay)
        self.data["records"][datatype].pop(id, None)
        self._save()

    def recover(self, datatype: str, key: str, properties: dict[str, Any]) -> Entity | None:
        found = self.data["keys"].get(key)
        return None if found is None else self.get(found[0], found[1])

    def close(self) -> None:
        pass


def _factory(datatypes: tuple[DataType, ...]) -> Any:
    def make(*, options: dict[str, Any], context: SystemContext) -> JsonFileConnector:
        path = Path(options["path"])
        if not path.is_absolute():
            path = context.base_dir / path
        return JsonFileConnector(datatypes, path, options.get("delay", 0.0),
                                 options.get("token"))
    return make


TOYCRM = SystemSpec(
    "toycrm", "Toy CRM", (CUSTOMERS,),
    (
        Mapping("customers", "organisation",
                mapped([("name", "name"), ("email", "email"), ("city", "city")]),
                facet="organisation data", when=field_equals("type", "company"),
                on_create={"type": "company"}),
        Mapping("customers", "human",
                mapped([("name", "name"), ("email", "email"), ("city", "city")]),
                facet="human data", when=field_equals("type", "person"),
                on_create={"type": "person"}),
    ),
    factory=_factory((CUSTOMERS,)), options=OPTIONS,
)
TOYERP = SystemSpec(
    "toyerp", "Toy ERP", (ACCOUNTS, CONTACTS),
    (
        Mapping("Accounts", "organisation",
                mapped([("Name", "name"), ("Email", "email"), ("City", "city")])),
        Mapping("Contacts", "human",
                mapped([("FullName", "name"), ("Email", "email"), ("City", "city")])),
    ),
    factory=_factory((ACCOUNTS, CONTACTS)), options=OPTIONS, emulator=lambda **kw: emulator(**kw),
)


EMULATED: list[dict[str, Any]] = []


def emulator(*, port: int, seed: bool) -> None:
    """Stands in for a real emulator: records how it was started."""
    EMULATED.append({"port": port, "seed": seed})
    print(f"toy emulator on 127.0.0.1:{port} seed={seed}")


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command(name="toy-hello")
    @click.argument("who")
    def hello(who: str) -> None:
        """Say hello (a command from the toy plugin)."""
        click.echo(f"hello {who} from the toy plugin")


@hookimpl
def register_systems(register: Register) -> None:
    register(TOYCRM)
    register(TOYERP)
