"""Looking at the state: ``status``, ``links``, ``conflicts``, ``deadletters``."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from talk_core.assemble import open_store
from talk_core.cli import main as m
from talk_core.cli import shown
from talk_core.cli.names import check_systems, resolve_datatypes
from talk_core.cli.output import echo, emit_json, heading, table, visible
from talk_core.globaltypes import GLOBAL_TYPES
from talk_core.labels import Labels, matches_id
from talk_core.model import Link
from talk_core.sync.waiting import waiting


@click.command(short_help="Last runs, cursors, links, pending work.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def status(ctx: m.Context, as_json: bool) -> None:
    """Last runs, cursors, link counts, pending work and dead letters."""
    config = ctx.config()
    store = open_store(config)
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
            "budgets": [{"system": name, **budget} for name in config.systems
                        for budget in shown.budgets(store.notes(name))],
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
          [(c["system"], c["datatype"], shown.cursor(c["cursor"]), c["updated_at"])
           for c in data["cursors"]],
          empty="nothing read yet")
    if data["budgets"]:
        heading("Request budgets (as the last run saw them)")
        table(["system", "budget"], [(b["system"], shown.budget_text(b))
                                     for b in data["budgets"]])
    heading("Links")
    table(["system", "datatype", "global type", "links"],
          [(x["system"], x["datatype"], x["global_type"], x["count"]) for x in data["links"]],
          empty="no links yet")
    pending = data["pending"]
    for_lines = sum(g["count"] for g in data["waiting"] if g["waiting_for"] == "lines")
    heading("Pending")
    echo(f"  journal {pending['journal']}, staged {pending['inbox']} "
               f"(waiting for a reference: {pending['deferred'] - for_lines}), dead letters "
               f"{data['dead_letters']}, conflicts recorded {data['conflicts']}")
    for group in data["waiting"]:
        echo(f"    {visible(group['text'])}")


@click.command(short_help="Which records are tied together.")
@click.argument("ident", required=False)
@click.option("--type", "global_type", metavar="GLOBAL",
              help="Only entities of this global datatype (organisation, human, ...).")
@click.option("--system", help="Only links into this system instance.")
@click.option("--datatype", help="Only this system datatype or global datatype, any case.")
@click.option("--name", help="Only entities whose label (name, number, ...) holds this text, "
                             "any case.")
@click.option("--limit", type=click.IntRange(min=1),
              help="Entities per page. Default: 50, and all of them with --json.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(min=0),
              help="Entities to skip.")
@click.option("--page", type=click.IntRange(min=1), help="Page to show (1: the first); "
                                                          "sets --offset from --limit.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def links(ctx: m.Context, ident: str | None, global_type: str | None, system: str | None,
          datatype: str | None, name: str | None, limit: int | None, offset: int,
          page: int | None,
          as_json: bool) -> None:
    """Which records are tied together, one global entity after the other (oldest first).

    With IDENT (a record's id in a system, a global id or the end of one, as
    the other commands show it), shows every record linked to the same
    global entity. Entities show by their label and the end of their global id.
    """
    config = ctx.config()
    if global_type is not None and global_type.casefold() not in GLOBAL_TYPES:
        m.fail(f"unknown global datatype {global_type!r}; global datatypes: "
               f"{', '.join(GLOBAL_TYPES)}", m.EXIT_USAGE)
    if system is not None:
        check_systems([system], config.systems)
    store = open_store(config)
    try:
        wanted_types, datatypes = (resolve_datatypes([datatype], _specs(ctx, config))
                                   if datatype else ([], set()))
        found = list(store.iter_links(system=system))
        if global_type:
            found = [lk for lk in found if lk.global_type == global_type.casefold()]
        if datatype:
            found = [lk for lk in found if lk.datatype in datatypes
                     or (not datatypes and lk.global_type in wanted_types)]
        if ident:
            hits = {(lk.global_type, lk.global_id) for lk in found
                    if ident == lk.external_id or matches_id(lk.global_id, ident)}
            found = [lk for gt, gid in sorted(hits) for lk in store.links_of(gt, gid)]
        entities = list(dict.fromkeys((lk.global_type, lk.global_id) for lk in sorted(
            found, key=lambda x: (list(GLOBAL_TYPES).index(x.global_type)
                                  if x.global_type in GLOBAL_TYPES else 99, x.global_id))))
        labels = Labels(store)
        if name:
            labels.load(entities)
            entities = [e for e in entities if name.casefold() in labels.label(*e).casefold()]
        total = len(entities)
        if limit is None:
            limit = max(total, 1) if as_json and not page else 50
        start = (page - 1) * limit if page else offset
        shown_entities = entities[start:start + limit]
        labels.load(shown_entities)
    finally:
        store.close()
    by_entity: dict[tuple[str, str], list[Link]] = {}
    for lk in found:
        by_entity.setdefault((lk.global_type, lk.global_id), []).append(lk)
    rows = [lk for e in shown_entities for lk in sorted(by_entity[e], key=lambda x: x.system)]
    if as_json:
        emit_json([{"global_type": lk.global_type, "global_id": lk.global_id,
                    "label": labels.label(lk.global_type, lk.global_id),
                    "system": lk.system, "datatype": lk.datatype, "id": lk.external_id,
                    "values": lk.values} for lk in rows])
        return
    table(["global type", "entity", "global id", "system", "datatype", "id"],
          [(lk.global_type, labels.label(lk.global_type, lk.global_id) or "-",
            labels.short(lk.global_id), lk.system, lk.datatype, lk.external_id)
           for lk in rows], empty="no links")
    if total > len(shown_entities) or start:
        end = start + len(shown_entities)
        more = f"; --page {start // limit + 2} for more" if end < total else ""
        echo(f"  entities {start + 1 if shown_entities else start}-{end} of {total}{more}")


def _specs(ctx: m.Context, config: Any) -> dict[str, Any]:
    """The configured instances' specs by instance name, without connecting to anything."""
    kinds = ctx.specs()
    return {name: kinds[sc.connector] for name, sc in config.systems.items()
            if sc.connector in kinds}


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
        labels = Labels(store).load((c.global_type, c.global_id) for c in found)
    finally:
        store.close()
    if as_json:
        emit_json([{"id": c.id, "run_id": c.run_id, "global_type": c.global_type,
                    "global_id": c.global_id, "label": labels.label(c.global_type, c.global_id),
                    "property": c.property, "values": c.values,
                    "winner": c.winner, "policy": c.policy, "created_at": c.created_at}
                   for c in found])
        return
    table(["when", "type", "entity", "property", "values", "winner", "policy"], [
        (c.created_at, c.global_type, labels.entity(c.global_type, c.global_id), c.property,
         c.values, c.winner, c.policy)
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
        labels = Labels(store).load((d.global_type, d.global_id) for d in letters
                                    if d.global_id)
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
                    "global_type": d.global_type, "global_id": d.global_id,
                    "label": labels.label(d.global_type, d.global_id) if d.global_id else None,
                    "error": d.error,
                    "attempts": d.attempts, "next_attempt": d.next_attempt} for d in letters])
        return
    if not letters:
        echo("  (no dead letters)")
        sys.exit(0)
    for d in letters:
        what = (f"{d.global_type} {labels.entity(d.global_type, d.global_id)}" if d.global_id
                else f"{d.global_type} {d.system} id {d.external_id}")
        when = f", next {shown.moment(d.next_attempt)}" if d.next_attempt else ""
        echo(f"  #{d.id} {d.direction} {d.system} {d.datatype}: {visible(what)}, "
             f"{d.attempts} attempt(s){when}")
        echo(f"      {visible(d.error)}")


COMMANDS = [status, links, conflicts, deadletters]
