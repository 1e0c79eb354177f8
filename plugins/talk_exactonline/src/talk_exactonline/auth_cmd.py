"""``talk auth exactonline``: a person authorises talk once; the token chain does the rest.

Exact has no client-credentials grant, so the first tokens come from the
authorization-code flow: talk prints the address to open, then either
catches the redirect on a loopback port or takes the code pasted back.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from talk_core.cli.exits import EXIT_AUTH, fail, handle_errors
from talk_core.system import SystemContext
from talk_exactonline.oauth import ExactAuthError


def _catch_code(redirect_uri: str, state: str, timeout: float) -> str | None:
    """Listen on the loopback redirect address for Exact's redirect with the code."""
    parts = urlsplit(redirect_uri)
    caught: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            if query.get("state") == state and query.get("code"):
                caught["code"] = unquote(query["code"])
                message = b"talk is authorised; you can close this window."
                self.send_response(200)
            else:
                message = b"unexpected request"
                self.send_response(400)
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = http.server.HTTPServer((parts.hostname or "127.0.0.1", parts.port or 80), Handler)
    server.timeout = timeout
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    thread.join(timeout + 1)
    server.server_close()
    return caught.get("code")


def authorize(options: dict[str, Any], context: SystemContext, *, code: str | None,
              listen: bool, timeout: float, echo: Any = click.echo) -> None:
    from talk_exactonline.oauth import DEFAULT_REDIRECT, token_manager

    manager = token_manager(options, context)
    redirect_uri = str(options.get("redirect_uri") or DEFAULT_REDIRECT)
    try:
        if code is None:
            state = secrets.token_urlsafe(16)
            echo("Open this address, log in to Exact Online and allow talk:")
            echo("  " + manager.authorization_url(redirect_uri, state))
            host = urlsplit(redirect_uri).hostname or ""
            if listen and host in ("127.0.0.1", "localhost"):
                echo(f"Waiting for the redirect to {redirect_uri} ...")
                code = _catch_code(redirect_uri, state, timeout)
            if code is None:
                code = unquote(str(click.prompt("Paste the code from the redirect address")))
        manager.authorize(code.strip(), redirect_uri)
    finally:
        manager.close()
    echo(f"Exact Online system {context.name!r} is authorised; its tokens are in the state.")


def forget_budget_of(options: dict[str, Any], context: SystemContext,
                  echo: Any = click.echo) -> None:
    """Forget the day's request budget the last run remembered for this system."""
    from talk_exactonline.budget_memory import BudgetMemory
    from talk_exactonline.oauth import TokenStore

    memory = BudgetMemory(TokenStore(context.name, context.store),
                          client_id=str(options.get("client_id") or ""),
                          base_url=str(options.get("base_url") or ""))
    note = memory.forget()
    if note is None:
        echo(f"No request budget is remembered for Exact Online system {context.name!r}; "
             "nothing to forget.")
        return
    left, reset = note.get("daily_remaining"), note.get("daily_reset")
    was = ""
    if isinstance(left, int) and isinstance(reset, int | float):
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(reset)))
        was = f" ({left} calls left until {when})"
    echo(f"Forgot the daily request budget remembered for Exact Online system "
         f"{context.name!r}{was}; the next run learns it afresh from Exact's first answer.")


def register(cli: click.Group) -> None:
    """Add ``talk auth exactonline``, creating the ``auth`` group if no plugin has yet."""
    group = cli.commands.get("auth") if hasattr(cli, "commands") else None
    if not isinstance(group, click.Group):
        group = click.Group("auth", help="Authorise talk with systems that need a person's OK.")
        cli.add_command(group)

    @group.command("exactonline")
    @click.option("--system", "system", required=True, help="The [systems.NAME] to authorise.")
    @click.option("--code", default=None, help="An authorisation code already obtained.")
    @click.option("--no-listen", is_flag=True, help="Do not listen for the redirect; ask for "
                  "the code instead.")
    @click.option("--timeout", default=300.0, show_default=True,
                  help="Seconds to wait for the redirect.")
    @click.option("--forget-budget", is_flag=True,
                  help="Do not authorise: forget the daily request budget talk remembers "
                       "for the system (after Exact reset or raised the limit early).")
    @click.pass_obj
    @handle_errors
    def exactonline(obj: Any, system: str, code: str | None, no_listen: bool,
                    timeout: float, forget_budget: bool) -> None:
        """Run Exact Online's OAuth2 authorization-code flow for one system.

        A code Exact refuses (mistyped, used already or expired) exits with 6.
        With --forget-budget, nothing is authorised: talk forgets the day's
        request budget it remembered from the last run, which otherwise
        stops a run before its first request until the announced reset (a run
        after that reset goes on by itself).
        """
        from talk_core.assemble import open_store

        config = obj.config()
        sc = config.systems.get(system)
        if sc is None or sc.connector != "exactonline":
            raise click.UsageError(f"no Exact Online system named {system!r} in the config")
        store = open_store(config)
        if forget_budget:
            try:
                forget_budget_of(dict(sc.options), SystemContext(system, store, config.base_dir))
            finally:
                store.close()
            return
        try:
            authorize(dict(sc.options), SystemContext(system, store, config.base_dir),
                      code=code, listen=not no_listen, timeout=timeout)
        except ExactAuthError as exc:
            fail(str(exc), EXIT_AUTH)  # a code refused: exit 6, as a refused token in a sync
        finally:
            store.close()
