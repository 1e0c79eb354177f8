"""Looking at the state: ``status``, ``links``, ``conflicts``, ``deadletters``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from talk_core.assemble import open_store
from talk_core.cli import main as m
from talk_core.cli.output import emit_json, heading, table
from talk_core.sync.waiting import waiting


@click.command(short_help="Last runs, cursors, links, pending work.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def status(ctx: m.Context, as_json: bool) -> None:
    """Last runs, cursors, link counts, pending work and dead letters."""
    store = open_store(ctx.config())
    try:
        runs = store.runs(limit=5)
        deferred = store.inbox_deferred()
        data: dict[str, Any] = {  # the --json document
            "state": store.path,
            "runs": [{"id": r.id, "started_at": r.started_at, "finished_at": r.finished_at,
                      "status": r.status, "totals": r.summary.get("totals", {})} for r in runs],
            "cursors": [{"system": s, "datatype": d, "cursor": c, "updated_at": u}
                        for s, d, c, u in store.cursors()],
            "links": [{"system": s, "datatype": d, "global_type": g, "count": n}
                      for s, d, g, n in store.link_counts()],
            "pending": {"journal": len(store.journal_pending()), "inbox": store.inbox_count(),
                        "deferred": len(deferred)},
            "waiting": [group.as_dict() for group in waiting(deferred)],
            "dead_letters": len(store.dead_letters()),
            "conflicts": len(store.conflicts(limit=1_000_000)),
        }
    finally:
        store.close()
    if as_json:
        emit_json(data)
        return
    heading(f"State {data['state']}")
    heading("Last runs")
    table(["run", "started", "finished", "status", "created", "updated", "deleted"], [
        (r["id"], r["started_at"], r["finished_at"], r["status"], r["totals"].get("create"),
         r["totals"].get("update"), r["totals"].get("delete")) for r in data["runs"]],
        empty="no run yet")
    heading("Cursors")
    table(["system", "datatype", "cursor", "moved"],
          [(c["system"], c["datatype"], c["cursor"], c["updated_at"]) for c in data["cursors"]],
          empty="nothing read yet")
    heading("Links")
    table(["system", "datatype", "global type", "links"],
          [(x["system"], x["datatype"], x["global_type"], x["count"]) for x in data["links"]],
          empty="no links yet")
    pending = data["pending"]
    for_lines = sum(g["count"] for g in data["waiting"] if g["waiting_for"] == "lines")
    heading("Pending")
    click.echo(f"  journal {pending['journal']}, staged {pending['inbox']} "
               f"(waiting for a reference: {pending['deferred'] - for_lines}), dead letters "
               f"{data['dead_letters']}, conflicts recorded {data['conflicts']}")
    for group in data["waiting"]:
        click.echo(f"    {group['text']}")


@click.command(short_help="Which records are tied together.")
@click.argument("ident", required=False)
@click.option("--system", help="Only links into this system instance.")
@click.option("--datatype", help="Only this system datatype or global datatype.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def links(ctx: m.Context, ident: str | None, system: str | None, datatype: str | None,
          as_json: bool) -> None:
    """Which records are tied together.

    With IDENT (a record's id in a system, or a global id), shows every record
    linked to the same global entity.
    """
    store = open_store(ctx.config())
    try:
        found = list(store.iter_links(system=system))
        if datatype:
            found = [lk for lk in found if datatype in (lk.datatype, lk.global_type)]
        if ident:
            hits = {(lk.global_type, lk.global_id) for lk in found
                    if ident in (lk.external_id, lk.global_id)}
            found = [lk for gt, gid in sorted(hits) for lk in store.links_of(gt, gid)]
    finally:
        store.close()
    if as_json:
        emit_json([{"global_type": lk.global_type, "global_id": lk.global_id,
                    "system": lk.system, "datatype": lk.datatype, "id": lk.external_id,
                    "values": lk.values} for lk in found])
        return
    table(["global type", "global id", "system", "datatype", "id"],
          [(lk.global_type, lk.global_id, lk.system, lk.datatype, lk.external_id)
           for lk in sorted(found, key=lambda x: (x.global_type, x.global_id, x.system))],
          empty="no links")


@click.command(short_help="Concurrent edits: values and winners.")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def conflicts(ctx: m.Context, limit: int, as_json: bool) -> None:
    """Properties two systems changed at once: both values, the winner, and the policy."""
    store = open_store(ctx.config())
    try:
        found = store.conflicts(limit=limit)
    finally:
        store.close()
    if as_json:
        emit_json([{"id": c.id, "run_id": c.run_id, "global_type": c.global_type,
                    "global_id": c.global_id, "property": c.property, "values": c.values,
                    "winner": c.winner, "policy": c.policy, "created_at": c.created_at}
                   for c in found])
        return
    table(["when", "type", "entity", "property", "values", "winner", "policy"], [
        (c.created_at, c.global_type, c.global_id[:8], c.property, c.values, c.winner, c.policy)
        for c in found], empty="no conflicts")


@click.command(short_help="Records that failed, why, when retried.")
@click.option("--retry", is_flag=True, help="Make every dead letter due now and run a sync.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def deadletters(ctx: m.Context, retry: bool, as_json: bool) -> None:
    """Records that could not be read or written, why, and when they are retried."""
    config = ctx.config()
    store = open_store(config)
    try:
        letters = store.dead_letters()
        if retry:
            now = datetime.now(UTC)
            for letter in letters:
                assert letter.id is not None
                store.schedule_dead_letter(letter.id, now)
    finally:
        store.close()
    if retry:
        from talk_core.cli.sync_cmd import sync

        click.get_current_context().invoke(sync, dry_run=None, datatypes=(), systems=(),
                                           as_json=as_json)
        return
    if as_json:
        emit_json([{"id": d.id, "direction": d.direction, "system": d.system,
                    "datatype": d.datatype, "external_id": d.external_id,
                    "global_type": d.global_type, "global_id": d.global_id, "error": d.error,
                    "attempts": d.attempts, "next_attempt": d.next_attempt} for d in letters])
        return
    if not letters:
        click.echo("  (no dead letters)")
        sys.exit(0)
    for d in letters:
        click.echo(f"  #{d.id} {d.direction} {d.system} {d.datatype}, {d.attempts} attempt(s), "
                   f"next {d.next_attempt:%Y-%m-%d %H:%M}" if d.next_attempt else
                   f"  #{d.id} {d.direction} {d.system} {d.datatype}, {d.attempts} attempt(s)")
        click.echo(f"      {d.error}")


COMMANDS = [status, links, conflicts, deadletters]
