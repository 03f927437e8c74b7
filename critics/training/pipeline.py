"""The training pipelines behind `inferenceguard critics train` and `inferenceguard critics train-harm-model`."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from inferenceguard.critics.training import critic as critic_training
from inferenceguard.critics.training import harm_heads, harm_model
from inferenceguard.critics.training.data import rollout_prompts
from inferenceguard.critics.training.export import export_onnx
from inferenceguard.critics.training.mined import MiningRound, mined_examples
from inferenceguard.critics.training.rollouts import Rollout, RolloutPlan, generate_rollouts
from inferenceguard.prompts.catalog import harmful_answers, load_prompts
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


def train_harm_model(
    lm: LanguageModel,
    home: Path,
    plan: RolloutPlan,
    out: Path,
    embed: Callable[..., np.ndarray],
    command: str,
    *,
    designs: Sequence[str] = ("factored",),
    mined: Sequence[MiningRound] = (),
    version: str = "2.0.0",
) -> dict[str, dict[str, Any]]:
    """Train each design on the same examples; with several designs each goes to out/DESIGN."""
    examples = _harm_examples(lm, home, plan, mined)
    data = harm_model.harm_data(examples, *_embeddings(examples, embed, home))
    held = np.array([e.held_out for e in examples])
    held_examples = [e for e in examples if e.held_out]
    results = {}
    for design in designs:
        model = harm_heads.train(design, data.take(~held))
        metrics = harm_model.evaluate(model, data.take(held), held_examples, harm_model_budget())
        metrics["train_examples"] = float((~held).sum())
        metrics["mined_examples"] = float(sum(e.kind == "mined" for e in examples))
        sample = {
            "prompt_embedding": torch.from_numpy(data.prompts[:8]),
            "response_embedding": torch.from_numpy(data.responses[:8]),
        }
        export_onnx(
            model,
            sample,
            ["cost"],
            out / design if len(designs) > 1 else out,
            "harm",
            "cost_function",
            version if len(designs) == 1 else f"{version}+{design}",
            design=design,
            cost_semantics="prefix",
            default_budget=harm_model_budget(),
            features="all-MiniLM-L6-v2 mean-pooled, L2-normalised",
            training_data_sha256=harm_model.data_hash(examples),
            metrics=metrics,
            command=command,
        )
        results[design] = metrics
    return results


def _embeddings(
    examples: Sequence[harm_model.Example], embed: Callable[..., np.ndarray], home: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Prompt and answer embeddings, cached by the examples' hash: trying another design or weighting is quick."""
    ordered = hashlib.sha256(json.dumps([[e.prompt, e.response] for e in examples]).encode()).hexdigest()[:16]
    cache = home / "harm-training" / f"embeddings-{ordered}.npz"  # rows follow the examples' order
    if cache.exists():
        with np.load(cache) as saved:
            return saved["prompts"], saved["responses"]
    prompts = _embed_all(embed, [e.prompt for e in examples], "embedding prompts")
    responses = _embed_all(embed, [e.response for e in examples], "embedding answers")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, prompts=prompts, responses=responses)
    return prompts, responses


def _harm_examples(
    lm: LanguageModel, home: Path, plan: RolloutPlan, mined: Sequence[MiningRound]
) -> list[harm_model.Example]:
    records = load_prompts(home)
    rollouts, _ = base_rollouts(lm, home, plan)
    builder = harm_model.Builder(lambda text: lm.tokenizer(text)["input_ids"], lm.decode)
    examples = harm_model.build_examples(records, harmful_answers(home), rollouts, builder.tokenize, lm.decode)
    train_prompts = {r.id: r.text for r in records if r.split == "train"}
    return examples + mined_examples(mined, train_prompts, builder)


def harm_model_budget() -> float:
    from inferenceguard.policies.builtin.harm import DEFAULT_BUDGET

    return DEFAULT_BUDGET


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


def _embed_all(embed: Callable[..., np.ndarray], texts: list[str], label: str) -> np.ndarray:
    parts = [embed(texts[i : i + 64]) for i in tqdm(range(0, len(texts), 64), desc=label, unit="batch")]
    return np.concatenate(parts).astype(np.float32)
