"""Records of what plugins registered, and the context their factories receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class PluginError(Exception):
    """A plugin could not be loaded or made an invalid registration; the message names the plugin."""


class PolicyLoadError(Exception):
    """A policy cannot be used (fail closed); the message names the policy and the failing part."""

    def __init__(self, policy_id: str, message: str) -> None:
        super().__init__(f"policy {policy_id!r}: {message}")
        self.policy_id = policy_id


class UnknownPolicyError(KeyError):
    def __init__(self, policy_id: str, known: list[str]) -> None:
        super().__init__(f"policy {policy_id!r} is not registered; known policies: {', '.join(known) or 'none'}")
        self.policy_id = policy_id

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class LoadContext:
    """What factories may rely on: the cache folder, the device, the LM's identity, plugin settings."""

    home: Path
    device: str = "cpu"
    lm_id: str = ""
    hidden_size: int = 0
    hidden_layer: int = -1
    plugin_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    kind: str  # cost_function | reward_function | critic
    name: str
    plugin: str
    version: str
    description: str
    factory: Callable[[LoadContext], Any] | None = None
    manifest: Path | None = None


@dataclass(frozen=True)
class PolicySpec:
    id: str
    plugin: str
    version: str
    cost_functions: Mapping[str, float]
    critic: str | None = None
    reward: str | None = "relevance"
    description: str = ""
    exhausted_message: str = ""
