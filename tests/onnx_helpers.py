"""Tiny ONNX models and manifests built inside a test's tmp_path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from inferenceguard.critics.artifacts import sha256_of


class TinyCritic(torch.nn.Module):
    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.body = torch.nn.Linear(hidden_size + 1, 2)

    def forward(self, hidden: torch.Tensor, budget_state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.body(torch.cat([hidden, budget_state], dim=1))
        return torch.sigmoid(out[:, 0]), out[:, 1]


def export_critic(path: Path, hidden_size: int, input_names: tuple[str, str] = ("hidden", "budget_state")) -> Path:
    torch.manual_seed(0)
    torch.onnx.export(
        TinyCritic(hidden_size),
        (torch.zeros(1, hidden_size), torch.ones(1, 1)),
        str(path),
        input_names=list(input_names),
        output_names=["p_safe", "value"],
        dynamic_axes={input_names[0]: {0: "b"}, input_names[1]: {0: "b"}},
        dynamo=False,
    )
    return path


def critic_manifest(
    folder: Path, hidden_size: int, lm_id: str = "tiny-llama", layer: int = -1, **overrides: Any
) -> Path:
    onnx = export_critic(folder / "critic.onnx", hidden_size)
    fields: dict[str, Any] = {
        "name": "tiny-critic",
        "version": "1",
        "kind": "critic",
        "onnx": onnx.name,
        "sha256": sha256_of(onnx),
        "inputs": [
            {"name": "hidden", "dtype": "float32", "shape": ["batch", hidden_size]},
            {"name": "budget_state", "dtype": "float32", "shape": ["batch", 1]},
        ],
        "outputs": [
            {"name": "p_safe", "dtype": "float32", "shape": ["batch"]},
            {"name": "value", "dtype": "float32", "shape": ["batch"]},
        ],
        "lm": {"id": lm_id, "hidden_size": hidden_size, "layer": layer},
        "policy": "words",
        "budget": 0.5,
    }
    fields.update(overrides)
    path = folder / "critic.manifest.json"
    path.write_text(json.dumps(fields))
    return path


def export_training_critic(path: Path, hidden_size: int, width: int = 16, seed: int = 0) -> Path:
    """A randomly initialised `critics.training.critic.Critic`, exported as the training pipeline does (its
    parameter names become the initializer names), so it has a differentiable copy."""
    from inferenceguard.critics.training.critic import Critic

    torch.manual_seed(seed)
    torch.onnx.export(
        Critic(hidden_size, width).eval(),
        (torch.zeros(1, hidden_size), torch.ones(1, 1)),
        str(path),
        input_names=["hidden", "budget_state"],
        output_names=["p_safe", "value"],
        dynamic_axes={"hidden": {0: "b"}, "budget_state": {0: "b"}, "p_safe": {0: "b"}, "value": {0: "b"}},
        opset_version=17,
        dynamo=False,
    )
    return path
