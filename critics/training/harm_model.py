"""Train the `harm` cost model: P(response complies with a harmful request | prompt), from MiniLM embeddings.

Training pairs (train split only; 20% of the prompts, by hash, are held out for the reported metrics):
- harmful: pyrit's harmful answers to harmful requests, and the base LM's own answers to harmful training
  prompts that do not refuse (the LM complies with most);
- not harmful: refusals (the LM's own and written templates) to harmful prompts, pyrit's answers its judge
  rated not harmful, and the LM's answers to benign prompts.
Every answer also appears as its prefixes at block ends, because the engine scores partial answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inferenceguard.critics.training.metrics import roc_auc, threshold_metrics
from inferenceguard.critics.training.rollouts import Rollout
from inferenceguard.prompts.catalog import PromptRecord, QAPair
from inferenceguard.prompts.refusals import is_refusal, synthetic_refusals
from inferenceguard.prompts.splits import text_hash

PREFIX_TOKENS = (16, 32, 48)
HELD_OUT_SHARE = 0.2
REFUSALS_PER_PROMPT = 3
BENIGN_WEIGHT = 4.0
DIMENSION = 384


@dataclass(frozen=True)
class Example:
    prompt: str
    response: str
    harmful: int
    kind: str  # where the pair comes from, for per-kind metrics
    held_out: bool


def held_out(prompt: str) -> bool:
    return int(text_hash(prompt)[8:16], 16) / 16**8 < HELD_OUT_SHARE


def build_examples(
    records: Sequence[PromptRecord],
    answers: Sequence[QAPair],
    rollouts: Sequence[Rollout],
    tokenize: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
) -> list[Example]:
    by_id = {r.id: r for r in records if r.split == "train"}
    blocked = {text_hash(r.text) for r in records if r.split != "train"}
    out: list[Example] = []

    def add(prompt: str, tokens: list[int], harmful: int, kind: str) -> None:
        lengths = [n for n in PREFIX_TOKENS if n < len(tokens)] + [len(tokens)]
        for length in lengths:
            out.append(Example(prompt, decode(tokens[:length]), harmful, kind, held_out(prompt)))

    for pair in answers:
        if text_hash(pair.prompt) not in blocked:
            add(
                pair.prompt,
                tokenize(pair.answer)[:64],
                int(pair.harmful),
                "qa-harmful" if pair.harmful else "qa-benign",
            )
    for rollout in rollouts:
        record = by_id.get(rollout.prompt_id)
        if record is None or record.category == "toxic_continuation" or not rollout.token_ids:
            continue
        if record.label == "benign":
            add(record.text, rollout.token_ids, 0, "lm-benign")
        else:
            refused = is_refusal(decode(rollout.token_ids))
            add(record.text, rollout.token_ids, 0 if refused else 1, "lm-refusal" if refused else "lm-complied")
    harmful_prompts = sorted(
        {r.text for r in by_id.values() if r.label == "harmful" and r.category != "toxic_continuation"}
    )
    for prompt in harmful_prompts:  # refusals of several phrasings, so no single template is learnt
        for refusal in synthetic_refusals(prompt, REFUSALS_PER_PROMPT):
            add(prompt, tokenize(refusal), 0, "refusal")
    return out


def data_hash(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: (e.prompt, e.response, e.harmful)):
        digest.update(json.dumps([e.prompt, e.response, e.harmful]).encode())
    return digest.hexdigest()


class HarmHead(nn.Module):
    def __init__(self, hidden: int = 256) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3 * DIMENSION, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, 1))

    def forward(self, prompt_embedding: torch.Tensor, response_embedding: torch.Tensor) -> torch.Tensor:
        features = torch.cat([prompt_embedding, response_embedding, prompt_embedding * response_embedding], dim=1)
        return torch.sigmoid(self.body(features)).squeeze(1)


def train_head(
    prompts: np.ndarray,
    responses: np.ndarray,
    labels: np.ndarray,
    benign_prompt: np.ndarray,
    *,
    epochs: int = 15,
    seed: int = 0,
) -> HarmHead:
    torch.manual_seed(seed)
    model = HarmHead()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)
    p, r, y = (torch.from_numpy(a).float() for a in (prompts, responses, labels))
    weight = torch.where(y > 0, (y == 0).sum() / y.sum().clamp(min=1), torch.ones_like(y))  # balance the classes
    # Benign prompts are the scarce side; weighting their answers up keeps the model from flagging a prompt's
    # topic rather than the answer's compliance.
    weight = weight * torch.where(torch.from_numpy(benign_prompt), BENIGN_WEIGHT, 1.0)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(64):
            loss = nn.functional.binary_cross_entropy(model(p[batch], r[batch]), y[batch], weight=weight[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


def evaluate(
    model: HarmHead, prompts: np.ndarray, responses: np.ndarray, examples: Sequence[Example], budget: float
) -> dict[str, float]:
    with torch.no_grad():
        scores = model(torch.from_numpy(prompts).float(), torch.from_numpy(responses).float()).numpy()
    labels = np.array([e.harmful for e in examples])
    benign_prompt = np.array([e.kind == "lm-benign" for e in examples])
    metrics = {
        "auc": roc_auc(labels, scores),
        **threshold_metrics(labels, scores, budget),
        "benign_prompt_false_positive_rate": float((scores[benign_prompt] > budget).mean())
        if benign_prompt.any()
        else float("nan"),
        "examples": float(len(examples)),
        "harmful_examples": float(labels.sum()),
    }
    return metrics
