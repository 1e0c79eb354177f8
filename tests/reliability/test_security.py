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



# -- secrets by value: echoed back, in token errors, with a line break -------------------------


def exact_error(value: str) -> str:
    return json.dumps({"error": {"code": "", "message": {"lang": "", "value": value}}})


def test_an_error_body_quoting_exacts_bearer_token_is_redacted_everywhere(world: World) -> None:
    """Exact's token rides on an auth object, not a header: it is redacted by its value."""
    world.erp.fail("crm/Accounts", 400, method="POST", times=1)
    fault = world.erp.faults[-1]
    quoted: list[str] = []
    never_sent = set(world.erp.state.access_tokens)  # issued with the first refresh token

    def echo_the_token(request: Any) -> None:
        if request.stage == "received" and request.method == "POST" and \
                "crm/Accounts" in request.path:
            with world.erp.state.lock:  # the tokens talk holds: one of them was sent
                tokens = [t for t in world.erp.state.access_tokens if t not in never_sent]
            quoted.extend(tokens)
            fault.body = exact_error("refused: Authorization: Bearer " + " / ".join(tokens))

    world.erp.tap.hook = echo_the_token
    proc = talk_process(world, "-vv", "sync")
    assert proc.returncode in (0, 1), proc.stderr
    assert quoted, "no write reached Exact"
    assert "refused: Authorization: Bearer ***" in proc.stdout, proc.stdout[-3000:]
    outputs = {"sync stdout": proc.stdout, "sync -vv stderr": proc.stderr}
    for args in (["deadletters"], ["deadletters", "--json"]):
        code, out, err = talk("-vv", *args)
        assert code == 0 and "Bearer ***" in out, (args, out, err)
        outputs[" ".join(args)] = out + err
    secrets = {k: v for k, v in world.secrets().items() if v not in never_sent}
    for where, text in outputs.items():
        assert_clean(text, secrets, where)
    assert_clean(state_tables_but_tokens(world.state_path), secrets, "the dead letters stored")


def test_a_token_endpoint_quoting_the_client_secret_and_refresh_token_is_redacted(
        tmp_path: Path) -> None:
    from talk_exactonline.oauth import ExactAuthError, TokenManager, TokenStore

    refresh = "first-refresh-6c1e0b7d"
    store = SQLiteStore(tmp_path / "state.db")
    manager = TokenManager("erp", TokenStore("erp", store), base_url="https://start.exactonline.nl",
                           client_id="cid", client_secret=Secret(EXACT_SECRET),
                           initial_refresh_token=refresh)
    with responses.RequestsMock() as rsps:
        rsps.post("https://start.exactonline.nl/api/oauth2/token", status=400, json={
            "error": "invalid_client",
            "error_description": f"client_secret {EXACT_SECRET} is wrong for refresh_token "
                                 f"{refresh}"})
        with pytest.raises(ExactAuthError) as info:
            manager.access_token()
    text = exception_texts(info.value)
    assert "client_secret *** is wrong for refresh_token ***" in text
    assert EXACT_SECRET not in text and refresh not in text
    manager.close()
    store.close()


@pytest.mark.parametrize("bad", [CRM_KEY + "\r", CRM_KEY + "\r\n", " " + CRM_KEY, CRM_KEY + " "])
def test_a_secret_with_a_line_break_or_spaces_is_refused_at_config_without_showing_it(
        world: World, bad: str) -> None:
    proc = talk_process(world, "-vv", "sync", CRM_KEY=bad)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "[systems.crm] api_key" in output and "line break" in output
    assert "Traceback" not in output and "InvalidHeader" not in output
    assert CRM_KEY not in output


def test_the_registry_redacts_url_and_base64_forms_and_json(tmp_path: Path) -> None:
    from talk_core import secrets as registry
    from talk_core.cli.output import emit_json

    registry.add("p@ss/w0rd+x")
    registry.add_basic("user", "b4sic-secret")
    pair = base64.b64encode(b"user:b4sic-secret").decode()
    text = f"a=p%40ss%2Fw0rd%2Bx b=p%40ss%2Fw0rd%2Bx c={pair} d=p@ss/w0rd+x"
    assert registry.redact(text) == "a=*** b=*** c=*** d=***"
    runner = CliRunner()
    with runner.isolation() as (out, _err, *_):
        emit_json({"error": "token p@ss/w0rd+x", "p@ss/w0rd+x": 1})
        shown = out.getvalue().decode()
    assert "p@ss/w0rd+x" not in shown and '"***": 1' in shown


# -- control characters in remote text ---------------------------------------------------------

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"


