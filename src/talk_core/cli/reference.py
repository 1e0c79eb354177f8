"""Writes docs/cli.md from the commands' own help, so the reference never drifts."""

from __future__ import annotations

import click

from talk_core.cli.main import cli


def reference() -> str:
    lines = ["# Command reference", "",
             "Generated from `talk --help` and each command's help "
             "(`python -m talk_core.cli.reference > docs/cli.md`).", ""]
    ctx = click.Context(cli, info_name="talk", terminal_width=100, max_content_width=100,
                        help_option_names=["-h", "--help"])
    lines += ["## talk", "", "```", cli.get_help(ctx).rstrip(), "```", ""]
    for name in sorted(cli.list_commands(ctx)):
        command = cli.get_command(ctx, name)
        assert command is not None
        sub = click.Context(command, info_name=name, parent=ctx)
        lines += [f"## talk {name}", "", "```", command.get_help(sub).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    click.echo(reference(), nl=False)
