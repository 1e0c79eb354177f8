"""Credentials stay secret, the state file stays private, and TLS stays on.

End to end over the three emulators (an Invoiced API key, Exact Online's
client secret with access and refresh tokens rotated during the run, a
custom REST API's key and bearer token): every output of the command line
at every log level, the state file's tables other than ``notes`` (tokens), the
reprs of every talk object that holds a credential and the exceptions of
failing requests are searched for every credential (and for the Basic-auth
form of the Invoiced key). Non-loopback transport is checked with
``responses``, so nothing leaves the machine.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from click.testing import CliRunner

from talk_core.config import Secret, load_config
from talk_core.errors import ConfigError, ConnectorError, TalkError, TransientError
from talk_core.http import HttpClient
from talk_core.plugins import get_systems
from talk_core.store.sqlite import SQLiteStore
from talk_core.sync.engine import Sync
from talk_core.system import SystemContext
from talk_custom import CustomEmulator
from talk_exactonline.emulator import ExactEmulator
from talk_invoiced.emulator import InvoicedEmulator

INVOICED_KEY = "sk_inv_7f3a9c1e5b2d48"
EXACT_SECRET = "exact-client-secret-5e1b77c0"
CRM_TOKEN = "crm-bearer-9d4c2a61f0"
CRM_KEY = "crm-apikey-0b8e3f52aa"

CONFIG = """
[state]
path = "private/state.db"

[systems.billing]
connector = "invoiced"
base_url = "{billing}"
api_key = "${{BILLING_KEY}}"
page_size = 2

[systems.crm]
connector = "customcrm"
base_url = "{crm}"
api_key = "${{CRM_KEY}}"
token = "${{CRM_TOKEN}}"
page_size = 2

[systems.erp]
connector = "exactonline"
base_url = "{erp}"
client_id = "talk-emulator"
client_secret = "${{EXACT_SECRET}}"
refresh_token = "${{EXACT_REFRESH}}"
"""

TALK_MODULES = ("talk_core", "talk_invoiced", "talk_exactonline", "talk_custom")


def basic(key: str) -> list[str]:
    """Invoiced's Basic auth: the key as user name and no password, base64-encoded."""
    encoded = base64.b64encode(f"{key}:".encode()).decode()
    return [encoded, encoded.rstrip("=")]


class World:
    """Three emulators with credentials of their own and a ``talk.toml`` pointing at them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.billing = InvoicedEmulator(api_key=INVOICED_KEY).start()
        self.crm = CustomEmulator("customcrm", api_key=CRM_KEY, token=CRM_TOKEN).start()
        self.erp = ExactEmulator(minutely_limit=100_000, min_refresh_age=0).start()
        self.erp.state.client_secret = EXACT_SECRET
        self.first_refresh = self.erp.refresh_token()
        self.crm.seed()
        self.billing.account.create_customer({"name": "Acme AS", "type": "company",
                                              "city": "Oslo", "country": "NO"})
        self.erp.state.create("Accounts", {"Name": "Bakkerij Korst", "City": "Utrecht",
                                           "Country": "NL"})
        (root / "talk.toml").write_text(CONFIG.format(billing=self.billing.url,
                                                      crm=self.crm.url, erp=self.erp.url))

    @property
    def state_path(self) -> Path:
        return self.root / "private" / "state.db"

    def env(self, **override: str) -> dict[str, str]:
        return {"BILLING_KEY": INVOICED_KEY, "CRM_KEY": CRM_KEY, "CRM_TOKEN": CRM_TOKEN,
                "EXACT_SECRET": EXACT_SECRET, "EXACT_REFRESH": self.first_refresh,
                "TALK_CONFIG": str(self.root / "talk.toml"), **override}

    def secrets(self) -> dict[str, str]:
        """Every credential in play, named: configured ones and every token Exact issued."""
        found = {"Invoiced API key": INVOICED_KEY, "Exact client secret": EXACT_SECRET,
                 "custom bearer token": CRM_TOKEN, "custom API key": CRM_KEY,
                 "first Exact refresh token": self.first_refresh}
        for n, encoded in enumerate(basic(INVOICED_KEY)):
            found[f"Invoiced Basic auth {n}"] = encoded
        state = self.erp.state
        with state.lock:
            for n, token in enumerate([*state.grants, *state.old_refresh_tokens]):
                found[f"Exact refresh token {n}"] = token
            for n, token in enumerate(state.access_tokens):
                found[f"Exact access token {n}"] = token
        return found

    def stop(self) -> None:
        for emulator in (self.billing, self.crm, self.erp):
            emulator.stop()


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TALK_LOG_LEVEL", raising=False)
    w = World(tmp_path)
    for name, value in w.env().items():
        monkeypatch.setenv(name, value)
    yield w
    w.stop()


def assert_clean(text: str, secrets: dict[str, str], where: str) -> None:
    leaked = sorted(name for name, value in secrets.items() if value and value in text)
    assert not leaked, f"{where} shows {', '.join(leaked)}"


def talk_process(world: World, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``talk`` as cron runs it: a process of its own, real stderr."""
    full = {k: v for k, v in os.environ.items() if k != "TALK_LOG_LEVEL"}
    full.update(world.env(**env))
    return subprocess.run([sys.executable, "-m", "talk_core.cli", *args], cwd=world.root,
                          env=full, capture_output=True, text=True, timeout=120)


