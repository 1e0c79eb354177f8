"""``talk.toml``: read with tomllib, checked, and structured into attrs classes.

Every error names the file, the table and the key, and says what was
expected, because a config is edited by hand and read by cron. Secrets come
from the environment through ``${VAR}``; a secret written literally in the
file is refused.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs import transform_error

from talk_core import secrets as talk_secrets
from talk_core.errors import ConfigError
from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.limits import LIMIT_NAMES, limit_problem
from talk_core.system import Option, SystemSpec

DEFAULT_NAME = "talk.toml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DIRECTIONS = ("both", "from", "to", "none")


class Secret(str):
    """A secret value: usable as text, shown as ``***`` in reprs and logs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


@attrs.define
class StateConfig:
    path: str = ".talk/state.db"


@attrs.define
class SyncConfig:
    conflict: str = "newest"
    priority: list[str] = attrs.field(factory=list)
    deletes: str = "propagate"
    max_delete_fraction: float = 0.25
    min_delete_count: int = 5
    dry_run: bool = False
    batch_size: int = 1000
    unavailable_after: float = 30.0
    #: bounds on what one API answer may be (``talk_core.http.Limits``); per system too
    max_pages: int = 100_000
    max_response_bytes: int = 64 * 1024 * 1024
    request_deadline: float = 120.0
    max_json_depth: int = 64


@attrs.define
class DatatypeConfig:
    """``[datatypes.GLOBAL]``: how one global datatype is synced."""

    enabled: bool = True
    share: bool = True
    history: str = "all"
    match_keys: list[list[str]] | None = None
    filter: dict[str, Any] = attrs.field(factory=dict)
    directions: dict[str, dict[str, str]] = attrs.field(factory=dict)


@attrs.define
class SystemConfig:
    """``[systems.NAME]``: one system instance, its connector kind and its options."""

    name: str
    connector: str
    options: dict[str, Any] = attrs.field(factory=dict)


@attrs.define
class Config:
    """A whole configuration. ``path`` is where it was read from, if anywhere."""

    path: Path | None = None
    state: StateConfig = attrs.Factory(StateConfig)
    sync: SyncConfig = attrs.Factory(SyncConfig)
    systems: dict[str, SystemConfig] = attrs.field(factory=dict)
    datatypes: dict[str, DatatypeConfig] = attrs.field(factory=dict)
    plugins: list[str] = attrs.field(factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.resolve().parent if self.path is not None else Path.cwd()

    def state_path(self) -> Path:
        path = Path(os.path.expanduser(self.state.path))
        return path if path.is_absolute() else self.base_dir / path

    def secrets(self) -> list[str]:
        """Every secret value in use, for log redaction."""
        found: list[str] = [v for s in self.systems.values() for v in s.options.values()
                 if isinstance(v, Secret) and v]
        talk_secrets.add_all(found)
        return found


def _strict(kind: type) -> Any:
    def structure(value: Any, _type: Any) -> Any:
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"expected {kind.__name__}")
        return value

    return structure


_converter = cattrs.Converter(forbid_extra_keys=True)
for _kind in (str, int, float, bool):
    _converter.register_structure_hook(_kind, _strict(_kind))


