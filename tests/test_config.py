from __future__ import annotations

from pathlib import Path

import pytest

from talk_core.assemble import settings_from
from talk_core.config import Secret, load_config
from talk_core.errors import ConfigError
from talk_core.sync.plan import DeletePolicy
from talk_core.system import Option, SystemSpec

SPECS = {
    "kind": SystemSpec("kind", "Kind", (), (), factory=lambda **_: None,  # type: ignore[arg-type,return-value]
                       options=(
                           Option("base_url", str, default="https://api.example.com",
                                  help="API address"),
                           Option("api_key", str, required=True, secret=True, help="API key"),
                           Option("page_size", int, default=100),
                           Option("sandbox", bool, default=False),
                       )),
}
ENV = {"KEY": "s3cret-value", "SIZE": "50"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "talk.toml"
    path.write_text(text)
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return load_config(write(tmp_path, text), env=ENV if env is None else env, systems=SPECS)


GOOD = """
[state]
path = "state/talk.db"

[systems.billing]
connector = "kind"
api_key = "${KEY}"
page_size = "${SIZE}"

[sync]
conflict = "priority"
priority = ["billing"]
deletes = "unlink"
max_delete_fraction = 0.1

[datatypes.organisation]
match_keys = [["email"], ["name", "postal_code"]]
filter = { country = ["NO", "SE"] }
history = "new"

[datatypes.organisation.directions]
billing = { email = "from" }

[datatypes.agreement]
enabled = false
"""


def test_a_full_config_is_read(tmp_path: Path) -> None:
    config = load(tmp_path, GOOD)
    billing = config.systems["billing"]
    assert billing.options == {"base_url": "https://api.example.com", "api_key": "s3cret-value",
                               "page_size": 50, "sandbox": False}
    assert isinstance(billing.options["api_key"], Secret)
    assert "s3cret-value" not in repr(config)
    assert config.state_path() == tmp_path / "state" / "talk.db"
    settings = settings_from(config)
    assert settings.conflict == "priority" and settings.priority == ("billing",)
    assert settings.deletes is DeletePolicy.UNLINK and settings.max_delete_fraction == 0.1
    org = settings.datatypes["organisation"]
    assert org.match_keys == (("email",), ("name", "postal_code")) and org.history == "new"
    assert org.accepts({"country": "no"}) and not org.accepts({"country": "DK"})
    assert org.unwritable("billing") == {"email"}
    assert settings.datatypes["agreement"].enabled is False
    assert config.secrets() == ["s3cret-value"]


@pytest.mark.parametrize(("text", "message"), [
    ("[systems.b]\napi_key = '${KEY}'\n", "[systems.b] connector: missing"),
    ("[systems.b]\nconnector = 'nope'\n", "[systems.b] connector: unknown kind 'nope'; "
                                          "installed: kind"),
    ("[systems.b]\nconnector = 'kind'\napi_key = '${KEY}'\ncolour = 'red'\n",
     "[systems.b] colour: unknown option; this connector takes: api_key, base_url"),
    ("[systems.b]\nconnector = 'kind'\n", "[systems.b] api_key: missing"),
    ("[systems.b]\nconnector = 'kind'\napi_key = 'sk_live_123'\n",
     "[systems.b] api_key: a secret must come from the environment"),
    ("[systems.b]\nconnector = 'kind'\napi_key = '${NOPE}'\n",
     "[systems.b] api_key: environment variable NOPE is not set"),
    ("[systems.b]\nconnector = 'kind'\napi_key = '${KEY}'\npage_size = 'many'\n",
     "[systems.b] page_size: expected int, got str 'many'"),
    ("[sync]\nmax_delete_fraction = 'lots'\n", "[sync] max_delete_fraction: invalid value"),
    ("[sync]\nmax_delete_fraction = 3\n", "[sync] max_delete_fraction: expected a share"),
    ("[sync]\nconflict = 'loudest'\n", "[sync] conflict: expected 'newest' or 'priority'"),
    ("[sync]\nunavailable_after = -1\n", "[sync] unavailable_after: expected seconds between"),
    ("[sync]\nretries = 3\n", "[sync] extra fields found (retries)"),
    ("[sync]\npriority = ['ghost']\n", "[sync] priority: 'ghost' is not a system"),
    ("[datatypes.widget]\nenabled = true\n", "[datatypes.widget]: unknown global datatype"),
    ("[datatypes.organisation]\nmatch_keys = [['shoe_size']]\n",
     "[datatypes.organisation] match_keys: 'shoe_size' is not a property of organisation"),
    ("[datatypes.organisation]\nshare = 'yes'\n",
     "[datatypes.organisation] share: invalid value for type, expected bool"),
    ("[datatypes.human.directions]\nghost = { email = 'to' }\n",
     "[datatypes.human.directions] ghost: not a system"),
    ("colour = 'red'\n", "unknown top-level key 'colour'"),
    ("[state\npath = 1\n", "not valid TOML"),
])
def test_errors_name_file_table_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert message in str(info.value)
    assert str(tmp_path / "talk.toml") in str(info.value)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="talk init"):
        load_config(tmp_path / "none.toml", systems=SPECS)


