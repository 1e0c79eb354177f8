"""``talk sync``: one run, with progress on a terminal and a clean stop on Ctrl-C."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from types import FrameType
from typing import Any

import click

from talk_core.cli import main as m
from talk_core.cli.names import check_systems, resolve_datatypes
from talk_core.cli.output import echo, emit_json, heading, table, visible
from talk_core.cli.progress_view import RunProgress
from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.ids import issued_at
from talk_core.labels import GlobalValues, Labels
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult
from talk_core.system import SystemSpec

#: the counts every system and datatype of a run shows, zero or not
COUNTS = ("read", "create", "update", "delete", "dead_letter", "read_error")


def exit_code(result: RunResult) -> int:
    if result.status == "unavailable":
        return m.EXIT_UNAVAILABLE
    if result.status == "interrupted":
        return m.EXIT_INTERRUPTED
    if result.status == "budget":
        return m.EXIT_EARLY
    if result.status == "auth":
        return m.EXIT_AUTH
    if result.status == "unavailable":
        return m.EXIT_UNAVAILABLE
    return result.exit_code


def labels_for(result: RunResult, store: GlobalValues | None) -> Labels:
    """Labels of every entity the result names; a dry run's new ones from its plan."""
    known = {(p["global_type"], p["global_id"]): p.get("values", {})
             for p in result.planned if p["action"] == "create"}
    entities = [(c["global_type"], c["global_id"]) for c in result.conflicts]
    entities += [(p["global_type"], p["global_id"]) for p in result.planned]
    entities += [(global_type, str(d["id"])) for d in result.dead_letters
                 if issued_at(str(d.get("id") or "")) is not None for global_type in GLOBAL_TYPES]
    return Labels(store, known).load(entities)


def with_zeros(result: RunResult, pairs: Iterable[tuple[str, str]] = ()) -> None:
    """Every count of every (system, datatype) the run covered, zero ones too."""
    for pair in pairs:
        result.counts.setdefault(pair, Counter())
    for counter in result.counts.values():
        for what in COUNTS:
            counter[what] += 0


def keeps_own(spec: SystemSpec, global_type: str, prop: str) -> bool:
    """Whether the system holds ``prop`` of ``global_type`` but talk never writes it there.

    Such a value is the system's own (a number it hands out, a field it
    computes): a conflict's winner is not copied into it, so it keeps its value.
    """
    holding = [(mapping, dt) for dt in spec.datatypes for mapping in spec.mappings_of(dt.name)
               if mapping.global_type == global_type
               and any(pm.global_ == prop for pm in mapping.properties)]
    return bool(holding) and not any(
        prop in mapping.writable_globals(dt, creating=False) for mapping, dt in holding)


def own_values(conflicts: Iterable[dict[str, Any]],
               specs: Mapping[str, SystemSpec]) -> list[tuple[str, str]]:
    """(property, system) of each conflict's loser whose value is its own and stays."""
    found = set()
    for c in conflicts:
        won = c["values"].get(c["winner"])
        for system, value in c["values"].items():
            spec = specs.get(system)
            if system != c["winner"] and value != won and spec is not None and keeps_own(
                    spec, c["global_type"], c["property"]):
                found.add((c["property"], system))
    return sorted(found)


def show(result: RunResult, labels: Labels | None = None, *, title: str | None = None,
         specs: Mapping[str, SystemSpec] | None = None) -> None:
    """The run's summary; ``title`` in place of its heading (the demo's one-line account).

    With the systems' ``specs``, a conflict over a property a system keeps
    as its own says so, as ``talk demo`` does: the winner is not written there.
    """
    labels = labels or Labels(None).load(
        (c["global_type"], c["global_id"]) for c in result.conflicts)
    verb = "would" if result.dry_run else "did"
    heading(title or f"Run {result.run_id or '-'}: {result.status}"
            + (" (dry run)" if result.dry_run else ""))
    if result.message:
        echo(f"  {visible(result.message)}")
    rows = [
        (system, datatype, c["read"], c["create"], c["update"], c["delete"], c["dead_letter"])
        for (system, datatype), c in sorted(result.counts.items())
    ]
    table(["system", "datatype", "read", "create", "update", "delete", "dead letters"], rows,
          empty="nothing read or written")
    if result.conflicts:
        heading(f"Conflicts ({len(result.conflicts)})")
        table(["type", "entity", "property", "values", "winner"], [
            (c["global_type"], labels.entity(c["global_type"], c["global_id"]), c["property"],
             c["values"], c["winner"]) for c in result.conflicts])
        for prop, own in own_values(result.conflicts, specs or {}):
            echo(f"  {prop} is {own}'s own: talk reads it but never writes it there, so "
                 f"{own} keeps its own value;\n  the winner is the value of the systems "
                 "that take it.")
    if result.errors:
        heading(f"Could not read ({len(result.errors)})")
        for error in result.errors:
            echo(f"  {visible(error)}")
    if result.dead_letters:
        heading(f"Dead letters ({len(result.dead_letters)})")
        for d in result.dead_letters:
            echo(f"  {visible(_letter_subject(d, labels))}{visible(d['error'])}")
    if result.dry_run and result.planned:
        heading(f"Planned writes ({len(result.planned)}): talk {verb} make these")
        table(["action", "system", "datatype", "entity", "id", "values"], [
            (p["action"], p["system"], p["datatype"],
             labels.entity(p["global_type"], p["global_id"]), p.get("id", "(new)"),
             planned_values(p["global_type"], p.get("values", {}), labels))
            for p in result.planned])


