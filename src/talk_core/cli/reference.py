"""Writes docs/cli.md from the commands' own help, so the reference never drifts."""

from __future__ import annotations

import click

from talk_core.cli.main import EXIT_CODES, cli


def exit_code_table() -> list[str]:
    """The exit codes as the README and docs/cli.md list them (``EXIT_CODES``)."""
    return ["| code | meaning |", "|---|---|",
            *(f"| {code} | {text} |" for code, text in EXIT_CODES)]

#: Set in the click context's ``meta`` while the reference is written.
REFERENCE = "talk.reference"


def reference() -> str:
    """The core commands only: what plugins add depends on what is installed."""
    from talk_core.cli import demo_cmd, inspect_cmds, meta_cmds, sync_cmd

    core = {c.name: c for m in (sync_cmd, inspect_cmds, meta_cmds, demo_cmd)
            for c in m.COMMANDS}
    group = click.Group("talk", commands=core, params=cli.params, help=cli.help)
    ctx = click.Context(group, info_name="talk", terminal_width=100, max_content_width=100,
                        help_option_names=["-h", "--help"])
    ctx.meta[REFERENCE] = True  # help that lists installed plugins' things leaves them out
    lines = ["# Command reference", "",
             "Generated from `talk --help` and each command's help "
             "(`python -m talk_core.cli.reference > docs/cli.md`).", ""]
    lines += ["## talk", "", "```", group.get_help(ctx).rstrip(), "```", "",
              "Plugins add commands of their own (`talk auth exactonline`); `talk --help` "
              "lists them.", "",
              "`--config`, `-v` and `-q` may come before or after the command's name: "
              "`talk sync --config x.toml` is `talk --config x.toml sync`.", "",
              "## Exit codes", "", *exit_code_table(), ""]
    for name in sorted(core):
        command = core[name]
        sub = click.Context(command, info_name=name, parent=ctx)
        lines += [f"## talk {name}", "", "```", command.get_help(sub).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    click.echo(reference(), nl=False)