def test_the_secret_is_not_in_the_error_when_another_key_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "[systems.b]\nconnector = 'kind'\napi_key = '${KEY}'\nsandbox = 'x'\n")
    assert "s3cret-value" not in str(info.value)


def test_config_plugins_key_loads_a_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "plugins"))
    path = write(tmp_path, "plugins = ['talk_toy']\n[systems.crm]\nconnector = 'toycrm'\n"
                           "path = 'crm.json'\n")
    config = load_config(path, env={})
    assert config.systems["crm"].connector == "toycrm"
    bad = write(tmp_path, "plugins = ['no_such_module_here']\n")
    with pytest.raises(ConfigError, match="cannot import 'no_such_module_here'"):
        load_config(bad, env={})


def test_unavailable_after_reaches_the_run_settings(tmp_path: Path) -> None:
    assert settings_from(load(tmp_path, "[sync]\nunavailable_after = 5\n")).unavailable_after == 5
    assert settings_from(load(tmp_path, "")).unavailable_after == 30


def test_the_bounds_on_answers_reach_the_run_settings(tmp_path: Path) -> None:
    from talk_core.limits import Limits

    text = ("[sync]\nmax_pages = 50\nmax_response_bytes = 1048576\nrequest_deadline = 9\n"
            "max_json_depth = 20\n")
    assert settings_from(load(tmp_path, text)).limits == Limits(
        max_pages=50, max_response_bytes=1048576, request_deadline=9.0, max_json_depth=20)
    assert settings_from(load(tmp_path, "")).limits == Limits()


@pytest.mark.parametrize(("key", "value"), [("max_pages", "0"), ("max_response_bytes", "10"),
                                            ("request_deadline", "-1"),
                                            ("max_json_depth", "5000")])
def test_a_bound_out_of_range_is_refused_in_sync_and_in_a_system(
        tmp_path: Path, key: str, value: str) -> None:
    from talk_core.limits import LIMIT_OPTIONS

    with pytest.raises(ConfigError, match=rf"\[sync\] {key}: expected a number from"):
        load(tmp_path, f"[sync]\n{key} = {value}\n")
    specs = {"kind": SystemSpec("kind", "Kind", (), (), factory=lambda **_: None,  # type: ignore[arg-type,return-value]
                                options=(*SPECS["kind"].options, *LIMIT_OPTIONS))}
    text = f'[systems.b]\nconnector = "kind"\napi_key = "${{KEY}}"\n{key} = {value}\n'
    with pytest.raises(ConfigError, match=rf"\[systems.b\] {key}: expected a number from"):
        load_config(write(tmp_path, text), env=ENV, systems=specs)
