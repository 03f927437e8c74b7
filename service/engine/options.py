"""Every parameter of the search (method.md §2.1), validated once, with documented defaults.

Defaults are sized for a CPU host running the 135M default model; the paper's GPU configuration is
N=128, K=N/4, w=32, D=128. Unset `budget` means "each cost function's own default budget".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from inferenceguard.service.engine.errors import InvalidOptionError

STRATEGIES = ("sample", "best_of_n", "beam", "args", "inferenceguard", "recontrol")
SCORINGS = ("augmented", "lagrangian")
ARGS_GUIDANCE = ("reward", "lagrangian", "cost")
ON_EXHAUSTED = ("stop", "best_effort")
SCORE_SOURCES = ("reward", "value")
RECONTROL_OBJECTIVES = ("value", "lagrangian")
MAX_CANDIDATES = 1024
MAX_RECONTROL_STEPS = 1000  # each step is one critic forward and backward pass per token; Table 1 uses 30
# Sampling divides float32 logits by the temperature, and beta, omega and lambda multiply into logits or scores:
# a positive temperature below MIN_TEMPERATURE or a weight above MAX_WEIGHT overflows to inf, softmax then yields
# NaN and the search fails. Both bounds are far beyond any useful setting (T < 1e-7 is greedy; a weight of 1e6
# already outweighs every logit). 1e-7 is chosen because its float32 rounding (the proto's type) is above it.
MIN_TEMPERATURE = 1e-7
MAX_WEIGHT = 1e6


def _option(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class SearchOptions:
    strategy: str = _option("inferenceguard", "sample | best_of_n | beam | args | inferenceguard | recontrol")
    num_candidates: int = _option(16, "N: children sampled per block (best_of_n: complete responses)")
    num_beams: int | None = _option(None, "K: beams kept per block; unset = max(1, N // 4) as in the paper")
    block_tokens: int = _option(16, "w: tokens per block")
    max_new_tokens: int = _option(128, "D: most tokens in a response")
    temperature: float = _option(1.0, "sampling temperature; 0 = greedy")
    top_p: float = _option(1.0, "nucleus sampling mass; 1 = off")
    top_k: int = _option(0, "keep the k most likely tokens; 0 = off")
    seed: int | None = _option(None, "random seed; unset = drawn at random and reported")
    budget: float | None = _option(None, "d: safety budget; unset = each cost function's default")
    unsafe_penalty: float = _option(math.inf, "n: score of an unsafe candidate is -n; inf ranks safe before unsafe")
    scoring: str = _option("augmented", "best_of_n and beam: augmented (r or -n) or lagrangian (r - lambda*c)")
    lagrange_lambda: float = _option(5.0, "lambda: cost weight of the Lagrangian scorings")
    args_weight: float = _option(2.5, "omega: ARGS guidance weight")
    args_top_k: int = _option(20, "ARGS candidate tokens per step")
    args_guidance: str = _option("reward", "reward | lagrangian (r - lambda*c) | cost (-c)")
    recontrol_steps: int = _option(30, "RE-Control gradient-ascent steps on the final hidden state per token")
    recontrol_step_size: float = _option(0.5, "RE-Control step size of the ascent on the hidden state")
    recontrol_objective: str = _option(
        "value", "what RE-Control ascends: value | lagrangian (value - lambda*(1 - p_safe))"
    )
    logit_penalty_beta: float = _option(5.0, "beta: fallback logit penalty per unit of unsafe-token share")
    max_retries: int = _option(2, "M: all-unsafe fallback resamples per block; 0 = off")
    p_safe_threshold: float = _option(0.5, "critic p_safe below this marks a child predicted unsafe")
    score_source: str = _option("reward", "what ranks safe children when a critic is loaded: reward | value")
    critic_triggers_fallback: bool = _option(
        False,
        "resample also when every child within budget is predicted unsafe (default: only when none is within budget)",
    )
    on_exhausted: str = _option("stop", "when no child is safe after M retries: stop (fail closed) | best_effort")
    exhausted_message: str = _option("", "appended when generation stops on an exhausted budget")
    commit_lag_blocks: int | None = _option(
        None,
        "L: once a block is L blocks behind the frontier, commit the leading beam's text for it and drop the beams "
        "that disagree (an earlier first chunk); unset = commit only what every beam agrees on",
    )
    time_limit_s: float | None = _option(None, "stop after this many seconds with the text so far")
    chat_template: bool | None = _option(None, "wrap the prompt in the chat template; unset = when the model has one")

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def beams(self) -> int:
        return self.num_beams if self.num_beams is not None else max(1, self.num_candidates // 4)

    def with_updates(self, **changes: Any) -> SearchOptions:
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            raise InvalidOptionError(unknown[0], f"unknown option; known options: {', '.join(option_names())}")
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def option_names() -> list[str]:
    return [f.name for f in fields(SearchOptions)]


def _check_weight(o: SearchOptions, name: str) -> None:
    """A weight that multiplies into logits or scores: beyond MAX_WEIGHT it overflows them (and NaN fails too)."""
    value = getattr(o, name)
    _check(0 <= value <= MAX_WEIGHT, name, f"must be a number in [0, {MAX_WEIGHT:g}], got {value}")


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise InvalidOptionError(field, message)


def _choice(value: str, field: str, choices: tuple[str, ...]) -> None:
    _check(value in choices, field, f"must be one of {', '.join(choices)}; got {value!r}")


def _validate(o: SearchOptions) -> None:
    _choice(o.strategy, "strategy", STRATEGIES)
    _choice(o.scoring, "scoring", SCORINGS)
    _choice(o.args_guidance, "args_guidance", ARGS_GUIDANCE)
    _choice(o.on_exhausted, "on_exhausted", ON_EXHAUSTED)
    _choice(o.score_source, "score_source", SCORE_SOURCES)
    _choice(o.recontrol_objective, "recontrol_objective", RECONTROL_OBJECTIVES)
    _check(
        1 <= o.num_candidates <= MAX_CANDIDATES,
        "num_candidates",
        f"must be in 1..{MAX_CANDIDATES}, got {o.num_candidates}",
    )
    if o.num_beams is not None:
        _check(o.num_beams >= 1, "num_beams", f"must be at least 1, got {o.num_beams}")
        _check(
            o.num_beams <= o.num_candidates,
            "num_beams",
            f"must not exceed num_candidates ({o.num_candidates}), got {o.num_beams}",
        )
    _check(o.block_tokens >= 1, "block_tokens", f"must be at least 1, got {o.block_tokens}")
    _check(o.max_new_tokens >= 1, "max_new_tokens", f"must be at least 1, got {o.max_new_tokens}")
    _check(
        math.isfinite(o.temperature) and (o.temperature == 0 or o.temperature >= MIN_TEMPERATURE),
        "temperature",
        f"must be a finite number >= 0 (0 = greedy) and, when not 0, at least {MIN_TEMPERATURE}, got {o.temperature}",
    )
    _check(0 < o.top_p <= 1, "top_p", f"must be in (0, 1], got {o.top_p}")
    _check(o.top_k >= 0, "top_k", f"must be >= 0 (0 = off), got {o.top_k}")
    _check(o.seed is None or 0 <= o.seed < 2**63, "seed", f"must be in 0..2^63-1, got {o.seed}")
    _check(
        o.budget is None or (math.isfinite(o.budget) and o.budget >= 0),
        "budget",
        f"must be a finite number >= 0, got {o.budget}",
    )
    _check(o.unsafe_penalty > 0, "unsafe_penalty", f"must be > 0 (inf allowed), got {o.unsafe_penalty}")
    _check_weight(o, "lagrange_lambda")
    _check_weight(o, "args_weight")
    _check(1 <= o.args_top_k <= MAX_CANDIDATES, "args_top_k", f"must be in 1..{MAX_CANDIDATES}, got {o.args_top_k}")
    _check_weight(o, "logit_penalty_beta")
    _check(
        0 <= o.recontrol_steps <= MAX_RECONTROL_STEPS,
        "recontrol_steps",
        f"must be in 0..{MAX_RECONTROL_STEPS}, got {o.recontrol_steps}",
    )
    _check_weight(o, "recontrol_step_size")
    _check(0 <= o.max_retries <= 16, "max_retries", f"must be in 0..16, got {o.max_retries}")
    _check(0 <= o.p_safe_threshold <= 1, "p_safe_threshold", f"must be in [0, 1], got {o.p_safe_threshold}")
    _check(
        o.commit_lag_blocks is None or o.commit_lag_blocks >= 0,
        "commit_lag_blocks",
        f"must be >= 0 (unset = never), got {o.commit_lag_blocks}",
    )
    _check(o.time_limit_s is None or o.time_limit_s > 0, "time_limit_s", f"must be > 0, got {o.time_limit_s}")
