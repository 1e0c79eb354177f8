"""What every seed example shares: emulators on loopback, a config file, one ``Sync``.

An example names its system instances and their kinds. Each kind's plugin
starts an empty emulator of its system on a free 127.0.0.1 port; a
``talk.toml`` naming them is written to a temporary folder and read with
``talk_core.load_config``, and ``talk_core.Sync(config)`` syncs them, as a
program of your own would. Secrets (API keys, client secrets, refresh
tokens) go where talk wants them, in the environment that ``load_config``
reads, never in the file. When the example ends, the emulators stop and
the folder is removed, whatever happened.

Records are made, listed and edited through the sync's own connectors, in
each system's own field names: the examples play a person working in each
system between two syncs.
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import talk_core
from talk_core.model import Entity
from talk_core.plugins import get_systems

_keys = itertools.count(1)


def _toml_value(value: Any) -> str:
    """A TOML value for an option: JSON's strings, numbers and booleans are TOML's too."""
    if isinstance(value, bool | int | float | str):
        return json.dumps(value)
    raise TypeError(f"an emulator option of type {type(value).__name__} has no TOML form")


def _system_table(name: str, kind: str, options: dict[str, Any],
                  env: dict[str, str]) -> list[str]:
    """``[systems.NAME]`` with secret options as ``${VAR}``, their values put in ``env``."""
    spec = get_systems()[kind]
    secret = {o.name for o in spec.options if o.secret}
    lines = [f"[systems.{name}]", f'connector = "{kind}"']
    for key, value in options.items():
        if key in secret:
            variable = f"{name}_{key}".upper()
            env[variable] = str(value)
            lines.append(f'{key} = "${{{variable}}}"')
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return lines


@contextmanager
def emulated(systems: dict[str, str]) -> Iterator[talk_core.Sync]:
    """A ``Sync`` over one emulator per entry of ``systems`` (instance name -> kind)."""
    specs = get_systems()
    with ExitStack() as stack:
        folder = Path(tempfile.mkdtemp(prefix="talk-example-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        env: dict[str, str] = {}
        lines = ["[state]", 'path = "state.db"', ""]
        for name, kind in systems.items():
            spec = specs.get(kind)
            if spec is None or spec.start_emulator is None:
                raise SystemExit(f"no emulator for system kind {kind!r}: is its plugin "
                                 "installed?")
            served = spec.start_emulator()
            stack.callback(served.stop)
            lines += [*_system_table(name, kind, served.options(), env), ""]
        path = folder / "talk.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        config = talk_core.load_config(path, env=env)
        sync = stack.enter_context(talk_core.Sync(config))
        yield sync


def put(sync: talk_core.Sync, system: str, datatype: str, fields: dict[str, Any]) -> Entity:
    """Make a record in ``system`` as its own users would, before talk has seen it."""
    connector = sync.systems[system].connector
    return connector.create(datatype, fields, key=f"example-{next(_keys)}")


def records(sync: talk_core.Sync, system: str, datatype: str) -> list[Entity]:
    """Every live record of a datatype, read through the system's connector."""
    connector = sync.systems[system].connector
    return [e for page in connector.read(datatype, None) for e in page.entities
            if not e.deleted]


def one(sync: talk_core.Sync, system: str, datatype: str, **where: Any) -> Entity:
    """The record whose fields equal ``where``; an example that finds none or two stops."""
    found = [e for e in records(sync, system, datatype)
             if all(e.properties.get(k) == v for k, v in where.items())]
    if len(found) != 1:
        raise SystemExit(f"{system} {datatype}: {len(found)} records with {where}")
    return found[0]


def edit(sync: talk_core.Sync, system: str, datatype: str, ident: str, **changes: Any
         ) -> Entity:
    """Change some fields of a record in ``system``, as a person there would."""
    return sync.systems[system].connector.update(datatype, ident, changes)


def run(sync: talk_core.Sync, label: str) -> talk_core.RunResult:
    """One sync run, with its totals printed; a run that fails stops the example."""
    result = sync.run()
    totals = {k: v for k, v in result.as_dict()["totals"].items() if v}
    print(f"\n{label}: {result.status}, {totals or 'nothing to do'}")
    if result.status != "done" or result.dead_letters or result.errors:
        raise SystemExit(f"the sync did not go through: {result.as_dict()}")
    return result


def show(section: str, entities: Iterable[Entity], fields: Iterable[str]) -> None:
    """One seed section: the target records it produced, a few fields each."""
    names = list(fields)
    print(f"  {section}:")
    shown = 0
    for entity in entities:
        values = ", ".join(f"{n}={entity.properties.get(n)!r}" for n in names)
        print(f"    - {values}")
        shown += 1
    if not shown:
        print("    (none)")
