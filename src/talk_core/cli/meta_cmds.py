"""Commands about talk itself: ``init``, ``plugins``, ``systems``, ``docs``, ``emulate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from talk_core.cli import main as m
from talk_core.cli.emulate_cmd import emulate
from talk_core.cli.output import echo, emit_json, heading, table
from talk_core.config import DEFAULT_NAME, SyncConfig
from talk_core.plugins import get_plugins
from talk_core.system import SystemSpec

_HEAD = """\
# talk configuration. Secrets come from the environment: write "${NAME}" and
# set NAME before running talk; a secret written here literally is refused.

[state]
# Where talk keeps links, cursors, conflicts and dead letters (SQLite).
path = ".talk/state.db"

[sync]
conflict = "newest"            # or "priority": the first system in `priority` wins
priority = []                  # system names, most trusted first; also breaks ties
deletes = "propagate"          # or "unlink" (keep elsewhere) / "ignore" (recreate)
max_delete_fraction = 0.25     # stop a run that would delete more of a datatype's links
min_delete_count = 5           # ... and more records than this
dry_run = false                # make `talk sync` plan only, unless told otherwise
unavailable_after = 30         # seconds to retry a system that does not answer; then
                               # it is skipped this run (exit code 7)
@BOUNDS@
# Per global datatype (organisation, human, location, product, agreement,
# agreementline): on/off, share, match keys, history, filter, directions.
# [datatypes.organisation]
# enabled = true
# share = true                          # false: read and link, never write
# history = "all"                       # or "new": copy only records created from now on
# match_keys = [["org_number"], ["email"], ["name", "postal_code"]]
# filter = { country = ["NO", "SE"] }   # create elsewhere only what matches
# [datatypes.organisation.directions]
# billing = { email = "from" }          # from: only read there; to: only written; none
"""

#: [sync] keys the template writes commented out, at their defaults, with what they mean
SYNC_BOUNDS = (
    ("batch_size", "records merged and written per transaction"),
    ("max_pages", "pages one read of a datatype may take"),
    ("max_response_bytes", "bytes one answer may have, decoded (64 MiB)"),
    ("request_deadline", "seconds one request may take, its whole body included"),
    ("max_json_depth", "how deeply a JSON answer may nest"),
)


def _bound_lines() -> str:
    """The bounds at ``SyncConfig``'s own defaults, so the template cannot drift from them."""
    defaults = SyncConfig()
    lines = ["# At their defaults; the bounds on what talk takes from an API (max_pages ...",
             "# max_json_depth) hold for every system that does not set its own:"]
    for key, meaning in SYNC_BOUNDS:
        setting = f"# {key} = {_toml(getattr(defaults, key))} "
        lines.append(f"{setting:<33}# {meaning}")
    return "\n".join(lines) + "\n\n"


def env_name(spec: SystemSpec, option: str) -> str:
    """The environment variable a secret option reads in the example: ``INVOICED_API_KEY``."""
    return f"{spec.env_prefix or spec.name}_{option}".upper().replace("-", "_")


def example_config(specs: dict[str, SystemSpec]) -> str:
    """A commented config with one example table per installed kind of system.

    Every option is written the same way: what it is on a line of its own,
    then the option, commented out when it is optional; a secret as the
    environment variable ``env_name`` gives it, as the README does.
    """
    parts = [_HEAD.replace("@BOUNDS@\n", _bound_lines())]
    if not specs:
        parts.append("# No connector plugin is installed: pip install talk-invoiced, "
                     "talk-exactonline or talk-custom,\n# then run `talk init --force` again.\n")
    for spec in sorted(specs.values(), key=lambda s: s.name):
        parts.append(f"\n# {spec.label} (connector {spec.name!r}); name the table as you like"
                     f"\n[systems.my_{spec.name}]\nconnector = \"{spec.name}\"")
        for option in spec.options:
            if option.secret:
                value = f'"${{{env_name(spec, option.name)}}}"'
            elif option.default is not None:
                value = _toml(option.default)
            elif option.type is dict:
                value = "{}"
            else:
                value = '""'
            what = option.help or option.name
            parts.append(f"# {what}" + ("" if option.required else " (optional)"))
            parts.append(("" if option.required else "# ") + f"{option.name} = {value}")
        parts.append("")
    return "\n".join(parts) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@click.command(short_help="Write a commented example talk.toml.")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@m.pass_context
