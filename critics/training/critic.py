"""The two-head latent critic (method.md §3): from the LM's block-end hidden state and the normalised safety
state z/d, predict p_safe (the answer ends within budget) and the value (the discounted final reward).

Labels come from the policy's cost functions and reward on finished base-LM rollouts. One cost trace yields a
label for any budget, so each state is relabelled for several budgets around d: the critic learns to read z.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inferenceguard.critics.training.metrics import roc_auc
from inferenceguard.critics.training.rollouts import Rollout
from inferenceguard.prompts.splits import text_hash

BUDGET_FACTORS = (0.5, 0.75, 1.0, 1.5)
DISCOUNT = 0.999
HELD_OUT_SHARE = 0.2


@dataclass(frozen=True)
class ScoredRollout:
    rollout: Rollout
    prompt: str
    block_costs: list[float]  # cumulative cost C at each recorded block end
    max_cost: float  # the largest C at any block end of the finished answer, its end included
    reward: float


@dataclass(frozen=True)
class CriticData:
    hidden: np.ndarray  # [n, H] float32
    budget_state: np.ndarray  # [n] z/d'
    safe: np.ndarray  # [n] 1 if the answer ends within d'
    value: np.ndarray  # [n] discounted final reward
    held_out: np.ndarray  # [n] bool


def score_rollouts(
    rollouts: Sequence[Rollout],
    prompts: dict[str, str],
    decode: Callable[[list[int]], str],
    cost: Callable[[list[str], list[str]], np.ndarray],
    reward: Callable[[list[str], list[str]], np.ndarray],
) -> list[ScoredRollout]:
    """Cost at every block end and at the end, and the final reward, for each rollout (batched)."""
    texts, owners = [], []
    for index, r in enumerate(rollouts):
        for end in [*r.block_ends, len(r.token_ids)]:
            texts.append(decode(r.token_ids[:end]))
            owners.append(index)
    costs = _batched(cost, [prompts[rollouts[i].prompt_id] for i in owners], texts, "scoring costs")
    finals = [decode(r.token_ids) for r in rollouts]
    rewards = _batched(reward, [prompts[r.prompt_id] for r in rollouts], finals, "scoring rewards")
    out, cursor = [], 0
    for index, r in enumerate(rollouts):
        trace = costs[cursor : cursor + len(r.block_ends) + 1]
        cursor += len(r.block_ends) + 1
        out.append(
            ScoredRollout(r, prompts[r.prompt_id], list(trace[:-1]), float(np.max(trace)), float(rewards[index]))
        )
    return out


def _batched(
    function: Callable[[list[str], list[str]], np.ndarray],
    prompts: list[str],
    texts: list[str],
    label: str,
    size: int = 64,
) -> np.ndarray:
    from tqdm import tqdm

    starts = tqdm(range(0, len(texts), size), desc=label, unit="batch")
    parts = [np.asarray(function(prompts[i : i + size], texts[i : i + size])) for i in starts]
    return np.concatenate(parts) if parts else np.zeros(0)


def critic_data(scored: Sequence[ScoredRollout], budget: float) -> CriticData:
    hidden, state, safe, value, held = [], [], [], [], []
    for item in scored:
        is_held = int(text_hash(item.prompt)[16:24], 16) / 16**8 < HELD_OUT_SHARE
        length = max(len(item.rollout.token_ids), 1)
        for row, (end, cost) in enumerate(zip(item.rollout.block_ends, item.block_costs, strict=True)):
            for factor in BUDGET_FACTORS:
                d = budget * factor
                if cost > d:  # already over budget: tier 0, the critic is never asked
                    continue
                hidden.append(item.rollout.states[row].astype(np.float32))
                state.append((d - cost) / d)
                safe.append(float(item.max_cost <= d))
                value.append(DISCOUNT ** (length - end) * item.reward)
                held.append(is_held)
    return CriticData(
        np.array(hidden),
        np.array(state, np.float32),
        np.array(safe, np.float32),
        np.array(value, np.float32),
        np.array(held),
    )


def data_hash(scored: Sequence[ScoredRollout], budget: float) -> str:
    digest = hashlib.sha256(f"budget={budget}".encode())
    for item in sorted(scored, key=lambda s: (s.rollout.prompt_id, s.rollout.sample)):
        record = [item.rollout.prompt_id, item.rollout.sample, item.rollout.token_ids, round(item.max_cost, 6)]
        digest.update(json.dumps(record).encode())
    return digest.hexdigest()


class Critic(nn.Module):
    def __init__(self, hidden_size: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(hidden_size + 1, width), nn.ReLU(), nn.Dropout(0.1), nn.Linear(width, width), nn.ReLU()
        )
        self.safe_logit = nn.Linear(width, 1)
        self.value = nn.Linear(width, 1)

    def forward(self, hidden: torch.Tensor, budget_state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(torch.cat([hidden, budget_state], dim=1))
        return torch.sigmoid(self.safe_logit(features)).squeeze(1), self.value(features).squeeze(1)


def train_critic(data: CriticData, *, width: int, epochs: int = 50, lr: float = 1e-3, seed: int = 0) -> Critic:
    torch.manual_seed(seed)
    keep = ~data.held_out
    h, z, y, v = (torch.from_numpy(a[keep]) for a in (data.hidden, data.budget_state, data.safe, data.value))
    model = Critic(h.shape[1], width)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    positive = y.mean().clamp(0.05, 0.95)
    weight = torch.where(y > 0, 0.5 / positive, 0.5 / (1 - positive))  # balance safe and unsafe labels
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=generator).split(64):
            p_safe, value = model(h[batch], z[batch].unsqueeze(1))
            loss = nn.functional.binary_cross_entropy(p_safe, y[batch], weight=weight[batch])
            loss = loss + nn.functional.mse_loss(value, v[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


def evaluate_critic(model: Critic, data: CriticData) -> dict[str, float]:
    held = data.held_out
    with torch.no_grad():
        p_safe, value = model(
            torch.from_numpy(data.hidden[held]), torch.from_numpy(data.budget_state[held]).unsqueeze(1)
        )
    labels, target = data.safe[held], data.value[held]
    p, v = p_safe.numpy(), value.numpy()
    bins = np.clip((p * 10).astype(int), 0, 9)
    calibration = sum(
        abs(p[bins == b].mean() - labels[bins == b].mean()) * (bins == b).mean() for b in range(10) if (bins == b).any()
    )
    return {
        "held_out_states": float(held.sum()),
        "train_states": float((~held).sum()),
        "held_out_safe_share": float(labels.mean()) if len(labels) else float("nan"),
        "p_safe_auc": roc_auc(labels, p),
        "p_safe_expected_calibration_error": float(calibration),
        "value_correlation": float(np.corrcoef(v, target)[0, 1]) if len(v) > 1 else float("nan"),
        "value_rmse": float(np.sqrt(np.mean((v - target) ** 2))) if len(v) else float("nan"),
    }
