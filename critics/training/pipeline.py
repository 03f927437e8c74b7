"""The training pipeline behind `inferenceguard critics train`, and the base-LM rollouts that training shares."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inferenceguard.critics.training import critic as critic_training
from inferenceguard.critics.training.data import rollout_prompts
from inferenceguard.critics.training.export import export_onnx
from inferenceguard.critics.training.rollouts import Rollout, RolloutPlan, generate_rollouts
from inferenceguard.prompts.catalog import load_prompts
from inferenceguard.service.engine.lm import LanguageModel

log = logging.getLogger(__name__)


def base_rollouts(lm: LanguageModel, home: Path, plan: RolloutPlan) -> tuple[list[Rollout], dict[str, str]]:
    """Rollouts on the training prompts (cached under `home`), and the prompt text of each id."""
    records = load_prompts(home)
    chosen = rollout_prompts(records)
    # shards are cached by batch index, so the folder must change whenever the prompt list does
    prompts_key = hashlib.sha256("\n".join(r.id for r in chosen).encode()).hexdigest()[:8]
    folder = (
        home
        / "rollouts"
        / (
            f"{lm.model_id.replace('@', '-')}-L{lm.hidden_layer}-w{plan.block_tokens}"
            f"-D{plan.max_new_tokens}-R{plan.samples}-s{plan.seed}-p{prompts_key}"
        )
    )
    rollouts = generate_rollouts(lm, [(r.id, r.text) for r in chosen], plan, folder)
    return rollouts, {r.id: r.text for r in chosen}


def train_policy_critic(
    lm: LanguageModel, home: Path, plan: RolloutPlan, policy: Any, out: Path, name: str, epochs: int, command: str
) -> dict[str, Any]:
    if len(policy.cost_functions) != 1:
        raise ValueError(f"policy {policy.spec.id!r}: critics are trained for policies with one cost function")
    ((cost_name, cost),) = policy.cost_functions.items()
    budget = float(policy.spec.cost_functions[cost_name])
    rollouts, prompts = base_rollouts(lm, home, plan)
    log.info("scoring %d rollouts with %s", len(rollouts), cost_name)
    scored = critic_training.score_rollouts(rollouts, prompts, lm.decode, cost, policy.reward)
    data = critic_training.critic_data(scored, budget)
    model = critic_training.train_critic(data, width=lm.hidden_size, epochs=epochs, seed=plan.seed)
    metrics = critic_training.evaluate_critic(model, data)
    metrics["rollouts"] = float(len(scored))
    metrics["rollouts_within_budget"] = float(np.mean([s.max_cost <= budget for s in scored]))
    sample = {
        "hidden": torch.from_numpy(data.hidden[:8]),
        "budget_state": torch.from_numpy(data.budget_state[:8, None]),
    }
    export_onnx(
        model,
        sample,
        ["p_safe", "value"],
        out,
        name,
        "critic",
        "1.0.0",
        lm={"id": lm.model_id, "layer": lm.hidden_layer, "hidden_size": lm.hidden_size},
        policy=policy.spec.id,
        policy_version=policy.spec.version,
        cost_function=cost_name,
        budget=budget,
        training_data_sha256=critic_training.data_hash(scored, budget),
        metrics=metrics,
        rollouts={
            "samples": plan.samples,
            "block_tokens": plan.block_tokens,
            "max_new_tokens": plan.max_new_tokens,
            "seed": plan.seed,
        },
        discount=critic_training.DISCOUNT,
        budget_factors=list(critic_training.BUDGET_FACTORS),
        command=command,
    )
    return metrics
