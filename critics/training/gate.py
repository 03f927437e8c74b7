"""The request gate of the `gated` harm design: P(the request is harmful | prompt), read by all-MiniLM-L6-v2
fine-tuned end to end through low-rank adapters (critics/training/lora.py).

A frozen mean-pooled embedding cannot tell "how do I kill a Python process" from a harmful request (30% of dev
hard negatives flagged); fine-tuning reads the request word by word. The search cannot move this factor: it is
fixed by the prompt before any token is sampled.

Training prompts come from the train split only: harmful requests (AdvBench, Do-Not-Answer, and pyrit's harmful
questions not found in another split) against every benign train prompt (hard negatives weighted up). HarmBench's
contextual requests put a passage before the request; no training source does, so a share of the prompts is also
shown after an unrelated passage (other benign prompts joined), labelled by the request alone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inferenceguard.critics.lora import TARGETS, add_adapters
from inferenceguard.policies.builtin.harm_gate_build import PromptGate, base_encoder
from inferenceguard.policies.builtin.minilm import MAX_TOKENS  # the tokenizer truncates from the left
from inferenceguard.prompts.catalog import PromptRecord, QAPair
from inferenceguard.prompts.splits import text_hash

HARD_NEGATIVE_WEIGHT = 3.0
CONTEXT_SHARE = 0.3
BATCH = 32
EPOCHS = 3
RANK, ALPHA = 8, 16.0


@dataclass(frozen=True)
class GateExample:
    text: str
    harmful: bool
    weight: float = 1.0


def gate_examples(records: Sequence[PromptRecord], answers: Sequence[QAPair], *, seed: int = 0) -> list[GateExample]:
    """Train-split requests, each once plainly and, for a share, after a passage of unrelated benign prompts."""
    blocked = {text_hash(r.text) for r in records if r.split != "train"}
    train = [r for r in records if r.split == "train" and r.category != "toxic_continuation"]
    base = [GateExample(r.text, r.label == "harmful", _weight(r)) for r in train]
    seen = {text_hash(r.text) for r in train}
    for pair in answers:
        key = text_hash(pair.prompt)
        if pair.harmful and key not in blocked and key not in seen:
            seen.add(key)
            base.append(GateExample(pair.prompt, True))
    rng = random.Random(seed)
    passages = [r.text for r in train if r.label == "benign"]
    contextual = [
        GateExample(_passage(passages, rng) + "\n\n" + e.text, e.harmful, e.weight)
        for e in base
        if rng.random() < CONTEXT_SHARE
    ]
    return base + contextual


def _weight(record: PromptRecord) -> float:
    return HARD_NEGATIVE_WEIGHT if record.category == "hard_negative" else 1.0


def _passage(texts: Sequence[str], rng: random.Random) -> str:
    return " ".join(rng.sample(list(texts), rng.randint(3, 8)))


def train_gate(examples: Sequence[GateExample], *, epochs: int = EPOCHS, seed: int = 0) -> tuple[PromptGate, object]:
    """AdamW on class-balanced, weighted cross-entropy; only the adapters and the head learn. Returns the gate
    and its tokenizer."""
    from tqdm import tqdm

    torch.manual_seed(seed)
    encoder, tokenizer = base_encoder()
    add_adapters(encoder, RANK, ALPHA, TARGETS)
    gate = PromptGate(encoder)
    labels = torch.tensor([e.harmful for e in examples], dtype=torch.float32)
    positives = labels.sum().clamp(min=1)
    balance = torch.where(labels > 0, (labels == 0).sum() / positives, torch.ones_like(labels))
    weights = balance * torch.tensor([e.weight for e in examples])
    optimiser = torch.optim.AdamW([p for p in gate.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(seed)
    lengths = [len(e.text) for e in examples]
    for epoch in range(epochs):
        gate.train()
        for batch in tqdm(_batches(lengths, generator), desc=f"gate epoch {epoch + 1}/{epochs}", unit="batch"):
            ids, mask = encode(tokenizer, [examples[i].text for i in batch])
            loss = nn.functional.binary_cross_entropy(gate(ids, mask), labels[batch], weight=weights[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return gate.eval(), tokenizer


def _batches(lengths: Sequence[int], generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled batches of texts of similar length (little padding): shuffle, sort within windows of 16 batches,
    split, shuffle the batches."""
    order = torch.randperm(len(lengths), generator=generator)
    batches: list[torch.Tensor] = []
    for window in order.split(BATCH * 16):
        ranked = window[torch.argsort(torch.tensor([lengths[i] for i in window.tolist()]))]
        batches += list(ranked.split(BATCH))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def encode(tokenizer: object, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    batch = tokenizer(  # type: ignore[operator]
        list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
    )
    return batch["input_ids"], batch["attention_mask"]


def predict(gate: PromptGate, tokenizer: object, texts: Sequence[str]) -> np.ndarray:
    with torch.no_grad():
        parts = [gate(*encode(tokenizer, texts[i : i + 64])) for i in range(0, len(texts), 64)]
    return torch.cat(parts).numpy() if parts else np.zeros(0, np.float32)