def talk(*args: str, **env: str) -> tuple[int, str, str]:
    from talk_core.cli.main import cli

    result = CliRunner().invoke(cli, list(args), env=env or None, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def state_tables_but_tokens(path: Path) -> str:
    """Every row of every table of the state file except ``notes`` (tokens), as text."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'notes'")]
        assert {"links", "dead_letters", "runs", "inbox"} <= set(names)
        return "\n".join(f"{name}: {row!r}" for name in names
                         for row in conn.execute(f'SELECT * FROM "{name}"'))
    finally:
        conn.close()


# -- the command line, end to end ------------------------------------------------------


def test_no_credential_in_any_output_of_runs_at_every_log_level(world: World) -> None:
    # mid-run, Exact refuses the access token once: talk refreshes it during the run
    world.erp.fail("sync/CRM/Accounts", 401, times=1)
    # and a create is refused: the error reaches the log, a dead letter and stdout
    world.erp.fail("crm/Accounts", 400, method="POST", times=1)
    outputs: dict[str, str] = {}

    verbose = talk_process(world, "-vv", "sync")
    assert verbose.returncode in (0, 1), verbose.stderr
    assert "DEBUG talk.http" in verbose.stderr  # debug lines were really written
    assert world.erp.state.refreshes >= 2, "no token refresh happened during the run"
    outputs["talk -vv sync: stdout"] = verbose.stdout
    outputs["talk -vv sync: stderr"] = verbose.stderr
    assert "Injected fault" in verbose.stdout  # the refusal, as the run reported it
    for args in (["deadletters"], ["deadletters", "--json"]):
        code, out, err = talk("-vv", *args)
        assert code == 0 and "Injected fault" in out, (args, out, err)
        outputs[f"talk -vv {' '.join(args)} after the first run"] = out + err

    # an edit on both sides for a conflict, then a second run at DEBUG through the environment
    [acme] = [c for c in world.billing.account.customers.values() if c["name"] == "Acme AS"]
    [acme_crm] = [c for c in world.crm.records("customer") if c["name"] == "Acme AS"]
    world.billing.account.update_customer(acme["id"], {"city": "Bergen"})
    world.crm.edit("customer", str(acme_crm["id"]), city="Tromsø")
    debug = talk_process(world, "sync", "--json", TALK_LOG_LEVEL="DEBUG")
    assert debug.returncode in (0, 1), debug.stderr
    assert "DEBUG talk." in debug.stderr
    json.loads(debug.stdout)
    outputs["TALK_LOG_LEVEL=DEBUG talk sync --json: stdout"] = debug.stdout
    outputs["TALK_LOG_LEVEL=DEBUG talk sync --json: stderr"] = debug.stderr

    for args in (["status", "--json"], ["status"], ["links"], ["links", "--json"],
                 ["deadletters"], ["deadletters", "--json"], ["conflicts"],
                 ["conflicts", "--json"]):
        code, out, err = talk("-vv", *args, TALK_LOG_LEVEL="DEBUG")
        assert code == 0, (args, out, err)
        outputs[f"talk -vv {' '.join(args)}: stdout"] = out
        outputs[f"talk -vv {' '.join(args)}: stderr"] = err
    assert json.loads(outputs["talk -vv conflicts --json: stdout"])

    secrets = world.secrets()
    assert sum(name.startswith("Exact access token") for name in secrets) >= 2
    for where, text in outputs.items():
        assert_clean(text, secrets, where)
    assert_clean(state_tables_but_tokens(world.state_path), secrets,
                 "the state file (tables other than notes)")


WRONG = {"BILLING_KEY": "sk_inv_wrong_31c5d0aa", "CRM_TOKEN": "crm-bearer-wrong-77ab",
         "CRM_KEY": "crm-apikey-wrong-41cd", "EXACT_SECRET": "exact-secret-wrong-9e0f"}


@pytest.mark.parametrize(("refused", "said"), [
    (("BILLING_KEY",), "Invoiced refused the credentials (401 Invalid API key"),
    (("CRM_TOKEN", "CRM_KEY"), "crm refused the credentials (401 missing or wrong API key"),
    (("EXACT_SECRET",), "talk auth exactonline"),
])
def test_rejected_credentials_exit_6_without_showing_them(world: World,
                                                          refused: tuple[str, ...],
                                                          said: str) -> None:
    wrong = {name: WRONG[name] for name in refused}
    proc = talk_process(world, "-vv", "sync", **wrong)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 6, output
    assert said in output
    assert "reading failed" not in output, "a refusal stops the run, not one datatype"
    secrets = {**world.secrets(), **{f"rejected {k}": v for k, v in wrong.items()}}
    if "BILLING_KEY" in wrong:
        secrets.update({f"rejected Basic auth {n}": v
                        for n, v in enumerate(basic(wrong["BILLING_KEY"]))})
    assert_clean(proc.stdout, secrets, "stdout of a run with rejected credentials")
    assert_clean(proc.stderr, secrets, "stderr of a run with rejected credentials")
    assert_clean(state_tables_but_tokens(world.state_path), secrets, "the state file")


def test_server_errors_are_reported_without_credentials(world: World,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(HttpClient, "_wait", lambda *_args: None)  # retries without waiting
    world.billing.faults.server_error = 1.0
    world.crm.fail(500, times=1000, body={"error": {"message": "database is down"}})
    world.erp.fail("api/v1", 503, times=1000)
    code, out, err = talk("-vv", "sync", "--json")
    # 5xx after the retries: each system is unavailable for the run (exit code 7)
    assert code == 7, out + err
    result = json.loads(out)
    assert len(result["unavailable"]) == 3, result["unavailable"]
    assert "database is down" in out and "500" in out and "503" in out
    secrets = world.secrets()
    assert_clean(out, secrets, "sync --json after server errors")
    assert_clean(err, secrets, "the debug log after server errors")
    assert_clean(state_tables_but_tokens(world.state_path), secrets, "the state file")


# -- reprs and exceptions ------------------------------------------------------------


def talk_objects(*roots: Any) -> Iterator[Any]:
    """Every object of a talk class reachable from ``roots`` through talk objects and containers.

    Objects of other libraries (sqlite3, requests' session but for its
    ``auth``) are not entered: their reprs are theirs, the walk checks talk's.
    """
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, str | bytes | int | float | bool | type(None)):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
            continue
        if isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
            continue
        if isinstance(obj, requests.Session):
            stack.append(obj.auth)  # where the Basic pair and Exact's BearerAuth live
            continue
        module = type(obj).__module__ or ""
        if not module.startswith(TALK_MODULES) or (callable(obj) and not hasattr(obj, "__dict__")):
            continue
        yield obj
        fields = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
        for name in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, name):
                fields[name] = getattr(obj, name)
        stack.extend(fields.values())


def exception_texts(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


def test_reprs_of_everything_holding_a_credential_hide_it(world: World) -> None:
    config = load_config(world.root / "talk.toml")
    assert repr(Secret(INVOICED_KEY)) == "'***'"
    with Sync(config) as sync:
        result = sync.run()
        assert result.status == "done", result.message
        checked = list(talk_objects(config, sync, sync.systems))
        kinds = {type(o).__name__ for o in checked}
        assert {"Config", "SystemConfig", "Sync", "SystemInstance", "InvoicedConnector",
                "InvoicedApi", "HttpClient", "ExactConnector", "TokenManager", "TokenStore",
                "BearerAuth", "RateBudget", "RestConnector"} <= kinds, kinds
        # the token manager holds a live access token: the walk sees what it must not show
        erp = sync.systems["erp"].connector
        assert erp.tokens._token and erp.tokens._token["access_token"] in \
            world.erp.state.access_tokens
        contexts = [SystemContext(name, sync.store, world.root) for name in sync.systems]
        secrets = world.secrets()
        for obj in [*checked, *contexts]:
            assert_clean(repr(obj), secrets, f"repr of {type(obj).__name__}")
            assert_clean(str(obj), secrets, f"str of {type(obj).__name__}")


def test_exceptions_of_failing_requests_hide_credentials(world: World,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setattr(HttpClient, "_wait", lambda *_args: None)
    store = SQLiteStore(world.state_path)
    raised: list[BaseException] = []

    def connector(name: str, **options: Any) -> Any:
        config = load_config(world.root / "talk.toml")
        sc = config.systems[name]
        spec = get_systems()[sc.connector]
        return spec.factory(options={**sc.options, **options},
                            context=SystemContext(name, store, world.root))

    def attempt(call: Any) -> None:
        with pytest.raises(TalkError) as info:
            call()
        raised.append(info.value)

    billing = connector("billing")
    wrong_billing = connector("billing", api_key=Secret("sk_inv_wrong_31c5d0aa"))
    crm = connector("crm")
    erp = connector("erp")
    closed = connector("billing", base_url="http://127.0.0.1:9")
    attempt(lambda: list(wrong_billing.read("customers", None)))  # 401
    attempt(lambda: billing.create("customers", {"name": ""}, key="k1"))  # 400
    world.billing.faults.server_error = 1.0
    attempt(lambda: list(billing.read("customers", None)))  # 500 after retries
    world.billing.faults.clear()
    attempt(lambda: list(closed.read("customers", None)))  # connection refused
    world.crm.fail(500, times=100)
    attempt(lambda: list(crm.read("customer", None)))
    world.crm.faults.clear()
    attempt(lambda: crm.create("customer", {"email": "x@example.com"}, key="k2"))
    world.erp.fail("crm/Accounts", 400, method="POST")
    attempt(lambda: erp.create("Accounts", {"Name": "X"}, key="k3"))
    world.erp.state.client_secret = "rotated-by-someone-else"
    world.erp.state.access_tokens.clear()
    attempt(lambda: list(erp.read("Accounts", None)))  # the refresh is refused
    assert {type(e).__name__ for e in raised} >= {"HttpStatusError", "SystemUnavailable",
                                                   "Unreachable", "ExactAuthError"}
    assert any(isinstance(e, TransientError) for e in raised)
    assert all(isinstance(e, ConnectorError) for e in raised)
    secrets = {**world.secrets(), "rejected key": "sk_inv_wrong_31c5d0aa",
               **{f"rejected Basic {n}": v for n, v in enumerate(basic("sk_inv_wrong_31c5d0aa"))}}
    for exc in raised:
        text = exception_texts(exc) + repr(getattr(exc, "body", None))
        assert_clean(text, secrets, f"{type(exc).__name__}: {exc}")
    for c in (billing, wrong_billing, crm, erp, closed):
        c.close()
    store.close()


# -- file modes ------------------------------------------------------------------------------


def test_state_files_are_private_even_under_a_permissive_umask(world: World) -> None:
    old = os.umask(0o000)
    try:
        with Sync(load_config(world.root / "talk.toml")) as sync:
            assert sync.run().status == "done"
            # a refresh during a dry run is held in the private side file (the store is held)
            refreshes = world.erp.state.refreshes
            world.erp.fail("sync/CRM/Accounts", 401, times=1)
            assert sync.run(dry_run=True).status == "done"
            assert world.erp.state.refreshes > refreshes
    finally:
        os.umask(old)
    folder = world.state_path.parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    expected = {"state.db", "state.db.lock", "state.db.exact-token.lock", "state.db.notes"}
    assert expected <= set(files), files
    assert {name: mode for name, mode in files.items() if mode != 0o600} == {}
    store = SQLiteStore(world.state_path)  # WAL and shared memory exist while it is open
    try:
        sides = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()
                 if p.name.endswith(("-wal", "-shm"))}
        assert set(sides) == {"state.db-wal", "state.db-shm"}
        assert set(sides.values()) == {0o600}
    finally:
        store.close()


def test_a_state_file_readable_by_others_is_made_private_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    os.chmod(path, 0o644)
    # the command line's logging stops "talk" records at its own handler: listen directly
    logger = logging.getLogger("talk.state")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="talk.state"):
            SQLiteStore(path).close()
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert "readable by others (mode 644); it is now 0600" in caplog.text
            caplog.clear()
            SQLiteStore(path).close()
            assert caplog.text == ""  # once private, no more warnings
    finally:
        logger.removeHandler(caplog.handler)


# -- TLS --------------------------------------------------------------------------------------

REMOTE = {"invoiced": {"base_url": "https://api.invoiced.com", "api_key": Secret(INVOICED_KEY)},
          "customcrm": {"base_url": "https://crm.example.com/api", "token": Secret(CRM_TOKEN),
                        "api_key": Secret(CRM_KEY)},
          "exactonline": {"base_url": "https://start.exactonline.nl", "client_id": "cid",
                          "client_secret": Secret(EXACT_SECRET), "division": 1,
                          "refresh_token": Secret("first-refresh")}}


def remote_connector(kind: str, tmp_path: Path, **options: Any) -> Any:
    spec = get_systems()[kind]
    store = SQLiteStore(tmp_path / f"{kind}.db")
    return spec.factory(options={**REMOTE[kind], **options},
                        context=SystemContext(kind, store, tmp_path))


def answer_everything(rsps: responses.RequestsMock) -> None:
    token = {"access_token": "access-1", "token_type": "bearer", "expires_in": "600",
             "refresh_token": "refresh-1"}
    rsps.post("https://start.exactonline.nl/api/oauth2/token", json=token)
    rsps.get("https://start.exactonline.nl/api/v1/1/sync/CRM/Accounts", json={"d": {
        "results": []}})
    rsps.get("https://start.exactonline.nl/api/v1/1/sync/Deleted", json={"d": {"results": []}})
    rsps.get("https://api.invoiced.com/customers", json=[])
    rsps.get("https://api.invoiced.com/events", json=[])
    rsps.get("https://crm.example.com/api/customers", json={"data": [], "has_more": False})


@pytest.mark.parametrize("bundle_env", [None, ""])
@pytest.mark.parametrize(("kind", "datatype"), [("invoiced", "customers"),
                                                ("customcrm", "customer"),
                                                ("exactonline", "Accounts")])
def test_every_request_to_a_remote_host_verifies_tls(
        kind: str, datatype: str, bundle_env: str | None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a CA bundle in the environment requests verifies against its own; an empty
    ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` does not turn verification off."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if bundle_env is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, bundle_env)
    connector = remote_connector(kind, tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        answer_everything(rsps)
        list(connector.read(datatype, None))
        assert rsps.calls, "no request was made"
        assert [c.request.req_kwargs["verify"] for c in rsps.calls] == [True] * len(rsps.calls)
    connector.close()


@pytest.mark.parametrize("kind", ["invoiced", "customcrm", "exactonline"])
def test_plain_http_to_a_remote_host_is_refused(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="plain http would send credentials in clear") as info:
        remote_connector(kind, tmp_path, base_url="http://api.example.com")
    assert "http://api.example.com" in str(info.value)


@pytest.mark.parametrize("kind", ["invoiced", "customcrm", "exactonline"])
def test_the_refusal_of_plain_http_names_the_file_and_system(kind: str, tmp_path: Path) -> None:
    from talk_core import assemble

    lines = [f'connector = "{kind}"', 'base_url = "http://api.example.com"']
    lines += [f'{k} = "${{SECRET}}"' if isinstance(v, Secret) else f"{k} = {json.dumps(v)}"
              for k, v in REMOTE[kind].items() if k != "base_url"]
    (tmp_path / "talk.toml").write_text("[systems.remote]\n" + "\n".join(lines) + "\n")
    config = load_config(tmp_path / "talk.toml", env={"SECRET": "s3cret-value"})
    store = SQLiteStore(tmp_path / "state.db")
    try:
        with pytest.raises(ConfigError) as info:
            assemble.instances(config, store)
    finally:
        store.close()
    assert str(info.value).startswith(f"{tmp_path / 'talk.toml'}: [systems.remote] ")
    assert "plain http" in str(info.value) and "s3cret-value" not in str(info.value)


@pytest.mark.parametrize("kind", ["invoiced", "customcrm", "exactonline"])
@pytest.mark.parametrize("key", ["verify", "verify_ssl", "ssl_verify", "tls_verify", "insecure"])
def test_no_option_turns_tls_verification_off(kind: str, key: str) -> None:
    from talk_core.config import parse_config

    system = {"connector": kind, **{k: v for k, v in REMOTE[kind].items()
                                    if not isinstance(v, Secret)}, key: False}
    system.update({k: "${SECRET}" for k, v in REMOTE[kind].items() if isinstance(v, Secret)})
    with pytest.raises(ConfigError, match=f"{key}: unknown option"):
        parse_config({"systems": {"x": system}}, env={"SECRET": "s3cret-value"})
    # and no connector declares an option that sounds like one
    words = ("verify", "insecure", "ssl", "tls", "cert")
    assert not [o.name for o in get_systems()[kind].options
                if any(w in o.name.lower() for w in words)]


def test_the_client_refuses_unverified_tls_to_a_remote_host() -> None:
    with pytest.raises(ConfigError, match="TLS verification cannot be turned off"):
        HttpClient("https://api.example.com", verify=False)
    assert HttpClient("https://api.example.com").session.verify is True
    HttpClient("http://127.0.0.1:8080", verify=False)  # this machine only


def test_a_next_link_to_plain_http_on_the_same_host_is_not_followed(tmp_path: Path) -> None:
    connector = remote_connector("invoiced", tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get("https://api.invoiced.com/customers", json=[{"id": 1, "name": "A"}],
                 headers={"Link": '<http://api.invoiced.com/customers?page=2>; rel="next"'})
        rsps.get("https://api.invoiced.com/events", json=[])
        follow = rsps.get("http://api.invoiced.com/customers", json=[])
        with pytest.raises(ConnectorError, match=r"refusing to follow a link to another host "
                                                 r"or scheme: http://api\.invoiced\.com"):
            list(connector.read("customers", None))
        assert follow.call_count == 0
    connector.close()


@pytest.mark.parametrize("target", ["https://elsewhere.example.org/api/customers",
                                    "http://crm.example.com/api/customers"])
def test_a_redirect_off_the_api_is_not_followed_with_the_credentials(
        target: str, tmp_path: Path) -> None:
    connector = remote_connector("customcrm", tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get("https://crm.example.com/api/customers", status=302,
                 headers={"Location": target})
        moved = rsps.get(target.split("?")[0], json={"data": [], "has_more": False})
        with pytest.raises(ConnectorError, match="refusing to follow a redirect") as info:
            list(connector.read("customer", None))
        assert moved.call_count == 0
        assert CRM_KEY not in str(info.value) and CRM_TOKEN not in str(info.value)
    connector.close()


def test_a_redirect_within_the_api_is_followed(tmp_path: Path) -> None:
    connector = remote_connector("customcrm", tmp_path)
    with responses.RequestsMock() as rsps:
        rsps.get("https://crm.example.com/api/customers", status=301,
                 headers={"Location": "https://crm.example.com/api/v2/customers"})
        moved = rsps.get("https://crm.example.com/api/v2/customers",
                         json={"data": [], "has_more": False})
        assert list(connector.read("customer", None)) == []
        assert moved.call_count == 1
        assert moved.calls[0].request.headers["X-API-Key"] == CRM_KEY
    connector.close()

