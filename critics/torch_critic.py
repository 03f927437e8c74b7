"""A differentiable PyTorch copy of an ONNX critic, for strategies that need gradients through it (RE-Control).

Contract: the ONNX file was exported from `critics/training/critic.py::Critic`, whose exporter keeps the module's
parameter names as initializer names (body.0.*, body.3.*, safe_logit.*, value.*). The sizes are read from the
weights, and a copy is accepted only when it matches onnxruntime's outputs on a random batch: a critic of another
architecture is refused with an error naming its file, never run with the wrong function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from inferenceguard.critics.onnx_critic import CriticLoadError
from inferenceguard.critics.training.critic import Critic

# float32 Gemm (onnxruntime) and Linear (torch) sum in different orders; anything beyond rounding is a wrong copy
PARITY_TOLERANCE = 1e-4
PARITY_BATCH = 8
FIRST_WEIGHT = "body.0.weight"  # [width, hidden_size + 1]: the layer that reads [hidden, z/d]


def torch_critic(path: Path, session: Any) -> Critic:
    """The critic of `path` as a frozen `Critic` in eval mode (dropout off), checked against `session`."""
    weights = _initializers(path)
    model = _critic_of(path, weights)
    _check_parity(path, model, session)
    return model


def _initializers(path: Path) -> dict[str, torch.Tensor]:
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as exc:
        raise CriticLoadError(path, "onnx", f"cannot be read ({exc})") from exc
    return {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()) for init in graph.initializer}


def _critic_of(path: Path, weights: dict[str, torch.Tensor]) -> Critic:
    first = weights.get(FIRST_WEIGHT)
    if first is None or first.dim() != 2:
        raise CriticLoadError(
            path,
            "differentiable",
            f"has no 2-D initializer {FIRST_WEIGHT!r}: only critics exported from critics/training/critic.py::Critic "
            f"(initializers body.0.*, body.3.*, safe_logit.*, value.*) have a PyTorch copy",
        )
    model = Critic(hidden_size=int(first.shape[1]) - 1, width=int(first.shape[0]))
    expected = model.state_dict().keys()
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise CriticLoadError(path, "differentiable", f"lacks the initializers {', '.join(missing)} of a Critic")
    try:
        model.load_state_dict({name: weights[name] for name in expected})
    except RuntimeError as exc:  # a shape that does not fit the module
        raise CriticLoadError(path, "differentiable", f"does not fit a Critic ({exc})") from exc
    return model.eval().requires_grad_(False)  # gradients flow to the hidden state only


def _check_parity(path: Path, model: Critic, session: Any) -> None:
    hidden_size = model.body[0].in_features - 1
    generator = np.random.default_rng(0)
    hidden = generator.standard_normal((PARITY_BATCH, hidden_size)).astype(np.float32)
    budget_state = generator.uniform(-0.5, 1.5, (PARITY_BATCH, 1)).astype(np.float32)
    expected = session.run(["p_safe", "value"], {"hidden": hidden, "budget_state": budget_state})
    with torch.no_grad():
        actual = model(torch.from_numpy(hidden), torch.from_numpy(budget_state))
    for name, want, got in zip(("p_safe", "value"), expected, actual, strict=True):
        gap = float(np.max(np.abs(np.asarray(want).reshape(-1) - got.numpy())))
        if not gap <= PARITY_TOLERANCE * max(1.0, float(np.max(np.abs(want)))):
            raise CriticLoadError(
                path,
                "parity",
                f"the PyTorch copy's {name} differs from onnxruntime's by {gap:.3g}; not a Critic export",
            )