def planned_values(global_type: str, values: dict[str, Any], labels: Labels) -> dict[str, Any]:
    """A planned write's values, a reference shown as the label of what it points at."""
    gtype = GLOBAL_TYPES.get(global_type)
    if gtype is None:
        return values
    shown: dict[str, Any] = {}
    for name, value in values.items():
        prop = gtype.property(name) if name in gtype.property_names else None
        if prop is not None and prop.references and isinstance(value, str) and value:
            shown[name] = _Shown(labels.reference(global_type, name, value))
        else:
            shown[name] = value
    return shown


class _Shown(str):
    """A value shown as is, without quotes, in a table cell (a reference's label)."""

    def __repr__(self) -> str:
        return f"<{self}>"


def _letter_subject(letter: dict[str, Any], labels: Labels) -> str:
    """The entity a dead letter of this run is about, when its id is a global id."""
    ident = str(letter.get("id") or "")
    if issued_at(ident) is None:
        return ""
    for global_type in GLOBAL_TYPES:
        if labels.values(global_type, ident) is not None:
            return f"[{global_type} {labels.entity(global_type, ident)}] "
    return ""


@click.command(short_help="Run one sync (or plan it with --dry-run).")
@click.option("--dry-run", is_flag=True, default=None,
              help="Read and plan, write nothing; print the plan.")
@click.option("--datatype", "datatypes", multiple=True, metavar="NAME",
              help="Only this global datatype (organisation, human, ...) or the global "
                   "datatypes a system datatype (SalesOrders, customers, ...) maps to; any "
                   "case. Repeatable.")
@click.option("--system", "systems", multiple=True, metavar="NAME",
              help="Only read from this system instance. Repeatable.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON, no progress lines.")
@m.pass_context
@m.handle_errors
def sync(ctx: m.Context, dry_run: bool | None, datatypes: tuple[str, ...],
         systems: tuple[str, ...], as_json: bool) -> None:
    """Run one sync: read what changed, merge, and write it to the other systems.

    On a terminal, live lines on stderr show each phase: records read (and
    read per second) per system and datatype, entities merged, writes done
    of planned with the time left, and a rate limit's wait (such as Exact
    Online's minute budget). Nothing of it in a pipe or with --json.

    Prints what was read, created, updated and deleted per system and
    datatype, the conflicts met and the dead letters. Ctrl-C (or SIGTERM)
    stops within about a second and keeps all progress: a read in flight is
    dropped, a write in flight gets a moment for its answer (one that does
    not come is settled by the next run's recovery), and any wait (a retry's
    backoff, a rate limit's window) is cut short; a second Ctrl-C stops at
    once, also keeping what was committed. Both exit with 130.
    """
    config = ctx.config()
    if dry_run is None:
        dry_run = config.sync.dry_run
    progress = RunProgress(enabled=not as_json and sys.stderr.isatty(), dry_run=dry_run)
    previous: dict[int, Any] = {}
    try:
        with Sync(config, progress=progress) as run:
            specs = {name: instance.spec for name, instance in run.systems.items()}
            wanted_types, _named = resolve_datatypes(datatypes, specs)
            wanted_systems = check_systems(systems, specs) or sorted(specs)
            previous = _on_interrupt(run)
            try:
                result = run.run(dry_run=dry_run, datatypes=wanted_types or None,
                                 systems=wanted_systems if systems else None)
            finally:
                _after_run()
                progress.close()
            if as_json:
                # scripts get every count, zeros too; a person's table shows what happened
                covered = wanted_types or list(GLOBAL_TYPES)
                with_zeros(result, [(name, dt.name) for name in wanted_systems
                                    for dt in specs[name].datatypes
                                    if any(mp.global_type in covered
                                           for mp in specs[name].mappings_of(dt.name))])
                emit_json(result.as_dict())
            else:
                show(result, labels_for(result, run.store), specs=specs)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(exit_code(result))


def _on_interrupt(run: Sync) -> dict[int, Any]:
    """First Ctrl-C: settle the record in flight, or leave it to recovery, and stop.

    Second: stop where it is.

    The second raises ``KeyboardInterrupt`` into the run's stages, which
    ``Sync.run`` turns into an ``interrupted`` run like the first (every step
    is durable on its own, as after a crash). One that comes while the run
    takes its lock or records its end (``Sync.in_stages`` is false) is
    ignored: that is quick, and the run's end is always recorded, exit 130.
    """
    pressed: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        pressed.append(signum)
        if len(pressed) == 1:
            click.echo("\ntalk: stopping; a write in flight is settled now or by the next run "
                       "(Ctrl-C again to stop at once)", err=True)
            run.request_stop()
        elif run.in_stages:
            click.echo("talk: stopping now", err=True)
            raise KeyboardInterrupt

    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def _after_run() -> None:
    """Once the run's end is recorded, a Ctrl-C (or SIGTERM) only cuts the summary short."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(m.EXIT_INTERRUPTED)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)


COMMANDS = [sync]
