"""The plugin manager, built by a function from settings: built-in plugins always, third-party entry points
only when allowed, blocked plugins never; misspelled hooks fail at start."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Collection
from dataclasses import dataclass, field

import pluggy

from inferenceguard.policies import hookspecs

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = ("inferenceguard.policies.builtin.plugin",)
BUILTIN_NAME = "builtin"


@dataclass
class PluginSet:
    manager: pluggy.PluginManager
    versions: dict[str, str] = field(default_factory=dict)  # plugin name -> distribution version
    entry_points: dict[str, str] = field(default_factory=dict)  # plugin name -> "module:attr"
    errors: dict[str, str] = field(default_factory=dict)  # plugin name -> why it is not loaded


def build_plugin_manager(allow: Collection[str] = (), blocked: Collection[str] = ()) -> PluginSet:
    """`allow` lists entry-point plugins to load ("*" = all installed); nothing third-party loads otherwise."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    plugins = PluginSet(manager)
    for name in blocked:
        manager.set_blocked(name)
    for module in DEFAULT_PLUGINS:
        if not manager.is_blocked(BUILTIN_NAME):
            manager.register(importlib.import_module(module), name=BUILTIN_NAME)
            plugins.versions[BUILTIN_NAME] = importlib.metadata.version("inferenceguard")
    if allow:
        _load_entry_points(plugins, set(allow))
    manager.check_pending()  # a hook implementation with a misspelled name fails here, at start
    return plugins


def _load_entry_points(plugins: PluginSet, allow: set[str]) -> None:
    for entry in importlib.metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP):
        if ("*" not in allow and entry.name not in allow) or plugins.manager.is_blocked(entry.name):
            continue
        try:
            plugins.manager.register(entry.load(), name=entry.name)
        except Exception as exc:  # one broken plugin must not take the others down
            plugins.errors[entry.name] = f"could not be loaded from {entry.value}: {exc}"
            log.error("plugin %s %s", entry.name, plugins.errors[entry.name])
            continue
        plugins.versions[entry.name] = entry.dist.version if entry.dist else "unknown"
        plugins.entry_points[entry.name] = entry.value
    for name in sorted(allow - {"*"} - set(plugins.versions) - set(plugins.errors)):
        plugins.errors[name] = "is allowed but no installed package provides it"
