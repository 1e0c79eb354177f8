"""``talk demo``: three emulated systems of a small company, synced, edited and synced again."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from talk_core.cli import logs
from talk_core.cli import main as m
from talk_core.cli.output import echo, emit_json, heading, table
from talk_core.cli.progress_view import RunProgress
from talk_core.cli.sync_cmd import labels_for, show
from talk_core.demo.scenario import Hooks, Scenario
from talk_core.demo.summary import Report, shown
from talk_core.demo.systems import CONFIG_NAME, STATE, MissingConnector, required
from talk_core.emulation import serve_until_interrupted
from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.result import RunResult


@click.command(short_help="Try talk on emulated Invoiced, Exact Online and a custom CRM.")
@click.option("--keep", is_flag=True,
              help="Leave the emulators and the config up until Ctrl-C, to try other "
                   "commands on them.")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Vary prices, quantities, dates and the edits; the same seed gives the "
                   "same demo.")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Write the config and the state here and keep them. Default: a "
                   "temporary folder, removed at the end.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the summary as JSON (the steps go to stderr).")
@m.pass_context
@m.handle_errors
def demo(ctx: m.Context, keep: bool, seed: int, folder: Path | None, as_json: bool) -> None:
    """Show talk at work on three emulated systems of a small company, in a few seconds.

    Starts the Invoiced, Exact Online and custom CRM emulators on free
    ports of 127.0.0.1 and fills them with the customers, people, products,
    invoices and orders of a coffee-equipment wholesaler; some customers
    and products are in two or three systems already. Writes a talk.toml
    for them and runs a sync, which ties the records the systems share and
    copies the rest. Then it edits a record in each system, changes one
    customer's phone in two systems at once (a conflict) and deletes a
    person, and syncs again. The summary shows the records per system
    before and after, the links made, where each edit arrived, the
    conflicts with both values, the winner and the policy, and where the
    delete went.

    Without --keep nothing is left running and the temporary folder is
    removed. With --keep the emulators serve until Ctrl-C, and the summary
    says how to look around with `talk status`, `talk links` and
    `talk conflicts`.
    """
    try:
        specs = required(ctx.specs())
    except MissingConnector as exc:
        m.fail(str(exc), m.EXIT_USAGE)
        return
    say = _say(as_json)
    with _workspace(folder) as (place, temporary):
        progress = RunProgress(enabled=not as_json and sys.stderr.isatty())
        scenario = Scenario(place, specs, seed=seed,
                            hooks=Hooks(say=say, progress=progress,
                                        ran=_ran(as_json, progress, place / STATE),
                                        secrets=logs.REDACT.add))
        started = time.monotonic()
        try:
            report = scenario.run()
            seconds = time.monotonic() - started
            if as_json:
                emit_json({**report.as_dict(), "seconds": round(seconds, 2), "kept": keep})
            else:
                render(report)
                echo(f"\nDone in {seconds:.1f} s.")
            if keep:
                _explore(report, temporary, err=as_json)
                serve_until_interrupted()
                say("Stopping the emulators")
        finally:
            progress.close()
            scenario.stop()
    if not keep and folder is not None and not as_json:
        echo(f"The config and state stay in {folder}; the emulators are stopped.")


def _say(as_json: bool) -> Any:
    def say(text: str) -> None:
        echo(click.style(f"==> {text}", bold=True), err=as_json)

    return say


def _ran(as_json: bool, progress: RunProgress, state: Path) -> Any:
    def ran(_title: str, n: int, result: RunResult) -> None:
        if as_json:
            return
        progress.close()
        if n != 1:
            echo(explain(n, result))
        else:
            store = SQLiteStore(state)  # beside the run's own, to label what it names
            try:
                show(result, labels_for(result, store), title=explain(n, result))
            finally:
                store.close()
            if result.rounds > 1:
                echo(f"  Its updates changed other facets of the records written (an "
                           f"address is also a location): {result.rounds} passes over the "
                           "datatypes carried them on.")

    return ran


def explain(n: int, result: RunResult) -> str:
    """One line that says what a run of a sync did and why it ran."""
    head = f"Run {result.run_id}: {result.status}, "
    if not result.writes:
        return (head + f"read {result.total('read')} records back and wrote nothing: every "
                "system holds what the run before wrote")
    why = ("read what changed" if n == 1 else
           "wrote what the run before changed in other facets of its records")
    conflicts = len(result.conflicts)
    return (head + f"{why}: read {result.total('read')} records, created "
            f"{result.total('create')}, updated {result.total('update')}, deleted "
            f"{result.total('delete')}"
            + (f"; {conflicts} conflict{'s' if conflicts != 1 else ''} settled" if conflicts
               else ""))


@contextmanager
def _workspace(folder: Path | None) -> Iterator[tuple[Path, bool]]:
    """The chosen folder, kept; or a temporary one, removed when the demo ends."""
    if folder is not None:
        if (folder / CONFIG_NAME).exists():
            m.fail(f"{folder / CONFIG_NAME} exists; give --dir an empty or new folder",
                   m.EXIT_USAGE)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder, False
        return
    place = Path(tempfile.mkdtemp(prefix="talk-demo-"))
    try:
        yield place, True
    finally:
        shutil.rmtree(place, ignore_errors=True)



# -- the summary ---------------------------------------------------------------------------

def render(report: Report) -> None:
    names = [s.name for s in report.systems]
    echo()
    heading("Systems")
    table(["system", "connector", "emulator", "records before", "talk created", "updated",
           "talk deleted", "a person deleted", "after"], [
        (s.name, s.label, s.url, sum(s.before.values()),
         sum(w["create"] for w in s.writes), sum(w["update"] for w in s.writes),
         sum(w["delete"] for w in s.writes), s.removed, sum(s.after.values()))
        for s in report.systems])
    echo("  before + created - deleted = after; an update changes a record, not the count.")

    echo()
    heading("Records per datatype: before -> after the first sync -> after the second")
    table(["datatype", *names], [
        (gt, *(f"{s.before[gt]} -> {s.after_first[gt]} -> {s.after[gt]}"
               for s in report.systems))
        for gt in GLOBAL_TYPES
        if any(s.before[gt] or s.after_first[gt] or s.after[gt] for s in report.systems)])

    echo()
    heading("Links made by the first sync")
    table(["datatype", "tied across systems", "matched (were in several)",
           "records talk created"],
          [(x.global_type, x.entities, x.matched, x.copied) for x in report.links],
          empty="no links")

    echo()
    heading("Edits between the syncs, and where they are now")
    table(["edited in", "record", "property", "was", "now", "holds the new value"], [
        (e.system, shown(e.record, e.global_id), e.property, e.old, e.new,
         _holders(e.new, e.now, names))
        for e in report.edits], empty="no edits")

    echo()
    heading("Conflicts")
    table(["sync", "record", "property", "values", "winner", "policy", "holds the winner"], [
        (c.sync, shown(c.record, c.global_id), c.property, c.values, c.winner, c.policy,
         _everywhere(c.values[c.winner], c.now, names, c.own))
        for c in report.conflicts], empty="no conflicts")
    for prop, own in sorted({(c.property, s) for c in report.conflicts for s in c.own
                             if s in c.now and not _same(c.now[s], c.values[c.winner])}):
        echo(f"  {prop} is {own}'s own: talk reads it but never writes it there, so "
                   f"{own} keeps its own value;\n  the winner is the value of the systems "
                   "that take it.")
    if any(c.sync == 1 for c in report.conflicts):
        echo("  First sync: records two systems already had, with different values; "
                   "talk tied them and\n  kept one value. Second sync: a property edited in "
                   "two systems before talk ran.")

    removal = report.removal
    if removal is not None:
        echo()
        heading("Delete")
        others = [s for s in names if s in removal.present and s != removal.system]
        gone = [s for s in others if not removal.present[s]]
        left = [s for s in names if removal.present.get(s)]
        echo(f"  {shown(removal.record, removal.global_id)}, deleted in {removal.system}; "
                   "talk deleted it in "
                   f"{', '.join(gone) or 'no other system'}"
                   + (f"; still in {', '.join(left)}" if left else ""))


def _holders(new: Any, now: dict[str, Any], order: list[str]) -> str:
    held = [s for s in order if s in now and _same(now[s], new)]
    other = [f"{s}={now[s]!r}" for s in order if s in now and not _same(now[s], new)]
    return ", ".join(held + other)


def _everywhere(winner: Any, now: dict[str, Any], order: list[str],
                own: tuple[str, ...] = ()) -> str:
    """Which systems hold the winning value; one without the property "has none".

    A system whose value is its own (talk never writes it there) is said to
    keep it, so that a winner it does not hold reads as no contradiction.
    """
    def held(system: str) -> str:
        if _same(now[system], winner):
            return system
        if system in own:
            return f"{system} keeps its own ({now[system]})"
        if now[system] is None:
            return f"{system} has none"
        return f"{system}={now[system]}"

    return ", ".join(held(s) for s in order if s in now)


def _same(a: Any, b: Any) -> bool:
    return a is not None and str(a) == str(b)


def _explore(report: Report, temporary: bool, *, err: bool) -> None:
    config = report.config
    lines = [
        "",
        "The emulators keep running until Ctrl-C:",
        *(f"  {s.name:<8} {s.label:<13} {s.url}" for s in report.systems),
        f"Config: {config}   State: {report.state}",
        "The config takes its secrets from the environment (made-up keys of the emulators):",
        *(f"  export {name}={value}" for name, value in sorted(report.env.items())),
        "Then try:",
        f"  talk --config {config} status",
        f"  talk --config {config} links",
        f"  talk --config {config} conflicts",
        f"  talk --config {config} sync --dry-run",
        "Ctrl-C stops the emulators" + (" and removes the folder." if temporary else "."),
    ]
    for line in lines:
        # the emulators' made-up keys are shown on purpose, to be exported: not redacted
        click.echo(line, err=err)


COMMANDS = [demo]
