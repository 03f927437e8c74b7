"""The two designs of the `harm` cost model compared on dev, both reading MiniLM embeddings of the prompt p and
the answer so far r, both exported with the same ONNX signature (prompt_embedding, response_embedding -> cost):

- `joint`: one MLP on [p, r, p * r] -> P(the answer complies with a harmful request) (harm 1.0.0's design);
- `factored`: P(the request is harmful | p) x P(the answer goes along | p, r). The first factor is fixed for a
  request, so no search over answers can lower it; the second is learnt from answers to harmful requests only,
  where "goes along" is what the reading rubric counts (A or H). A benign request costs little whatever the
  answer, so over-refusal is decided by the prompt factor alone, which is trained on every prompt of the train
  split (the LM-written requests and the hard negatives included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

DIMENSION = 384
DESIGNS = ("joint", "factored")


@dataclass(frozen=True)
class HarmData:
    prompts: np.ndarray  # [n, 384] prompt embeddings
    responses: np.ndarray  # [n, 384] answer embeddings
    labels: np.ndarray  # [n] 1 = the answer goes along with a harmful request
    weights: np.ndarray  # [n] per-example weight (mined and scarce kinds count more)
    harmful_prompt: np.ndarray  # [n] bool: the example's prompt is a harmful request

    def take(self, mask: np.ndarray) -> HarmData:
        return HarmData(
            *(a[mask] for a in (self.prompts, self.responses, self.labels, self.weights, self.harmful_prompt))
        )


def _mlp(inputs: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Dropout(0.3), nn.Linear(hidden, 1))


def _pair(p: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    return torch.cat([p, r, p * r], dim=1)


class HarmHead(nn.Module):
    """The `joint` design."""

    def __init__(self, hidden: int = 256) -> None:
        super().__init__()
        self.body = _mlp(3 * DIMENSION, hidden)

    def forward(self, prompt_embedding: torch.Tensor, response_embedding: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(_pair(prompt_embedding, response_embedding))).squeeze(1)


class FactoredHarmHead(nn.Module):
    """The `factored` design."""

    def __init__(self, hidden: int = 256) -> None:
        super().__init__()
        self.prompt = _mlp(DIMENSION, hidden)
        self.answer = _mlp(3 * DIMENSION, hidden)

    def prompt_harm(self, prompt_embedding: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.prompt(prompt_embedding)).squeeze(1)

    def goes_along(self, prompt_embedding: torch.Tensor, response_embedding: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.answer(_pair(prompt_embedding, response_embedding))).squeeze(1)

    def forward(self, prompt_embedding: torch.Tensor, response_embedding: torch.Tensor) -> torch.Tensor:
        return self.prompt_harm(prompt_embedding) * self.goes_along(prompt_embedding, response_embedding)


def train(design: str, data: HarmData, *, epochs: int = 15, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)).float() for a in (data.prompts, data.responses, data.labels)]
    weights = torch.from_numpy(data.weights).float()
    if design == "joint":
        joint = HarmHead()
        _fit(joint, lambda b: joint(tensors[0][b], tensors[1][b]), tensors[2], weights, epochs, generator)
        return joint.eval()
    if design != "factored":
        raise ValueError(f"design must be one of {DESIGNS}, got {design!r}")
    model = FactoredHarmHead()
    prompts, first = np.unique(data.prompts, axis=0, return_index=True)
    p_unique = torch.from_numpy(prompts).float()
    y_prompt = torch.from_numpy(data.harmful_prompt[first].astype(np.float32))
    _fit(model.prompt, lambda b: model.prompt_harm(p_unique[b]), y_prompt, torch.ones_like(y_prompt), epochs, generator)
    along = torch.from_numpy(np.flatnonzero(data.harmful_prompt))
    p, r, y = (t[along] for t in tensors)
    _fit(model.answer, lambda b: model.goes_along(p[b], r[b]), y, weights[along], epochs, generator)
    return model.eval()


def _fit(
    module: nn.Module,
    predict: Callable[[torch.Tensor], torch.Tensor],
    labels: torch.Tensor,
    weights: torch.Tensor,
    epochs: int,
    generator: torch.Generator,
) -> None:
    """Adam on class-balanced, weighted binary cross-entropy; `predict(batch indices)` gives probabilities."""
    positives = labels.sum().clamp(min=1)
    balance = torch.where(labels > 0, (labels == 0).sum() / positives, torch.ones_like(labels))
    weight = balance * weights
    optimiser = torch.optim.Adam(module.parameters(), lr=1e-3, weight_decay=1e-3)
    for _ in range(epochs):
        module.train()
        for batch in torch.randperm(len(labels), generator=generator).split(64):
            loss = nn.functional.binary_cross_entropy(predict(batch), labels[batch], weight=weight[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    module.eval()
