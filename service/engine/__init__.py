"""The decoding engine: InferenceGuard's block search and the baselines, on any causal LM. No grpc here.

The names below load their module on first use, so that importing a light module of the engine (its errors,
say, which the settings use) does not import torch: a health probe or `config show` starts in a fraction of
a second.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inferenceguard.service.engine.engine import Engine
    from inferenceguard.service.engine.errors import EngineError, InvalidOptionError, ScorerError
    from inferenceguard.service.engine.guard import BoundCritic, Guard, simple_guard
    from inferenceguard.service.engine.lm import LanguageModel
    from inferenceguard.service.engine.options import STRATEGIES, SearchOptions
    from inferenceguard.service.engine.safety_state import BudgetedCost
    from inferenceguard.service.engine.types import (
        BlockTrace,
        Chunk,
        FinishReason,
        GenerationResult,
        Started,
        Stop,
        Usage,
    )

_MODULES = {
    "engine": ("Engine",),
    "errors": ("EngineError", "InvalidOptionError", "ScorerError"),
    "guard": ("BoundCritic", "Guard", "simple_guard"),
    "lm": ("LanguageModel",),
    "options": ("STRATEGIES", "SearchOptions"),
    "safety_state": ("BudgetedCost",),
    "types": ("BlockTrace", "Chunk", "FinishReason", "GenerationResult", "Started", "Stop", "Usage"),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}
__all__ = [  # noqa: RUF022 - grouped as _MODULES
    "Engine", "EngineError", "InvalidOptionError", "ScorerError", "BoundCritic", "Guard", "simple_guard",
    "LanguageModel", "STRATEGIES", "SearchOptions", "BudgetedCost",
    "BlockTrace", "Chunk", "FinishReason", "GenerationResult", "Started", "Stop", "Usage",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
