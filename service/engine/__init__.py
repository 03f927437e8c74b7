"""The decoding engine: InferenceGuard's block search and the baselines, on any causal LM. No grpc here."""

from inferenceguard.service.engine.engine import Engine
from inferenceguard.service.engine.errors import EngineError, InvalidOptionError, ScorerError
from inferenceguard.service.engine.guard import BoundCritic, Guard, simple_guard
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.options import STRATEGIES, SearchOptions
from inferenceguard.service.engine.safety_state import BudgetedCost
from inferenceguard.service.engine.types import BlockTrace, Chunk, FinishReason, GenerationResult, Started, Usage

__all__ = [
    "STRATEGIES",
    "BlockTrace",
    "BoundCritic",
    "BudgetedCost",
    "Chunk",
    "Engine",
    "EngineError",
    "FinishReason",
    "GenerationResult",
    "Guard",
    "InvalidOptionError",
    "LanguageModel",
    "ScorerError",
    "SearchOptions",
    "Started",
    "Usage",
    "simple_guard",
]
