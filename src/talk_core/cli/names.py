"""What a person may type for ``--datatype`` and ``--system``, and what it stands for.

A datatype is named as its system declares it (``SalesOrders``) or by its
global datatype (``agreement``), in any case; a name that is neither is a
usage error listing the names there are, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from talk_core.errors import ConfigError
from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.system import SystemSpec


def _listing(names: Iterable[str]) -> str:
    return ", ".join(sorted(set(names), key=str.casefold)) or "none"


def system_datatypes(specs: Mapping[str, SystemSpec]) -> dict[str, set[str]]:
    """Each declared datatype name (as declared) and the global datatypes it maps to."""
    found: dict[str, set[str]] = {}
    for spec in specs.values():
        for datatype in spec.datatypes:
            found.setdefault(datatype.name, set()).update(
                m.global_type for m in spec.mappings_of(datatype.name))
    return found


def resolve_datatypes(given: Iterable[str], specs: Mapping[str, SystemSpec]
                      ) -> tuple[list[str], set[str]]:
    """The global datatypes ``given`` names, and the system datatype names it names.

    ``specs`` are the configured instances' specs, by instance name. A
    system datatype stands for the global datatypes it is mapped to.
    """
    declared = system_datatypes(specs)
    by_fold: dict[str, list[str]] = {}
    for name in declared:
        by_fold.setdefault(name.casefold(), []).append(name)
    global_types: list[str] = []
    datatypes: set[str] = set()
    unknown: list[str] = []
    for word in given:
        fold = word.strip().casefold()
        if fold in GLOBAL_TYPES:
            global_types.append(fold)
        elif fold in by_fold:
            for name in by_fold[fold]:
                datatypes.add(name)
                global_types.extend(sorted(declared[name]))
        else:
            unknown.append(word)
    if unknown:
        raise ConfigError(
            f"unknown datatype {', '.join(repr(u) for u in unknown)}; global datatypes: "
            f"{', '.join(GLOBAL_TYPES)}; system datatypes: {_listing(declared)}")
    return list(dict.fromkeys(global_types)), datatypes


def check_systems(given: Iterable[str], configured: Iterable[str]) -> list[str]:
    """``given`` system instance names, each one configured; else a usage error naming them."""
    names = list(configured)
    wanted = list(dict.fromkeys(given))
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise ConfigError(f"unknown system instance(s): {', '.join(unknown)}; "
                          f"configured: {_listing(names)}")
    return wanted