def test_escape_sequences_in_remote_text_are_shown_escaped(world: World) -> None:
    world.billing.account.create_customer({"name": f"Evil {TITLE}{CLEAR} Co", "type": "company",
                                           "city": "Oslo", "country": "NO"})
    world.crm.fail(400, method="POST", times=1000,
                   body={"error": {"message": f"bad name {TITLE}{CLEAR}\nFAKE: all good"}})
    outputs: dict[str, str] = {}
    proc = talk_process(world, "-vv", "sync")
    assert proc.returncode in (0, 1), proc.stderr
    outputs["sync stdout"], outputs["sync -vv stderr"] = proc.stdout, proc.stderr
    for args in (["deadletters"], ["deadletters", "--json"], ["links"], ["status"],
                 ["sync", "--dry-run"]):
        code, out, err = talk("-vv", *args)
        assert code in (0, 1), (args, out, err)
        outputs[" ".join(args)] = out + err
    for where, text in outputs.items():
        assert "\x1b" not in text and "\x07" not in text, where
        assert "\nFAKE" not in text, where
    assert "bad name \\x1b]0;pwned\\x07\\x1b[2J\\nFAKE: all good" in outputs["sync stdout"]
    assert "bad name \\x1b]0;pwned\\x07\\x1b[2J\\nFAKE" in outputs["deadletters"]
    assert "\\u001b]0;pwned\\u0007" in outputs["deadletters --json"]
    assert "dead letter: " in outputs["sync -vv stderr"] and \
        "\\x1b]0;pwned\\x07" in outputs["sync -vv stderr"]


def test_the_visible_helper() -> None:
    from talk_core.visible import visible

    assert visible(f"id{TITLE}\n\t\x9b2J\u2028") == "id\\x1b]0;pwned\\x07\\n\\t\\x9b2J\\u2028"
    assert visible("Tromsø, 10 ø") == "Tromsø, 10 ø"


# -- the state's files are the user's own ------------------------------------------------------

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user "
                               "(uid 65534) needs root")


def made_state(tmp_path: Path) -> Path:
    path = tmp_path / "st" / "state.db"
    SQLiteStore(path).close()
    return path


@root_only
def test_a_state_file_of_another_user_is_refused(tmp_path: Path) -> None:
    from talk_core.errors import StateError

    path = made_state(tmp_path)
    os.chown(path, 65534, 65534)
    before = path.read_bytes()
    with pytest.raises(StateError, match="belongs to another user") as info:
        SQLiteStore(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before and path.stat().st_uid == 65534


@root_only
def test_the_cli_refuses_a_state_file_of_another_user_with_exit_2(world: World) -> None:
    assert talk_process(world, "status").returncode == 0
    os.chown(world.state_path, 65534, 65534)
    proc = talk_process(world, "sync")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{world.state_path} belongs to another user" in proc.stderr
    assert "Traceback" not in proc.stderr


@root_only
def test_a_state_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    from talk_core.errors import StateError

    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o755)
    os.chown(folder, 65534, 65534)
    with pytest.raises(StateError, match="belongs to another user"):
        SQLiteStore(folder / "state.db")
    assert not (folder / "state.db").exists()


@root_only
def test_a_side_file_of_another_user_is_refused(tmp_path: Path) -> None:
    from talk_core.errors import StateError

    path = made_state(tmp_path)
    notes = Path(str(path) + ".notes")
    notes.write_text("")
    os.chmod(notes, 0o600)
    os.chown(notes, 65534, 65534)
    with pytest.raises(StateError, match=r"state\.db\.notes belongs to another user"):
        SQLiteStore(path)


@pytest.mark.parametrize("mode", [0o660, 0o606, 0o666])
def test_a_state_file_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    from talk_core.errors import StateError

    path = made_state(tmp_path)
    os.chmod(path, mode)
    with pytest.raises(StateError, match=f"may be written by other users \\(mode {mode:03o}\\)"):
        SQLiteStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode  # not touched


@pytest.mark.parametrize("side", ["", ".notes", "-wal", ".lock"])
def test_a_symlink_at_the_state_path_or_a_side_file_is_refused(tmp_path: Path,
                                                               side: str) -> None:
    from talk_core.errors import StateError

    path = made_state(tmp_path) if side else tmp_path / "st" / "state.db"
    path.parent.mkdir(exist_ok=True, mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    os.symlink(victim, str(path) + side)
    with pytest.raises(StateError, match="symbolic link") as info:
        SQLiteStore(path)
    assert str(path) + side in str(info.value)
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_the_notes_file_is_opened_without_following_a_link(tmp_path: Path) -> None:
    from talk_core.errors import StateError
    from talk_core.store.held_notes import FileHeldNotes

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / "state.db.notes")
    with pytest.raises(StateError, match="symbolic link"):
        FileHeldNotes(str(tmp_path / "state.db.notes")).add(("x", "token", "{}", "now"))
    assert victim.read_text() == "precious\n"