@m.handle_errors
def init(ctx: m.Context, path: str | None, force: bool) -> None:
    """Write a commented example config (default: ./talk.toml)."""
    target = Path(path or ctx.config_path or DEFAULT_NAME)
    if target.exists() and not force:
        m.fail(f"{target} exists; use --force to overwrite it", m.EXIT_USAGE)
    target.write_text(example_config(ctx.specs()), encoding="utf-8")
    echo(f"wrote {target}; edit it, then run `talk sync --dry-run`")


@click.command(short_help="Installed plugins and their versions.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """Installed plugins, their versions and the hooks they implement."""
    found = get_plugins()
    if as_json:
        emit_json(found)
        return
    table(["plugin", "distribution", "version", "hooks"], [
        (p["name"], p.get("distribution"), p.get("version"), ", ".join(p["hooks"]))  # type: ignore[arg-type]
        for p in found], empty="no plugins installed")


@click.command(short_help="Kinds of system and their datatypes.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@m.pass_context
@m.handle_errors
def systems(ctx: m.Context, as_json: bool) -> None:
    """Kinds of system the plugins provide, their datatypes and global datatypes."""
    specs = ctx.specs()
    data: list[dict[str, Any]] = [{  # the --json document
        "name": spec.name, "label": spec.label,
        "options": [{"name": o.name, "required": o.required, "secret": o.secret,
                     "help": o.help} for o in spec.options],
        "datatypes": [{
            "name": dt.name, "label": dt.label, "read_mode": dt.read_mode.value,
            "maps_to": [{"global_type": mp.global_type, "facet": mp.facet,
                         "creates": mp.creates} for mp in spec.mappings_of(dt.name)],
        } for dt in spec.datatypes],
    } for spec in sorted(specs.values(), key=lambda s: s.name)]
    if as_json:
        emit_json(data)
        return
    if not data:
        echo("  (no connector plugin is installed)")
    for kind in data:
        heading(f"{kind['label']} ({kind['name']})")
        table(["datatype", "read", "global datatype", "facet"], [
            (dt["name"], dt["read_mode"], mp["global_type"], mp["facet"] or "-")
            for dt in kind["datatypes"] for mp in dt["maps_to"] or [{"global_type": "-",
                                                                      "facet": ""}]])


@click.command(short_help="Dataflow document of two system kinds.")
@click.argument("source")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["rst", "md"]), default="rst",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
@m.pass_context
@m.handle_errors
def docs(ctx: m.Context, source: str, target: str, fmt: str, output: str | None) -> None:
    """The dataflow document between two systems (e.g. invoiced exactonline).

    SOURCE and TARGET are kinds of system (see talk systems) or names of
    systems in talk.toml. A configured system is shown as its options make
    it: a custom system's own datatypes, renamed fields and composed
    properties (map lists), Exact Online's company datatypes with
    company_data on. One section per pair of datatypes that share a global
    datatype, with the properties kept in sync.
    """
    from talk_core import docs as dataflow

    specs = ctx.specs()
    chosen = [_docs_system(ctx, name, specs) for name in (source, target)]
    text = dataflow.render(chosen[0], chosen[1], fmt=fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        echo(f"wrote {output}")
    else:
        echo(text, nl=False)


def _docs_system(ctx: m.Context, name: str, specs: dict[str, SystemSpec]) -> SystemSpec:
    """The configured system ``name`` if talk.toml has one, else the kind ``name``.

    Naming a kind needs no config: a talk.toml that cannot be loaded is
    only an error when the name is not a kind.
    """
    from talk_core.assemble import configured_spec
    from talk_core.config import find_config
    from talk_core.errors import ConfigError

    configured: list[str] = []
    if find_config(ctx.config_path).exists():
        try:
            config = ctx.config()
        except ConfigError:
            if name in specs:
                return specs[name]
            raise
        configured = sorted(config.systems)
        if name in config.systems:
            return configured_spec(config, name, specs)
    if name not in specs:
        named = f"; configured: {', '.join(configured)}" if configured else ""
        m.fail(f"unknown system kind {name!r}, nor a system of talk.toml; installed: "
               f"{', '.join(sorted(specs)) or 'none'}{named}", m.EXIT_USAGE)
    return specs[name]


COMMANDS = [init, plugins, systems, docs, emulate]
