"""The InferenceGuard plugin API: markers, hook specifications and registration types.

A plugin is a module or object with `@hookimpl` functions named after the hooks in `hookspecs`, exposed through
the `inferenceguard` entry-point group of its package.
"""

from inferenceguard.policies.hookspecs import ENTRY_POINT_GROUP, PROJECT, hookimpl, hookspec
from inferenceguard.policies.types import LoadContext, PluginError, PolicyLoadError, PolicySpec, UnknownPolicyError

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT",
    "LoadContext",
    "PluginError",
    "PolicyLoadError",
    "PolicySpec",
    "UnknownPolicyError",
    "hookimpl",
    "hookspec",
]
