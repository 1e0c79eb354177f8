"""The plugin manager: installed plugins come from the ``talk`` entry-point group."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import os
from collections.abc import Iterable

import click
import pluggy

from talk_core import hookspecs
from talk_core.errors import ConfigError
from talk_core.system import SystemSpec, by_name

pm = pluggy.PluginManager("talk")
pm.add_hookspecs(hookspecs)

_loaded = False

CORE = "talk-core"
"""The name talk's own commands are registered under, on the same manager as plugins."""


class Hooks:
    """Typed calls of talk's hooks: pluggy's ``pm.hook`` accepts and returns anything."""

    def __init__(self, manager: pluggy.PluginManager) -> None:
        self._pm = manager

    def register_systems(self, register: hookspecs.Register) -> None:
        self._pm.hook.register_systems(register=register)

    def register_commands(self, cli: click.Group, *, skip: Iterable[object] = ()) -> None:
        """Let every plugin but those in ``skip`` (already asked) add its commands to ``cli``."""
        caller = self._pm.subset_hook_caller("register_commands", remove_plugins=skip)
        caller(cli=cli)


hooks = Hooks(pm)


def load_plugins() -> None:
    """Load installed plugins once, honouring ``TALK_LOAD_PLUGINS``.

    ``TALK_LOAD_PLUGINS`` is a comma-separated list of distribution names
    (``talk-invoiced``) or entry-point names (``invoiced``); empty loads none.
    A plugin that implements a hook talk does not have is refused with a
    ``ConfigError`` naming it, on this call and every later one.
    """
    global _loaded
    if _loaded:
        return
    wanted = os.environ.get("TALK_LOAD_PLUGINS")
    if wanted is None:
        try:
            pm.load_setuptools_entrypoints("talk")
        except pluggy.PluginValidationError as exc:
            _refuse(exc, where="installed plugin")
        _check_pending(where="installed plugin")
    else:
        names = {n.strip() for n in wanted.split(",") if n.strip()}
        for ep in importlib.metadata.entry_points(group="talk"):
            dist = ep.dist.name if ep.dist else ""
            if (ep.name in names or dist in names) and not pm.has_plugin(ep.name):
                register(ep.load(), ep.name, where="installed plugin")
    _loaded = True


def load_modules(modules: list[str], *, where: str = "config") -> None:
    """Register plugin modules named in a config (``plugins = ["my_company.talk"]``).

    This serves plugins that are not packaged: a module on the Python path
    with the same hook functions as an installed plugin.
    """
    for name in modules:
        if pm.has_plugin(name):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"{where}: plugins: cannot import {name!r}: {exc}") from None
        register(module, name, where=f"{where}: plugins:")


def register(plugin: object, name: str, *, where: str = "plugin") -> None:
    """Register one plugin, refusing it (and leaving it out) if talk cannot call its hooks."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        _refuse(exc, where=where, name=name)
    _check_pending(where=where)


def _check_pending(*, where: str) -> None:
    """A hook implementation with no hook of that name would never be called: refuse it.

    pluggy only checks names when asked; unchecked, ``register_system``
    (one letter short) would leave a plugin's systems silently missing.
    """
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        _refuse(exc, where=where)


def _refuse(exc: pluggy.PluginValidationError, *, where: str, name: str | None = None) -> None:
    """Unregister the plugin pluggy refused and say, in one line, what is wrong with it."""
    plugin = exc.plugin
    name = name or pm.get_name(plugin) or getattr(plugin, "__name__", None) or repr(plugin)
    if pm.is_registered(plugin):
        pm.unregister(plugin)
    raise ConfigError(f"{where} {name!r}: {_what_is_wrong(plugin) or ' '.join(str(exc).split())}"
                      ) from None


def _what_is_wrong(plugin: object) -> str | None:
    """The first hook implementation talk cannot call: an unknown name, or arguments it lacks."""
    known = sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "talk_spec"))
    for attr in dir(plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            continue
        hook = opts.get("specname") or attr
        if hook not in known:
            close = difflib.get_close_matches(hook, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"talk's hooks: {', '.join(known)}"
            return f"unknown hook {hook!r}; {hint}"
        passed = inspect.signature(getattr(hookspecs, hook)).parameters
        extra = [a for a in inspect.signature(getattr(plugin, attr)).parameters
                 if a not in passed and a != "self"]
        if extra:
            return (f"hook {hook!r} asks for {', '.join(map(repr, extra))}; "
                    f"talk passes only {', '.join(map(repr, passed))}")
    return None


def get_systems() -> dict[str, SystemSpec]:
    """Every registered system kind, by name."""
    load_plugins()
    specs: list[SystemSpec] = []
    hooks.register_systems(specs.append)
    return by_name(specs)


def get_plugins() -> list[dict[str, object]]:
    """Loaded plugins with their versions and hooks, as ``talk plugins`` shows them."""
    load_plugins()
    out: list[dict[str, object]] = []
    dists = {
        pm.get_name(plugin): dist for plugin, dist in pm.list_plugin_distinfo()
    }
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        if plugin is hookspecs or name == CORE:
            continue
        info: dict[str, object] = {
            "name": name,
            "hooks": sorted(h.name for h in pm.get_hookcallers(plugin) or []),
        }
        dist = dists.get(name)
        if dist is not None:
            info["distribution"] = dist.project_name
            info["version"] = dist.version
        out.append(info)
    return sorted(out, key=lambda i: str(i["name"]))
