"""Low-rank adapters (LoRA) for fine-tuning a frozen encoder: only the adapters and a small head are trained and
shipped (a few hundred kilobytes), and the full model is rebuilt from the base weights and merged adapters."""

from __future__ import annotations

import math

import torch
from torch import nn

TARGETS = ("query", "value", "intermediate.dense", "output.dense")


class LoraLinear(nn.Module):
    """y = W x + (alpha / rank) * B A x, with W frozen and B zero at the start (the base model unchanged)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale

    def merged(self) -> nn.Linear:
        with torch.no_grad():
            self.base.weight += (self.lora_b @ self.lora_a) * self.scale
        return self.base


def add_adapters(model: nn.Module, rank: int = 8, alpha: float = 16.0, targets: tuple[str, ...] = TARGETS) -> None:
    """Freeze `model` and wrap every linear layer whose name ends with one of `targets` in an adapter."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.Linear) and name.endswith(targets):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, LoraLinear(module, rank, alpha))


def merge_adapters(model: nn.Module) -> None:
    """Fold every adapter into its base layer, leaving a plain model (for export)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, LoraLinear):
            parent_name, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent_name), child, module.merged())


def adapter_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The trainable tensors only: what is shipped."""
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}