def find_config(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the one given, ``$TALK_CONFIG``, or ``./talk.toml``."""
    chosen = path or os.environ.get("TALK_CONFIG") or DEFAULT_NAME
    return Path(chosen)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    env: MappingABC[str, str] | None = None,
    systems: MappingABC[str, SystemSpec] | None = None,
) -> Config:
    """Read, check and structure a config file.

    ``systems`` are the registered system kinds to validate ``[systems.*]``
    against; by default the installed plugins (and the modules the config's
    ``plugins`` key names) are loaded and asked.
    """
    file = find_config(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such config file; write one with `talk init` or pass --config"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read: {exc}") from None
    return parse_config(raw, file=file, env=env, systems=systems)


def parse_config(
    raw: dict[str, Any],
    *,
    file: Path | None = None,
    env: MappingABC[str, str] | None = None,
    systems: MappingABC[str, SystemSpec] | None = None,
) -> Config:
    where = str(file) if file is not None else "config"
    env = os.environ if env is None else env
    known = {"state", "sync", "systems", "datatypes", "plugins"}
    extra = sorted(set(raw) - known)
    if extra:
        raise ConfigError(f"{where}: unknown top-level key {extra[0]!r}; expected one of "
                          f"{', '.join(sorted(known))}")
    plugins = raw.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
        raise ConfigError(f"{where}: plugins: expected a list of module names")
    if systems is None:
        from talk_core.plugins import get_systems, load_modules

        load_modules(plugins, where=where)
        systems = get_systems()
    body = {k: v for k, v in raw.items() if k in ("state", "sync")}
    body["datatypes"] = raw.get("datatypes", {})
    try:
        config = _converter.structure(body, Config)
    except Exception as exc:
        messages = transform_error(exc)
        raise ConfigError(f"{where}: " + "; ".join(_pretty(m) for m in messages)) from None
    config.path = file
    config.plugins = plugins
    _check_sync(config.sync, where)
    _check_datatypes(config.datatypes, where)
    tables = raw.get("systems", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{where}: [systems] must be a table of system instances")
    for name, table in tables.items():
        config.systems[name] = _system(name, table, where, env, systems)
    for name in config.sync.priority:
        if name not in config.systems:
            raise ConfigError(f"{where}: [sync] priority: {name!r} is not a system in [systems]")
    for gname, dt in config.datatypes.items():
        for system in dt.directions:
            if system not in config.systems:
                raise ConfigError(f"{where}: [datatypes.{gname}.directions] {system}: not a "
                                  "system in [systems]")
    return config


def _pretty(message: str) -> str:
    """cattrs says ``... @ $.sync.x``; people read ``[sync] x``."""
    text, _, path = message.partition(" @ ")
    parts = [p.strip("'\"") for p in re.split(r"\.|\[|\]", path.removeprefix("$")) if p]
    if not parts:
        return text
    if len(parts) == 1:
        return f"[{parts[0]}] {text}"
    if parts[0] == "datatypes" and len(parts) >= 2:
        table, rest = ".".join(parts[:2]), parts[2:]
    else:
        table, rest = parts[0], parts[1:]
    return f"[{table}] {'.'.join(rest)}: {text}" if rest else f"[{table}] {text}"


def _check_sync(sync: SyncConfig, where: str) -> None:
    if sync.conflict not in ("newest", "priority"):
        raise ConfigError(f"{where}: [sync] conflict: expected 'newest' or 'priority', "
                          f"got {sync.conflict!r}")
    if sync.deletes not in ("propagate", "unlink", "ignore"):
        raise ConfigError(f"{where}: [sync] deletes: expected 'propagate', 'unlink' or "
                          f"'ignore', got {sync.deletes!r}")
    if not 0 <= sync.max_delete_fraction <= 1:
        raise ConfigError(f"{where}: [sync] max_delete_fraction: expected a share between 0 "
                          f"and 1, got {sync.max_delete_fraction}")
    if sync.batch_size < 1 or sync.min_delete_count < 0:
        raise ConfigError(f"{where}: [sync] batch_size must be at least 1 and "
                          "min_delete_count at least 0")
    if not 0 <= sync.unavailable_after <= 3600:
        raise ConfigError(f"{where}: [sync] unavailable_after: expected seconds between 0 "
                          f"and 3600, got {sync.unavailable_after}")
    for name in LIMIT_NAMES:
        problem = limit_problem(name, getattr(sync, name))
        if problem:
            raise ConfigError(f"{where}: [sync] {name}: {problem}")


def _check_datatypes(datatypes: dict[str, DatatypeConfig], where: str) -> None:
    for name, dt in datatypes.items():
        table = f"[datatypes.{name}]"
        gtype = GLOBAL_TYPES.get(name)
        if gtype is None:
            raise ConfigError(f"{where}: {table}: unknown global datatype; expected one of "
                              f"{', '.join(GLOBAL_TYPES)}")
        if dt.history not in ("all", "new"):
            raise ConfigError(f"{where}: {table} history: expected 'all' or 'new', got "
                              f"{dt.history!r}")
        props = gtype.property_names
        for key in dt.match_keys or []:
            for part in key:
                if part not in props:
                    raise ConfigError(f"{where}: {table} match_keys: {part!r} is not a property "
                                      f"of {name}")
        for prop in dt.filter:
            if prop not in props:
                raise ConfigError(f"{where}: {table} filter: {prop!r} is not a property of {name}")
        for system, by_prop in dt.directions.items():
            for prop, direction in by_prop.items():
                if prop not in props:
                    raise ConfigError(f"{where}: [datatypes.{name}.directions] {system}: "
                                      f"{prop!r} is not a property of {name}")
                if direction not in DIRECTIONS:
                    raise ConfigError(f"{where}: [datatypes.{name}.directions] {system}.{prop}: "
                                      f"expected one of {', '.join(DIRECTIONS)}, got "
                                      f"{direction!r}")


def _system(name: str, table: Any, where: str, env: MappingABC[str, str],
            specs: MappingABC[str, SystemSpec]) -> SystemConfig:
    here = f"{where}: [systems.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{here}: expected a table")
    kind = table.get("connector")
    if not isinstance(kind, str) or not kind:
        raise ConfigError(f"{here} connector: missing; expected the kind of system, one of "
                          f"{', '.join(sorted(specs)) or '(no connector plugin is installed)'}")
    spec = specs.get(kind)
    if spec is None:
        raise ConfigError(f"{here} connector: unknown kind {kind!r}; installed: "
                          f"{', '.join(sorted(specs)) or 'none (pip install talk-invoiced ...)'}")
    options = {k: v for k, v in table.items() if k != "connector"}
    return SystemConfig(name, kind, check_options(spec.options, options, here, env))


def check_options(declared: tuple[Option, ...], given: dict[str, Any], here: str,
                  env: MappingABC[str, str]) -> dict[str, Any]:
    """Validate a system table against its connector's declared options."""
    by_name = {o.name: o for o in declared}
    for name in set(LIMIT_NAMES) & set(by_name) & set(given):
        value = given[name]
        problem = limit_problem(name, value) if isinstance(value, (int, float)) else None
        if problem:
            raise ConfigError(f"{here} {name}: {problem}")
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        allowed = ", ".join(sorted(by_name)) or "none"
        raise ConfigError(f"{here} {unknown[0]}: unknown option; this connector takes: {allowed}")
    out: dict[str, Any] = {}
    for option in declared:
        if option.name not in given:
            if option.required:
                hint = f' (e.g. {option.name} = "${{{option.name.upper()}}}")' if option.secret \
                    else ""
                raise ConfigError(f"{here} {option.name}: missing; {option.help or 'required'}"
                                  f"{hint}")
            if option.default is not None:
                out[option.name] = option.default
            continue
        value = given[option.name]
        if option.secret and (not isinstance(value, str) or not _VAR.fullmatch(value.strip())):
            raise ConfigError(
                f"{here} {option.name}: a secret must come from the environment, "
                f'e.g. {option.name} = "${{{option.name.upper()}}}"; it is never stored '
                "in the file")
        value = _interpolate(value, f"{here} {option.name}", env,
                             keep_secret=option.type is str)
        if option.secret and isinstance(value, str) and value != value.strip():
            # a .env saved with CRLF: sent as a header, the value would fail deep in
            # requests with a traceback that shows it
            raise ConfigError(
                f"{here} {option.name}: the secret has surrounding whitespace or a line "
                f"break (CR/LF, as in a .env file saved on Windows); remove it from "
                f"{given[option.name].strip()} (the value is not shown)")
        if option.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, str) and option.type is not str and _VAR.search(given[option.name]):
            value = _coerce(value, option.type, f"{here} {option.name}")
        if not isinstance(value, option.type) or (option.type is int and isinstance(value, bool)):
            raise ConfigError(f"{here} {option.name}: expected {option.type.__name__}, got "
                              f"{type(value).__name__} {value!r}")
        out[option.name] = Secret(value) if option.secret else value
    return out