def test_a_new_state_directory_is_0700_and_an_open_one_is_tightened_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    old = os.umask(0o000)
    try:
        SQLiteStore(tmp_path / "new" / ".talk" / "state.db").close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new" / ".talk").stat().st_mode) == 0o700
    folder = tmp_path / "open" / ".talk"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o770)
    logger = logging.getLogger("talk.state")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="talk.state"):
            SQLiteStore(folder / "state.db").close()
    finally:
        logger.removeHandler(caplog.handler)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "could be read or written by others (mode 770); it is now 700" in caplog.text


@pytest.mark.parametrize(("name", "mode"), [("shared", 0o777), ("shared", 0o770),
                                            ("shared", 0o703), (".talk", 0o777)])
def test_a_state_directory_others_may_write_is_refused(tmp_path: Path, name: str,
                                                       mode: int) -> None:
    from talk_core.errors import StateError

    folder = tmp_path / name
    folder.mkdir()
    os.chmod(folder, mode)
    with pytest.raises(StateError, match=f"may be written by other users \\(mode {mode:03o}\\)"
                       ) as info:
        SQLiteStore(folder / "state.db")
    assert str(folder) in str(info.value) and not (folder / "state.db").exists()
    assert stat.S_IMODE(folder.stat().st_mode) == mode


def test_a_state_directory_that_is_not_talks_own_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    os.chmod(folder, 0o755)
    SQLiteStore(folder / "state.db").close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "state.db").stat().st_mode) == 0o600


# -- emulators ask for their credentials -------------------------------------------------------


def test_exacts_emulator_only_redirects_to_the_registered_redirect_uri() -> None:
    erp = ExactEmulator().start()
    try:
        auth = f"{erp.url}/api/oauth2/auth"
        for elsewhere in ("https://evil.example.com/callback", "http://127.0.0.1.evil.com/cb",
                          "http://127.0.0.1:8765/other", "http://user@127.0.0.1:8765/callback"):
            answer = requests.get(auth, params={"client_id": "talk-emulator",
                                                "redirect_uri": elsewhere},
                                  allow_redirects=False, timeout=5)
            assert answer.status_code == 400, elsewhere
            assert "is not registered for client 'talk-emulator'" in answer.text
            assert "Location" not in answer.headers
        good = requests.get(auth, params={"client_id": "talk-emulator",
                                          "redirect_uri": "http://127.0.0.1:8765/callback"},
                            allow_redirects=False, timeout=5)
        assert good.status_code == 302
        assert good.headers["Location"].startswith("http://127.0.0.1:8765/callback?code=")
        erp.state.redirect_uris = ("https://app.example.com/cb",)
        assert requests.get(auth, params={"client_id": "talk-emulator",
                                          "redirect_uri": "http://127.0.0.1:8765/callback"},
                            allow_redirects=False, timeout=5).status_code == 400
        wrong = requests.get(auth, params={"client_id": "someone-else",
                                           "redirect_uri": "https://app.example.com/cb"},
                             allow_redirects=False, timeout=5)
        assert wrong.status_code == 400 and "unknown client_id" in wrong.text
    finally:
        erp.stop()


def test_every_emulator_asks_for_credentials_on_every_endpoint_even_a_faulted_one() -> None:
    billing = InvoicedEmulator(api_key=INVOICED_KEY).start()
    crm = CustomEmulator("customcrm", api_key=CRM_KEY, token=CRM_TOKEN).start()
    erp = ExactEmulator().start()
    try:
        crm.fail(200, times=10, body={"data": [], "has_more": False})
        billing.faults.server_error = 0.0
        for url in (f"{billing.url}/customers", f"{billing.url}/events",
                    f"{crm.url}/customers", f"{crm.url}/anything",
                    f"{erp.url}/api/v1/current/Me", f"{erp.url}/api/v1/1234567/crm/Accounts"):
            assert requests.get(url, timeout=5).status_code == 401, url
        assert requests.post(f"{erp.url}/api/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": erp.refresh_token(),
            "client_id": "talk-emulator"}, timeout=5).status_code == 400
    finally:
        for emulator in (billing, crm, erp):
            emulator.stop()
