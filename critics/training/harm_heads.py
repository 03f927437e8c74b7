"""The two designs of the `harm` cost model compared on dev, both reading MiniLM embeddings of the prompt p and
the answer so far r, both exported with the same ONNX signature (prompt_embedding, response_embedding -> cost):

- `joint`: one MLP on [p, r, p * r] -> P(the answer complies with a harmful request) (harm 1.0.0's design);
- `factored`: P(the request is harmful | p) x P(the answer goes along | p, r). The first factor is fixed for a
  request, so no search over answers can lower it; the second is learnt from answers to harmful requests only,
  where "goes along" is what the reading rubric counts (A or H). A benign request costs little whatever the
  answer, so over-refusal is decided by the prompt factor alone, which is trained on every prompt of the train
  split (the LM-written requests and the hard negatives included).
- `gated`: P(the request is harmful | p) x P(the answer is not a refusal | p, r). The request factor is a MiniLM
  fine-tuned end to end (critics/training/gate.py), fed to the exported head as `prompt_harm`; the answer factor
  lets only refusals through on a harmful request: an answer that does not go along but does not refuse either
  is withheld too, since a search over many candidates finds whatever a "goes along" classifier misses.
- `strict`: `gated` whose answer factor counts a refusal only where the refusal rule
  (policies/builtin/refusal_rule.py, fed as `refuses_outright`) reads one too: the learnt factor alone took warm
  openers for refusals. Trained exactly as `gated`; only the exported signature differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn

DIMENSION = 384
GATED_DESIGNS = ("gated", "strict")  # fed the request gate's P(harmful) as `prompt_harm`


@dataclass(frozen=True)
class HarmData:
    prompts: np.ndarray  # [n, 384] prompt embeddings
    responses: np.ndarray  # [n, 384] answer embeddings
    labels: np.ndarray  # [n] 1 = the answer goes along with a harmful request
    weights: np.ndarray  # [n] per-example weight (mined and scarce kinds count more)
    harmful_prompt: np.ndarray  # [n] bool: the example's prompt is a harmful request
    refusal: np.ndarray  # [n] bool: the answer refuses

    def take(self, mask: np.ndarray) -> HarmData:
        arrays = (self.prompts, self.responses, self.labels, self.weights, self.harmful_prompt, self.refusal)
        return HarmData(*(a[mask] for a in arrays))


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


class GatedHarmHead(nn.Module):
    """The `gated` design's exported part: the request factor comes in as `prompt_harm` and is recentred so that
    a request at the gate's threshold (chosen on dev) costs half."""

    def __init__(self, hidden: int = 256, gate_threshold: float = 0.5) -> None:
        super().__init__()
        if not 0 < gate_threshold < 1:
            raise ValueError(f"gate_threshold must be between 0 and 1, got {gate_threshold}")
        self.answer = _mlp(3 * DIMENSION, hidden)
        self.gate_offset: torch.Tensor
        self.register_buffer("gate_offset", torch.tensor(math.log(gate_threshold / (1 - gate_threshold))))

    def request_harm(self, prompt_harm: torch.Tensor) -> torch.Tensor:
        p = prompt_harm.clamp(1e-6, 1 - 1e-6)
        return torch.sigmoid(torch.log(p) - torch.log1p(-p) - self.gate_offset)

    def not_refused(self, prompt_embedding: torch.Tensor, response_embedding: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.answer(_pair(prompt_embedding, response_embedding))).squeeze(1)

    def forward(
        self, prompt_harm: torch.Tensor, prompt_embedding: torch.Tensor, response_embedding: torch.Tensor
    ) -> torch.Tensor:
        return self.request_harm(prompt_harm) * self.not_refused(prompt_embedding, response_embedding)


class StrictHarmHead(GatedHarmHead):
    """The `strict` design: an answer counts as a refusal only as far as the rule says it refuses outright."""

    def forward(  # type: ignore[override]  # one more input than `gated`
        self,
        prompt_harm: torch.Tensor,
        refuses_outright: torch.Tensor,
        prompt_embedding: torch.Tensor,
        response_embedding: torch.Tensor,
    ) -> torch.Tensor:
        refused = refuses_outright * (1 - self.not_refused(prompt_embedding, response_embedding))
        return self.request_harm(prompt_harm) * (1 - refused)


HEADS: dict[str, type[nn.Module]] = {
    "joint": HarmHead,
    "factored": FactoredHarmHead,
    "gated": GatedHarmHead,
    "strict": StrictHarmHead,
}
DESIGNS = tuple(HEADS)


def train(design: str, data: HarmData, *, epochs: int = 15, seed: int = 0, gate_threshold: float = 0.5) -> nn.Module:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    tensors = [torch.from_numpy(np.ascontiguousarray(a)).float() for a in (data.prompts, data.responses, data.labels)]
    weights = torch.from_numpy(data.weights).float()
    if design == "joint":
        joint = HarmHead()
        _fit(joint, lambda b: joint(tensors[0][b], tensors[1][b]), tensors[2], weights, epochs, generator)
        return joint.eval()
    if design in GATED_DESIGNS:
        gated = cast(GatedHarmHead, HEADS[design](gate_threshold=gate_threshold))
        along = torch.from_numpy(np.flatnonzero(data.harmful_prompt))
        p, r = (t[along] for t in tensors[:2])
        y = torch.from_numpy(1.0 - data.refusal[along].astype(np.float32))
        _fit(gated.answer, lambda b: gated.not_refused(p[b], r[b]), y, weights[along], epochs, generator)
        return gated.eval()
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