def _interpolate(value: Any, here: str, env: MappingABC[str, str], *,
                 keep_secret: bool = True) -> Any:
    """``${VAR}`` replaced from ``env``; a text so read is kept secret (``talk_core.secrets``).

    Numbers and flags read from the environment are not: they are no secret,
    and redacting ``1000`` would blank counts in every output.
    """
    if not isinstance(value, str):
        return value

    def sub(match: re.Match[str]) -> str:
        var = match.group(1)
        if var not in env:
            raise ConfigError(f"{here}: environment variable {var} is not set")
        # whatever comes from the environment may be a secret: never shown again
        if keep_secret:
            talk_secrets.add(env[var])
        return env[var]

    return _VAR.sub(sub, value)


def _coerce(value: str, kind: type, here: str) -> Any:
    try:
        if kind is bool:
            if value.lower() in ("true", "1", "yes"):
                return True
            if value.lower() in ("false", "0", "no"):
                return False
            raise ValueError(value)
        return kind(value)
    except ValueError:
        raise ConfigError(f"{here}: expected {kind.__name__}, got {value!r}") from None


def toml_value(value: object) -> str:
    """``value`` as it is written into a ``talk.toml`` that talk writes itself.

    ``talk demo`` and ``talk emulate`` write configs that must load back as
    they were meant: booleans and numbers bare, anything else a string.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a TOML basic string
