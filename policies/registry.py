"""The policy registry: collects what plugins register, validates it at once, and loads policies on demand.

A plugin whose registration fails loses all its registrations; a policy that cannot be loaded is refused
(fail closed). Neither affects the other plugins or policies.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferenceguard.policies.manager import PluginSet
from inferenceguard.policies.types import (
    LoadContext,
    PluginError,
    PolicyLoadError,
    PolicySpec,
    Registration,
    UnknownPolicyError,
)

log = logging.getLogger(__name__)
# a name, optionally pinned to an earlier version of a built-in model kept for comparison (e.g. harm@1.0.0)
_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}(@[0-9][a-z0-9.+-]{0,31})?$")
HOOKS = {
    "register_cost_functions": "cost_function",
    "register_reward_functions": "reward_function",
    "register_critics": "critic",
}


@dataclass(frozen=True)
class LoadedPolicy:
    spec: PolicySpec
    cost_functions: dict[str, Any]  # name -> CostFunction
    reward: Any | None
    critic: Any | None


class Registry:
    def __init__(self, plugins: PluginSet, context: LoadContext) -> None:
        self.plugins, self.context = plugins, context
        self.scorers: dict[tuple[str, str], Registration] = {}  # (kind, name)
        self.policies: dict[str, PolicySpec] = {}
        self.errors: dict[str, str] = dict(plugins.errors)  # plugin -> error
        self._instances: dict[tuple[str, str], Any] = {}
        self._loaded: dict[str, LoadedPolicy] = {}
        for plugin_name, plugin in plugins.manager.list_name_plugin():
            self._collect(plugin_name, plugin)

    # -- registration ---------------------------------------------------------------------------------------
    def _collect(self, plugin_name: str, plugin: Any) -> None:
        staged: list[Registration] = []
        policies: list[PolicySpec] = []
        try:
            for hook, kind in HOOKS.items():
                if hasattr(plugin, hook):
                    getattr(plugin, hook)(register=self._scorer_register(plugin_name, kind, staged))
            if hasattr(plugin, "register_policies"):
                plugin.register_policies(register=self._policy_register(plugin_name, policies))
        except Exception as exc:
            self.errors[plugin_name] = f"registration failed: {exc}"
            log.error("plugin %s: registration failed: %s", plugin_name, exc)
            return
        self.scorers.update({(r.kind, r.name): r for r in staged})
        self.policies.update({p.id: p for p in policies})

    def _scorer_register(self, plugin: str, kind: str, staged: list[Registration]) -> Callable[..., None]:
        def register(name: str, target: Any, *, version: str = "0", description: str = "") -> None:
            self._check_name(kind, name, plugin, {r.name for r in staged if r.kind == kind})
            if kind == "critic":
                staged.append(Registration(kind, name, plugin, version, description, manifest=Path(target)))
            elif callable(target):
                staged.append(Registration(kind, name, plugin, version, description, factory=target))
            else:
                raise PluginError(f"{kind} {name!r}: the factory must be callable")

        return register

    def _policy_register(self, plugin: str, staged: list[PolicySpec]) -> Callable[..., None]:
        def register(
            policy_id: str,
            *,
            cost_functions: dict[str, float],
            version: str,
            critic: str | None = None,
            reward: str | None = "relevance",
            description: str = "",
            exhausted_message: str = "",
        ) -> None:
            if not _NAME.match(policy_id):
                raise PluginError(f"policy id {policy_id!r} must match {_NAME.pattern}")
            if policy_id in self.policies or any(p.id == policy_id for p in staged):
                raise PluginError(f"policy {policy_id!r} is already registered")
            if not cost_functions:
                raise PluginError(f"policy {policy_id!r}: cost_functions must name at least one cost function")
            for name, budget in cost_functions.items():
                if not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget < 0:
                    raise PluginError(f"policy {policy_id!r}: budget of {name!r} must be a finite number >= 0")
            staged.append(
                PolicySpec(
                    policy_id, plugin, version, dict(cost_functions), critic, reward, description, exhausted_message
                )
            )

        return register

    def _check_name(self, kind: str, name: str, plugin: str, staged: set[str]) -> None:
        if not _NAME.match(name):
            raise PluginError(f"{kind} name {name!r} must match {_NAME.pattern}")
        owner = self.scorers.get((kind, name))
        if owner is not None or name in staged:
            raise PluginError(f"{kind} {name!r} is already registered by plugin {owner.plugin if owner else plugin!r}")

    # -- loading --------------------------------------------------------------------------------------------
    def policy_ids(self) -> list[str]:
        return sorted(self.policies)

    def spec(self, policy_id: str) -> PolicySpec:
        if policy_id not in self.policies:
            raise UnknownPolicyError(policy_id, self.policy_ids())
        return self.policies[policy_id]

    def load(self, policy_id: str) -> LoadedPolicy:
        """The policy's scorers, instantiated once; PolicyLoadError when any part cannot be used."""
        if policy_id in self._loaded:
            return self._loaded[policy_id]
        spec = self.spec(policy_id)
        try:
            costs = {name: self._instance("cost_function", name) for name in spec.cost_functions}
            reward = self._instance("reward_function", spec.reward) if spec.reward else None
            critic = self._instance("critic", spec.critic) if spec.critic else None
        except PolicyLoadError:
            raise
        except Exception as exc:
            raise PolicyLoadError(policy_id, str(exc)) from exc
        loaded = LoadedPolicy(spec, costs, reward, critic)
        self._loaded[policy_id] = loaded
        return loaded

    def _instance(self, kind: str, name: str) -> Any:
        key = (kind, name)
        if key not in self._instances:
            registration = self.scorers.get(key)
            if registration is None:
                raise PluginError(f"{kind.replace('_', ' ')} {name!r} is not registered")
            self._instances[key] = _build(registration, self.context)
        return self._instances[key]

    def scorer_registrations(self, kind: str) -> Sequence[Registration]:
        return [r for (k, _), r in sorted(self.scorers.items()) if k == kind]


def _build(registration: Registration, context: LoadContext) -> Any:
    if registration.kind == "critic":
        from inferenceguard.critics.onnx_critic import OnnxCritic

        assert registration.manifest is not None
        return OnnxCritic.from_manifest(
            registration.manifest, context.lm_id, context.hidden_size, context.hidden_layer, name=registration.name
        )
    assert registration.factory is not None
    return registration.factory(context)
