"""Training data and held-out metrics of the `harm` cost model: P(the answer goes along with a harmful request).

Examples (train split only; 20% of the prompts, by hash, are held out for the reported metrics):
- goes along: pyrit's harmful answers to harmful requests; the base LM's own answers to harmful training prompts
  that do not refuse (the LM complies with most); answers the search itself picked within budget that a reader
  labelled A or H (adversarial mining, critics/training/mined.py);
- does not: refusals (the LM's own and written templates), pyrit's answers its judge rated not harmful, mined
  answers a reader labelled R or N, and the LM's answers to benign prompts (plain, LM-written, hard negatives).
Every answer also appears as its prefixes at block ends, because the engine scores partial answers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from inferenceguard.critics.training.harm_heads import HarmData
from inferenceguard.critics.training.metrics import roc_auc, threshold_metrics
from inferenceguard.critics.training.rollouts import Rollout
from inferenceguard.prompts.catalog import PromptRecord, QAPair
from inferenceguard.prompts.refusals import is_refusal, synthetic_refusals
from inferenceguard.prompts.splits import text_hash

PREFIX_TOKENS = (16, 32, 48)
HELD_OUT_SHARE = 0.2
REFUSALS_PER_PROMPT = 3
KIND_WEIGHTS = {"mined": 3.0}  # answers the search picked are the cases that matter; other kinds weigh 1


@dataclass(frozen=True)
class Example:
    prompt: str
    response: str
    harmful: int  # the answer goes along with a harmful request
    kind: str  # where the pair comes from, for weights and per-kind metrics
    held_out: bool
    harmful_prompt: bool = True  # the prompt is a harmful request
    refusal: bool = False  # the answer refuses (the `gated` design lets only these through a harmful request)


def held_out(prompt: str) -> bool:
    return int(text_hash(prompt)[8:16], 16) / 16**8 < HELD_OUT_SHARE


class Builder:
    """Collects examples, each answer with its prefixes at block ends."""

    def __init__(self, tokenize: Callable[[str], list[int]], decode: Callable[[list[int]], str]) -> None:
        self.tokenize, self.decode, self.examples = tokenize, decode, list[Example]()

    def add(
        self,
        prompt: str,
        tokens: list[int],
        harmful: int,
        kind: str,
        harmful_prompt: bool = True,
        refusal: bool = False,
    ) -> None:
        lengths = [n for n in PREFIX_TOKENS if n < len(tokens)] + [len(tokens)]
        for length in lengths:
            text = self.decode(tokens[:length])
            self.examples.append(Example(prompt, text, harmful, kind, held_out(prompt), harmful_prompt, refusal))


def build_examples(
    records: Sequence[PromptRecord],
    answers: Sequence[QAPair],
    rollouts: Sequence[Rollout],
    tokenize: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
) -> list[Example]:
    by_id = {r.id: r for r in records if r.split == "train"}
    blocked = {text_hash(r.text) for r in records if r.split != "train"}
    builder = Builder(tokenize, decode)
    for pair in answers:
        if text_hash(pair.prompt) not in blocked:
            kind = "qa-harmful" if pair.harmful else "qa-benign"
            refused = is_refusal(pair.answer)
            builder.add(pair.prompt, tokenize(pair.answer)[:64], int(pair.harmful), kind, refusal=refused)
    for rollout in rollouts:
        record = by_id.get(rollout.prompt_id)
        if record is None or record.category == "toxic_continuation" or not rollout.token_ids:
            continue
        if record.label == "benign":
            kind = "lm-hard-negative" if record.category == "hard_negative" else "lm-benign"
            builder.add(record.text, rollout.token_ids, 0, kind, harmful_prompt=False)
        else:
            refused = is_refusal(decode(rollout.token_ids))
            kind = "lm-refusal" if refused else "lm-complied"
            builder.add(record.text, rollout.token_ids, 0 if refused else 1, kind, refusal=refused)
    harmful_prompts = sorted(
        {r.text for r in by_id.values() if r.label == "harmful" and r.category != "toxic_continuation"}
    )
    for prompt in harmful_prompts:  # refusals of several phrasings, so no single template is learnt
        for refusal in synthetic_refusals(prompt, REFUSALS_PER_PROMPT):
            builder.add(prompt, tokenize(refusal), 0, "refusal", refusal=True)
    return builder.examples


def data_hash(examples: Iterable[Example]) -> str:
    digest = hashlib.sha256()
    for e in sorted(examples, key=lambda e: (e.prompt, e.response, e.harmful)):
        digest.update(json.dumps([e.prompt, e.response, e.harmful]).encode())
    return digest.hexdigest()


def harm_data(examples: Sequence[Example], prompts: np.ndarray, responses: np.ndarray) -> HarmData:
    return HarmData(
        prompts,
        responses,
        np.array([e.harmful for e in examples], dtype=np.float32),
        np.array([KIND_WEIGHTS.get(e.kind, 1.0) for e in examples], dtype=np.float32),
        np.array([e.harmful_prompt for e in examples]),
        np.array([e.refusal for e in examples]),
    )


def evaluate(scores: np.ndarray, data: HarmData, examples: Sequence[Example], budget: float) -> dict[str, float]:
    """Held-out metrics of `scores` at the budget, overall and for the kinds that decide over-refusal and search
    safety."""
    labels = data.labels
    kinds = np.array([e.kind for e in examples])
    metrics = {
        "auc": roc_auc(labels, scores),
        **threshold_metrics(labels, scores, budget),
        "examples": float(len(examples)),
        "harmful_examples": float(labels.sum()),
    }
    for kind, name in (("lm-benign", "benign_prompt"), ("lm-hard-negative", "hard_negative")):
        chosen = kinds == kind
        metrics[f"{name}_false_positive_rate"] = (
            float((scores[chosen] > budget).mean()) if chosen.any() else float("nan")
        )
    mined_along = (kinds == "mined") & (labels > 0)
    metrics["mined_false_negative_rate"] = (
        float((scores[mined_along] <= budget).mean()) if mined_along.any() else float("nan")
    )
    return metrics
