"""Assembles the runtime from Settings: the LM, the plugin manager and policy registry, the engine, and the
guard each request is held to."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers

from inferenceguard.critics.onnx_critic import OnnxCritic
from inferenceguard.policies.manager import build_plugin_manager
from inferenceguard.policies.registry import Registry
from inferenceguard.policies.types import LoadContext
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import BoundCritic, BudgetedCost, Engine, Guard, LanguageModel
from inferenceguard.service.engine.lm import pick_device
from inferenceguard.service.engine.model_store import DEFAULT_MODEL_ID, default_model_dir

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    lm: LanguageModel
    registry: Registry
    engine: Engine

    def guard(self, policy_ids: Sequence[str] = ()) -> Guard:
        """The guard for `policy_ids` (the default policy when empty); see build_guard."""
        ids = list(policy_ids) or Settings.names(self.settings.default_policy)
        return with_critic(build_guard(self.registry, ids), self.extra_critic)

    @functools.cached_property
    def extra_critic(self) -> BoundCritic | None:
        """The ad-hoc critic of settings.critic, loaded once."""
        return load_extra_critic(self.settings)


def load_extra_critic(settings: Settings) -> BoundCritic | None:
    return BoundCritic(OnnxCritic(Path(settings.critic))) if settings.critic else None


def with_critic(guard: Guard, extra: BoundCritic | None) -> Guard:
    if extra is None:
        return guard
    return Guard(guard.costs, guard.reward, (*guard.critics, extra), guard.exhausted_message, guard.policies)


def build_guard(registry: Registry, policy_ids: Sequence[str]) -> Guard:
    """One guard for several policies: an answer is within budget only if it is within every policy's budgets.

    A cost function named by two policies is held to the tighter budget; each policy's critic reads the safety
    state of its own cost functions; the first policy's reward and closing message apply.
    """
    loaded = [registry.load(policy_id) for policy_id in dict.fromkeys(policy_ids)]
    costs: dict[str, BudgetedCost] = {}
    for policy in loaded:
        for name, budget in policy.spec.cost_functions.items():
            if name not in costs or budget < costs[name].budget:
                costs[name] = BudgetedCost(policy.cost_functions[name], budget, label=name)
    names = list(costs)
    critics = tuple(
        BoundCritic(p.critic, tuple(names.index(n) for n in p.spec.cost_functions))
        for p in loaded
        if p.critic is not None
    )
    reward = next((p.reward for p in loaded if p.reward is not None), None)
    message = next((p.spec.exhausted_message for p in loaded if p.spec.exhausted_message), "")
    return Guard(tuple(costs.values()), reward, critics, message, tuple((p.spec.id, p.spec.version) for p in loaded))


def model_path(settings: Settings) -> Path:
    return default_model_dir(settings.home) if settings.model == "default" else Path(settings.model)


def load_language_model(settings: Settings) -> LanguageModel:
    path = model_path(settings)  # converts the default model on first use, with its own progress bar
    transformers.utils.logging.disable_progress_bar()  # a plain load takes about a second
    if settings.threads > 0:
        torch.set_num_threads(settings.threads)
    device = pick_device(settings.device)
    log.info("device %s, torch %s, %d CPU threads", device, torch.__version__, torch.get_num_threads())
    model_id = DEFAULT_MODEL_ID if settings.model == "default" else path.name
    return LanguageModel.load(
        path, device=str(device), dtype=settings.dtype, hidden_layer=settings.hidden_layer, model_id=model_id
    )


def build_registry(settings: Settings, lm: LanguageModel | None = None) -> Registry:
    plugins = build_plugin_manager(Settings.names(settings.load_plugins), Settings.names(settings.disable_plugins))
    return Registry(plugins, load_context(settings, lm))


def load_context(settings: Settings, lm: LanguageModel | None = None) -> LoadContext:
    """What a plugin's factories are given: where models live, the LM they serve and the plugin settings."""
    return LoadContext(
        home=settings.home,
        device=str(lm.device) if lm else "cpu",
        lm_id=lm.model_id if lm else "",
        hidden_size=lm.hidden_size if lm else 0,
        hidden_layer=lm.hidden_layer if lm else -1,
        plugin_settings=_plugin_settings(settings),
    )


def _plugin_settings(settings: Settings) -> dict[str, dict[str, str]]:
    """The built-in plugin's settings: the lexicon's word list and the harm model's folder, where set."""
    chosen = {"lexicon": settings.lexicon, "harm": settings.harm_model}
    key = {"lexicon": "path", "harm": "model"}
    return {name: {key[name]: value} for name, value in chosen.items() if value}


def build_runtime(settings: Settings) -> Runtime:
    lm = load_language_model(settings)
    registry = build_registry(settings, lm)
    engine = Engine(lm, scorer_timeout_s=settings.scorer_timeout_s, batching=settings.batching)
    log.info("requests are %s", "batched by one scheduler" if settings.batching else "run one search per thread")
    runtime = Runtime(settings, lm, registry, engine)
    runtime.engine.default_guard = runtime.guard()
    return runtime
