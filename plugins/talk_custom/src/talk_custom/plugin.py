"""Entry point of the custom connector in the ``talk`` plugin group.

Registers three kinds of system, ``customcrm``, ``customwebshop`` and
``custompms``, each reachable over the custom REST contract or as tables
of a SQLite file (``backend``), and each with its emulator for ``talk
emulate``.

From a ``[systems.NAME]`` table to a connector, and the ``SystemSpec`` of each profile.

The registered spec holds the profile's defaults, which is what ``talk
docs`` and ``talk systems`` show. A configured instance may rename, drop
or add fields and datatypes, so its connector carries its own ``spec``
(the registered one with the instance's datatypes and mappings);
``instance()`` builds a ``SystemInstance`` with it for library use.
"""

from __future__ import annotations

import secrets
from functools import partial
from pathlib import Path
from typing import Any

from talk_core.emulation import Served
from talk_core.errors import ConfigError
from talk_core.hookspecs import Register, hookimpl
from talk_core.limits import LIMIT_OPTIONS, limit_overrides
from talk_core.sync.settings import SystemInstance
from talk_core.system import Option, SystemContext, SystemSpec
from talk_custom.connector import RestConnector
from talk_custom.emulator import CustomEmulator, serve
from talk_custom.emulator.fill import fill
from talk_custom.inline import InlineLines
from talk_custom.layout import build_layout
from talk_custom.profiles import PROFILES
from talk_custom.sqlite_backend import SqliteConnector

BACKENDS = ("rest", "sqlite")

OPTIONS = (
    Option("backend", str, default="rest",
           help='where the records live: "rest" (your API) or "sqlite" (a database file)'),
    Option("base_url", str, help="address of your API, e.g. https://crm.example.com/api "
                                 "(backend rest)"),
    Option("api_key", str, secret=True, help="sent as the X-API-Key header"),
    Option("token", str, secret=True, help="sent as Authorization: Bearer"),
    Option("database", str, help="path of the SQLite file, relative to the config "
                                 "(backend sqlite)"),
    Option("page_size", int, default=100, help="records per list request (1 to 1000)"),
    Option("datatypes", dict, help="per datatype: path or table, id_field, updated_field, "
                                   "deleted_field, key_field, fields (renames), extra, map; "
                                   "or a datatype of your own (label, global, fields, map)"),
    *LIMIT_OPTIONS,
)


def _connector(profile: str, *, options: dict[str, Any],
               context: SystemContext) -> RestConnector | SqliteConnector:
    here = f"[systems.{context.name}]"
    backend = options.get("backend") or "rest"
    if backend not in BACKENDS:
        raise ConfigError(f"{here} backend: expected \"rest\" or \"sqlite\", got {backend!r}")
    page_size = options.get("page_size") or 100
    if not 1 <= page_size <= 1000:
        raise ConfigError(f"{here} page_size: expected 1 to 1000, got {page_size}")
    layout = build_layout(PROFILES[profile], options.get("datatypes"), context.name, backend)
    connector: RestConnector | SqliteConnector
    if backend == "sqlite":
        if not options.get("database"):
            raise ConfigError(f"{here} database: missing; the SQLite backend needs the path "
                              'of the database file, e.g. database = "shop.db"')
        path = Path(options["database"]).expanduser()
        connector = SqliteConnector(layout, path if path.is_absolute() else
                                    context.base_dir / path, page_size=page_size)
    else:
        if not options.get("base_url"):
            raise ConfigError(f"{here} base_url: missing; the REST backend needs the address "
                              'of your API, e.g. base_url = "https://crm.example.com/api"')
        try:
            connector = RestConnector(layout, options["base_url"], api_key=options.get("api_key"),
                                      token=options.get("token"), page_size=page_size,
                                      limits=limit_overrides(options))
        except ConfigError as exc:
            raise ConfigError(f"{here} base_url: {exc}") from None
    connector.spec = connector.layout.spec(SPECS[profile])
    if any(r.inline for r in connector.layout.resources.values()):
        return InlineLines(connector)  # type: ignore[return-value]
    return connector


def _start_emulator(profile: str, *, port: int = 0,
                    credentials: dict[str, str] | None = None) -> Served:
    """An empty system of the profile in the background, answering one API key.

    The key is the one given in ``credentials``, or one made up here.
    """
    api_key = (credentials or {}).get("api_key") or secrets.token_urlsafe(16)
    emulator = CustomEmulator(profile, port=port, api_key=api_key).start()
    url = emulator.url
    datatypes = {dt.name for dt in emulator.profile.datatypes}
    inline = {r.name for r in emulator.layout.resources.values() if r.inline}

    def put(datatype: str, fields: dict[str, Any]) -> str:
        return str(emulator.put(datatype, fields)["id"])

    return Served(url, lambda: {"base_url": url, "api_key": emulator.api_key}, emulator.stop,
                  fill=lambda records, seed: fill(put, datatypes, records, seed, inline),
                  seed=emulator.seed)


#: What ``talk emulate`` takes for a custom system's emulator, with its public default.
EMULATOR_CREDENTIALS = (
    Option("api_key", str, secret=True, default="test_key",
           help="the key the emulator demands in the X-API-Key header"),
)


def _spec(profile: str) -> SystemSpec:
    p = PROFILES[profile]
    return SystemSpec(p.name, p.label, p.datatypes, p.mappings,
                      factory=partial(_connector, profile), options=OPTIONS,
                      emulator=partial(serve, profile), plugin="custom",
                      start_emulator=partial(_start_emulator, profile),
                      emulator_credentials=EMULATOR_CREDENTIALS)


SPECS: dict[str, SystemSpec] = {name: _spec(name) for name in PROFILES}


def instance(name: str, kind: str, *, base_dir: Path | None = None, store: Any = None,
             **options: Any) -> SystemInstance:
    """A configured system for ``Sync``, with this installation's own datatypes and mappings."""
    if kind not in SPECS:
        raise ConfigError(f"[systems.{name}] connector: unknown kind {kind!r}; expected one "
                          f"of {', '.join(SPECS)}")
    context = SystemContext(name, store, base_dir or Path.cwd())
    connector = _connector(kind, options=options, context=context)
    assert connector.spec is not None
    return SystemInstance(name, connector.spec, connector)


@hookimpl
def register_systems(register: Register) -> None:
    for spec in SPECS.values():
        register(spec)
