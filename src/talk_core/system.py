"""What a plugin registers: one ``SystemSpec`` per kind of system it speaks to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from talk_core.connector import Connector
from talk_core.mapping import Mapping
from talk_core.model import DataType


@attrs.frozen
class Option:
    """One key of a system's config table, for validation, docs and ``talk init``."""

    name: str
    type: type = str
    required: bool = False
    secret: bool = False
    default: Any = None
    help: str = ""


@attrs.define
class SystemContext:
    """What a connector factory gets besides its options.

    ``store`` keeps what must survive between runs outside the sync's own
    state (Exact's rotating OAuth tokens); ``base_dir`` resolves relative
    paths in options against the config file's folder.
    """

    name: str
    store: Any = None
    base_dir: Path = attrs.field(factory=Path.cwd)


@attrs.frozen
class SystemSpec:
    """A kind of system (``invoiced``), as a plugin declares it.

    ``factory(options=..., context=...)`` builds a connector from the
    instance's validated options and a ``SystemContext``. ``emulator(port=,
    seed=)`` serves the system's emulator until Ctrl-C (what ``talk emulate``
    falls back to); ``start_emulator(port=, credentials=)`` starts an empty
    one in the background and answers a ``talk_core.emulation.Served``
    (``talk demo``, ``talk emulate``). ``credentials`` maps the names in
    ``emulator_credentials`` to the values the emulator must demand; without
    it the emulator makes up its own. ``emulator_credentials`` are the
    options ``talk emulate`` takes for the emulator (``api_key`` is
    ``--api-key``), each with its public default. ``env_prefix``
    starts the environment variables ``talk init`` names for the secret
    options (``EXACT`` gives ``EXACT_CLIENT_SECRET``); default: ``name``.
    """

    name: str
    label: str
    datatypes: tuple[DataType, ...]
    mappings: tuple[Mapping, ...]
    factory: Callable[..., Connector]
    options: tuple[Option, ...] = ()
    emulator: Callable[..., Any] | None = None
    plugin: str = ""
    start_emulator: Callable[..., Any] | None = None
    emulator_credentials: tuple[Option, ...] = ()
    env_prefix: str = ""

    def __attrs_post_init__(self) -> None:
        names = {d.name for d in self.datatypes}
        for m in self.mappings:
            if m.datatype not in names:
                raise ValueError(
                    f"system {self.name!r}: mapping to {m.global_type} names unknown "
                    f"datatype {m.datatype!r}"
                )

    def datatype(self, name: str) -> DataType:
        for dt in self.datatypes:
            if dt.name == name:
                return dt
        raise KeyError(f"system {self.name!r} has no datatype {name!r}")

    def mappings_for(self, global_type: str) -> list[Mapping]:
        return [m for m in self.mappings if m.global_type == global_type]

    def mappings_of(self, datatype: str) -> list[Mapping]:
        return [m for m in self.mappings if m.datatype == datatype]

    def global_types(self) -> set[str]:
        return {m.global_type for m in self.mappings}


def by_name(specs: Iterable[SystemSpec]) -> dict[str, SystemSpec]:
    out: dict[str, SystemSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"two plugins register a system named {spec.name!r}")
        out[spec.name] = spec
    return out
