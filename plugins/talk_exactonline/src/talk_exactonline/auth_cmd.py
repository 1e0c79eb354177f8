"""``talk auth exactonline``: a person authorises talk once; the token chain does the rest.

Exact has no client-credentials grant, so the first tokens come from the
authorization-code flow: talk prints the address to open, then either
catches the redirect on a loopback port or takes the code pasted back.
"""

from __future__ import annotations

import http.server
import secrets
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import click

from talk_core.cli.exits import handle_errors
from talk_core.system import SystemContext


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
    from talk_exactonline.system import DEFAULT_REDIRECT, token_manager

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
    @click.pass_obj
    @handle_errors
    def exactonline(obj: Any, system: str, code: str | None, no_listen: bool,
                    timeout: float) -> None:
        """Run Exact Online's OAuth2 authorization-code flow for one system."""
        from talk_core.assemble import open_store

        config = obj.config()
        sc = config.systems.get(system)
        if sc is None or sc.connector != "exactonline":
            raise click.UsageError(f"no Exact Online system named {system!r} in the config")
        store = open_store(config)
        try:
            authorize(dict(sc.options), SystemContext(system, store, config.base_dir),
                      code=code, listen=not no_listen, timeout=timeout)
        finally:
            store.close()
