"""From a ``Config`` to a ready ``Sync``: the one place config meets the engine."""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from typing import Any

from talk_core.config import Config
from talk_core.errors import ConfigError
from talk_core.limits import Limits
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.settings import DatatypeSettings, SyncSettings, SystemInstance
from talk_core.system import SystemContext, SystemSpec


def settings_from(config: Config) -> SyncSettings:
    datatypes = {
        name: DatatypeSettings(
            enabled=dt.enabled, share=dt.share,
            match_keys=tuple(tuple(k) for k in dt.match_keys) if dt.match_keys else None,
            history=dt.history, filter=dict(dt.filter),
            directions={s: dict(p) for s, p in dt.directions.items()},
        )
        for name, dt in config.datatypes.items()
    }
    s = config.sync
    return SyncSettings(
        conflict=s.conflict, priority=tuple(s.priority), deletes=s.deletes,
        max_delete_fraction=s.max_delete_fraction, min_delete_count=s.min_delete_count,
        batch_size=s.batch_size, unavailable_after=s.unavailable_after, datatypes=datatypes,
        limits=Limits(max_pages=s.max_pages, max_response_bytes=s.max_response_bytes,
                      request_deadline=s.request_deadline, max_json_depth=s.max_json_depth),
    )


def open_store(config: Config) -> SQLiteStore:
    return SQLiteStore(config.state_path())


def instances(config: Config, store: Any, specs: MappingABC[str, SystemSpec] | None = None
              ) -> list[SystemInstance]:
    """Build every configured system's connector."""
    if specs is None:
        from talk_core.plugins import get_systems, load_modules

        load_modules(config.plugins)
        specs = get_systems()
    return [_instance(config, name, store, specs) for name in config.systems]


def _instance(config: Config, name: str, store: Any, specs: MappingABC[str, SystemSpec]
              ) -> SystemInstance:
    sc = config.systems[name]
    spec = specs.get(sc.connector)
    if spec is None:
        raise ConfigError(f"[systems.{name}] connector: {sc.connector!r} is not installed")
    context = SystemContext(name, store, config.base_dir)
    try:
        connector = spec.factory(options=dict(sc.options), context=context)
    except ConfigError as exc:
        raise ConfigError(_where(config, name, str(exc))) from None
    # a connector whose schema comes from its options (user-declared datatypes,
    # renamed fields) answers its own spec for this instance
    return SystemInstance(name, getattr(connector, "spec", None) or spec, connector)


def configured_spec(config: Config, name: str, specs: MappingABC[str, SystemSpec]
                    ) -> SystemSpec:
    """The datatypes and mappings of the configured system ``name``, as its options make them.

    A custom system's ``datatypes`` (renames, its own datatypes, composed
    properties) and options such as Exact's ``company_data`` change what
    the kind registers; ``talk docs`` shows the instance as it syncs. The
    connector is made over a store in memory and closed at once, so nothing
    of the state is read or written, and no system is called.
    """
    store = SQLiteStore.memory()
    try:
        made = _instance(config, name, store, specs)
        made.connector.close()
        return made.spec
    finally:
        store.close()


def _where(config: Config, name: str, message: str) -> str:
    """A connector's refusal of its options, prefixed with the file and table it came from."""
    table = f"[systems.{name}]"
    text = message if message.startswith(table) else f"{table} {message}"
    return f"{config.path}: {text}" if config.path is not None else text
