"""``talk sync``: one run, with progress on a terminal and a clean stop on Ctrl-C."""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

import click

from talk_core.cli import main as m
from talk_core.cli.output import emit_json, heading, table
from talk_core.sync.engine import Sync
from talk_core.sync.result import RunResult


class Progress:
    """One updating line per system and datatype while reading, on a terminal only."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.current: tuple[str, str] | None = None
        self.count = 0

    def __call__(self, event: str, **info: Any) -> None:
        if not self.enabled:
            return
        if event == "read":
            self._finish()
            self.current = (str(info["system"]), str(info["datatype"]))
            self.count = 0
            self._draw()
        elif event == "page":
            self.count += int(info.get("entities", 0))
            self._draw()
        elif event == "merge":
            self._finish()
            click.echo(f"  merging {info['global_type']}: {info['done']} records", err=True,
                       nl=False)
            click.echo("\r", err=True, nl=False)

    def _draw(self) -> None:
        if self.current is not None:
            system, datatype = self.current
            click.echo(f"\r  reading {system} {datatype}: {self.count} records", err=True,
                       nl=False)

    def _finish(self) -> None:
        if self.current is not None:
            click.echo("", err=True)
            self.current = None

    def close(self) -> None:
        self._finish()
        if self.enabled:
            click.echo("\x1b[2K", err=True, nl=False)


def exit_code(result: RunResult) -> int:
    if result.status == "interrupted":
        return m.EXIT_INTERRUPTED
    if result.status == "budget":
        return m.EXIT_EARLY
    if result.status == "auth":
        return m.EXIT_AUTH
    if result.status == "unavailable":
        return m.EXIT_UNAVAILABLE
    return result.exit_code


def show(result: RunResult) -> None:
    verb = "would" if result.dry_run else "did"
    heading(f"Run {result.run_id or '-'}: {result.status}" + (" (dry run)" if result.dry_run
                                                               else ""))
    if result.message:
        click.echo(f"  {result.message}")
    rows = [
        (system, datatype, c["read"], c["create"], c["update"], c["delete"], c["dead_letter"])
        for (system, datatype), c in sorted(result.counts.items())
    ]
    table(["system", "datatype", "read", "create", "update", "delete", "dead letters"], rows,
          empty="nothing read or written")
    if result.conflicts:
        heading(f"Conflicts ({len(result.conflicts)})")
        table(["type", "entity", "property", "values", "winner"], [
            (c["global_type"], c["global_id"][:8], c["property"], c["values"], c["winner"])
            for c in result.conflicts])
    if result.errors:
        heading(f"Could not read ({len(result.errors)})")
        for error in result.errors:
            click.echo(f"  {error}")
    if result.dead_letters:
        heading(f"Dead letters ({len(result.dead_letters)})")
        for d in result.dead_letters:
            click.echo(f"  {d['error']}")
    if result.dry_run and result.planned:
        heading(f"Planned writes ({len(result.planned)}): talk {verb} make these")
        table(["action", "system", "datatype", "id", "values"], [
            (p["action"], p["system"], p["datatype"], p.get("id", "(new)"), p.get("values", {}))
            for p in result.planned])


@click.command(short_help="Run one sync (or plan it with --dry-run).")
@click.option("--dry-run", is_flag=True, default=None,
              help="Read and plan, write nothing; print the plan.")
@click.option("--datatype", "datatypes", multiple=True, metavar="GLOBAL",
              help="Only this global datatype (organisation, human, ...). Repeatable.")
@click.option("--system", "systems", multiple=True, metavar="NAME",
              help="Only read from this system instance. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, no progress.")
@m.pass_context
@m.handle_errors
def sync(ctx: m.Context, dry_run: bool | None, datatypes: tuple[str, ...],
         systems: tuple[str, ...], as_json: bool) -> None:
    """Run one sync: read what changed, merge, and write it to the other systems.

    Prints what was read, created, updated and deleted per system and
    datatype, the conflicts met and the dead letters. Ctrl-C (or SIGTERM)
    stops after the record in flight, cutting short any wait (a retry's
    backoff, a rate limit's window), and keeps all progress; a second Ctrl-C
    stops at once, also keeping what was committed. Both exit with 130.
    """
    config = ctx.config()
    if dry_run is None:
        dry_run = config.sync.dry_run
    progress = Progress(enabled=not as_json and sys.stderr.isatty())
    previous: dict[int, Any] = {}
    try:
        with Sync(config, progress=progress) as run:
            previous = _on_interrupt(run)
            try:
                result = run.run(dry_run=dry_run, datatypes=datatypes or None,
                                 systems=systems or None)
            finally:
                _after_run()
                progress.close()
        if as_json:
            emit_json(result.as_dict())
        else:
            show(result)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(exit_code(result))


def _on_interrupt(run: Sync) -> dict[int, Any]:
    """First Ctrl-C: finish the record in flight and stop. Second: stop where it is.

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
            click.echo("\ntalk: stopping after the record in flight (Ctrl-C again to stop "
                       "at once)", err=True)
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
