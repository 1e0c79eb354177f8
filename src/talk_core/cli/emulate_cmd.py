"""``talk emulate KIND``: one system's API emulator on 127.0.0.1, empty, seeded or filled at scale.

The emulator demands the credentials it was started with (the public
defaults of each emulator unless ``--api-key``, ``--client-id`` or
``--client-secret`` say otherwise), so a test can try a wrong key as well
as the right one. ``--records N`` fills it with generated records
(``talk_core.emulation_fill``) before it serves. At start it prints where
it is, the credentials (a secret only when it is a public default), what
was generated and how long it took, and a talk.toml fragment to reach it.
"""

from __future__ import annotations

import time
from typing import Any

import click

from talk_core.cli import main as m
from talk_core.config import toml_value
from talk_core.emulation import Served, serve_until_interrupted
from talk_core.emulation_fill import DEFAULT_SEED
from talk_core.system import Option, SystemSpec

#: The credential options ``talk emulate`` takes, by the emulator credential they set.
CREDENTIAL_FLAGS = {"api_key": "--api-key", "client_id": "--client-id",
                    "client_secret": "--client-secret"}


class EmulateCommand(click.Command):
    """Lists the kinds of system the installed plugins can emulate under its help."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if ctx.meta.get("talk.reference"):  # docs/cli.md: what is installed varies
            formatter.write_paragraph()
            formatter.write_text("The kinds of system the installed plugins can emulate are "
                                 "listed here, one a line.")
            return
        try:
            from talk_core.plugins import get_systems

            specs = get_systems()
        except Exception as exc:  # a broken plugin must not hide the help
            formatter.write_paragraph()
            formatter.write_text(f"(the installed kinds could not be listed: {exc})")
            return
        rows = [(name, _describe(spec)) for name, spec in sorted(specs.items())
                if _emulates(spec)]
        with formatter.section("Kinds (from the installed plugins)"):
            if rows:
                formatter.write_dl(rows)
            else:
                formatter.write_text("none: install a connector, e.g. pip install talk-invoiced")


def _emulates(spec: SystemSpec) -> bool:
    return spec.start_emulator is not None or spec.emulator is not None


def _describe(spec: SystemSpec) -> str:
    flags = [CREDENTIAL_FLAGS.get(o.name, o.name) for o in spec.emulator_credentials]
    takes = f"; takes {', '.join(flags)}" if flags else ""
    source = f" ({spec.plugin})" if spec.plugin else ""
    return f"{spec.label}{source}{takes}"


def env_name(kind: str, option: str) -> str:
    """The environment variable the printed talk.toml takes a secret from."""
    return f"{kind.upper()}_{option.upper()}"


@click.command(cls=EmulateCommand, short_help="Run a system's API emulator locally.")
@click.argument("kind", required=False)
@click.option("--port", default=0, show_default=True, help="Port on 127.0.0.1 (0: a free one).")
@click.option("--seed", is_flag=True, help="Start with a small sample of realistic records.")
@click.option("--records", type=click.IntRange(min=0), default=0, show_default=True,
              help="Fill with this many generated records before serving (customers, people, "
                   "addresses, products, orders or invoices with lines).")
@click.option("--random-seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="The same seed makes the same records.")
@click.option("--api-key", help="The API key the emulator demands (Invoiced, custom systems).")
@click.option("--client-id", help="The app's client id the emulator demands (Exact Online).")
@click.option("--client-secret", help="The app's client secret the emulator demands "
                                      "(Exact Online).")
@m.pass_context
@m.handle_errors
def emulate(ctx: m.Context, kind: str | None, port: int, seed: bool, records: int,
            random_seed: int, api_key: str | None, client_id: str | None,
            client_secret: str | None) -> None:
    """Run a system's API emulator on 127.0.0.1 until Ctrl-C.

    The emulator demands credentials: its public defaults (printed at start)
    unless given. With --records N it first fills itself with N generated
    records, split over the datatypes the system has (per 20: 4 customers,
    4 people, 1 address, 1 product, 3 orders or invoices and 7 lines); the
    same --random-seed makes the same records. At start it prints the URL,
    the credentials, what was generated and a talk.toml fragment.
    """
    specs = ctx.specs()
    kinds = sorted(name for name, spec in specs.items() if _emulates(spec))
    if kind is None:
        m.fail(f"name the kind of system to emulate: {', '.join(kinds) or 'none installed'}",
               m.EXIT_USAGE)
    spec = specs.get(kind)
    if spec is None:
        m.fail(f"unknown system kind {kind!r}; kinds with an emulator: "
               f"{', '.join(kinds) or 'none'}", m.EXIT_USAGE)
    if not _emulates(spec):
        m.fail(f"{spec.label} has no emulator", m.EXIT_USAGE)
    given = {name: value for name, value in (("api_key", api_key), ("client_id", client_id),
                                             ("client_secret", client_secret))
             if value is not None}
    takes = {o.name for o in spec.emulator_credentials}
    for name in given:
        if name not in takes:
            accepted = ", ".join(CREDENTIAL_FLAGS.get(n, n) for n in sorted(takes)) or "none"
            m.fail(f"the {spec.label} emulator takes no {CREDENTIAL_FLAGS[name]} "
                   f"(it takes: {accepted})", m.EXIT_USAGE)
    for name, value in given.items():
        if not value:
            m.fail(f"{CREDENTIAL_FLAGS[name]} must not be empty", m.EXIT_USAGE)
    if spec.start_emulator is None:
        if records:
            m.fail(f"the {spec.label} emulator cannot be filled with generated records",
                   m.EXIT_USAGE)
        assert spec.emulator is not None, "checked by _emulates"
        spec.emulator(port=port, seed=seed)
        return
    credentials = {o.name: str(given.get(o.name, o.default)) for o in spec.emulator_credentials}
    served: Served = (spec.start_emulator(port=port, credentials=credentials)
                      if credentials else spec.start_emulator(port=port))
    try:
        if records and served.fill is None:
            m.fail(f"the {spec.label} emulator cannot be filled with generated records",
                   m.EXIT_USAGE)
        click.echo(f"{spec.label} emulator on {served.url}")
        _credentials(spec.emulator_credentials, credentials, given)
        if seed and served.seed is not None:
            served.seed()
            click.echo("Seeded with a small sample of realistic records.")
        if records:
            assert served.fill is not None
            started = time.perf_counter()
            made = served.fill(records, random_seed)
            took = time.perf_counter() - started
            click.echo(f"Generated {sum(made.values()):,} records in {took:.2f} s "
                       f"(random seed {random_seed}):")
            for datatype, count in made.items():
                click.echo(f"  {datatype:<18} {count:>9,}")
        _fragment(kind, spec, served.options(), given)
        click.echo("Ctrl-C stops it.", nl=True)
        serve_until_interrupted()
    finally:
        served.stop()


def _credentials(declared: tuple[Option, ...], values: dict[str, str],
                 given: dict[str, str]) -> None:
    """Each credential; a secret only when it is the emulator's public default."""
    for option in declared:
        value = values[option.name]
        if option.secret and option.name in given and value != option.default:
            click.echo(f"  {option.name}: the one given to {CREDENTIAL_FLAGS[option.name]} "
                       "(not shown)")
        else:
            note = " (public default)" if value == option.default else ""
            click.echo(f"  {option.name}: {value}{note}")


def _fragment(kind: str, spec: SystemSpec, options: dict[str, Any],
              given: dict[str, str]) -> None:
    """A talk.toml table reaching the emulator, its secrets from the environment."""
    secret = {o.name for o in spec.options if o.secret}
    lines = [f"[systems.{kind}]", f"connector = {toml_value(kind)}"]
    exports = []
    for option, value in options.items():
        if option in secret:
            variable = env_name(kind, option)
            lines.append(f'{option} = "${{{variable}}}"')
            shown = "<the value given>" if option in given else str(value)
            exports.append(f"export {variable}={shown}")
        else:
            lines.append(f"{option} = {toml_value(value)}")
    click.echo("\ntalk.toml:\n")
    click.echo("\n".join(lines))
    if exports:
        click.echo("\nwith, in the environment:\n")
        click.echo("\n".join(exports))
    click.echo()

