"""The plugin manager: installed plugins come from the ``talk`` entry-point group."""

from __future__ import annotations

import importlib
import importlib.metadata
import os

import pluggy

from talk_core import hookspecs
from talk_core.system import SystemSpec, by_name

pm = pluggy.PluginManager("talk")
pm.add_hookspecs(hookspecs)

_loaded = False


def load_plugins() -> None:
    """Load installed plugins once, honouring ``TALK_LOAD_PLUGINS``.

    ``TALK_LOAD_PLUGINS`` is a comma-separated list of distribution names
    (``talk-invoiced``) or entry-point names (``invoiced``); empty loads none.
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    wanted = os.environ.get("TALK_LOAD_PLUGINS")
    if wanted is None:
        pm.load_setuptools_entrypoints("talk")
        return
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    for ep in importlib.metadata.entry_points(group="talk"):
        dist = ep.dist.name if ep.dist else ""
        if (ep.name in names or dist in names) and not pm.has_plugin(ep.name):
            pm.register(ep.load(), name=ep.name)


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
            from talk_core.errors import ConfigError

            raise ConfigError(f"{where}: plugins: cannot import {name!r}: {exc}") from None
        pm.register(module, name=name)


def get_systems() -> dict[str, SystemSpec]:
    """Every registered system kind, by name."""
    load_plugins()
    specs: list[SystemSpec] = []

    pm.hook.register_systems(register=specs.append)
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
        if plugin is hookspecs:
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
