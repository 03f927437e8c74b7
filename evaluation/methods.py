"""The methods compared, at matched compute: every search samples N children per step or block, with the
paper's K = N/4 beams and the same block width w and length D (method.md §5, Table 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inferenceguard.service.engine import SearchOptions

PAIRED_REFERENCE = "inferenceguard_critic"  # the headline method; the report compares every other one with it


@dataclass(frozen=True)
class Method:
    name: str
    title: str  # the row title in the report, after the paper's Table 2
    options: SearchOptions
    critic: bool  # the guide's critic is loaded (InferenceGuard with critic, RE-Control)


def methods(n: int, w: int, d: int, large_n: int = 0) -> dict[str, Method]:
    """Every method at N = n; InferenceGuard with and without the critic also at N = large_n when it is not 0."""
    search: dict[str, Any] = {"num_candidates": n, "block_tokens": w, "max_new_tokens": d}
    table = [
        Method("base", "Base (sample)", SearchOptions(strategy="sample", max_new_tokens=d), False),
        Method("recontrol", "RE-Control", SearchOptions(strategy="recontrol", max_new_tokens=d), True),
        Method("bon_lagrangian", f"Best-of-N + Lagrangian N={n}", _opts("best_of_n", "lagrangian", search), False),
        Method("bon_augmented", f"Best-of-N + Augmented safety N={n}", _opts("best_of_n", "augmented", search), False),
        Method("beam_lagrangian", f"Beam search + Lagrangian N={n}", _opts("beam", "lagrangian", search), False),
        Method("beam_augmented", f"Beam search + Augmented safety N={n}", _opts("beam", "augmented", search), False),
        Method("args_reward", f"ARGS (reward) k={n}", _args("reward", n, d), False),
        Method("args_cost", f"ARGS + Cost Model k={n}", _args("cost", n, d), False),
        Method("inferenceguard", f"InferenceGuard N={n}", SearchOptions(strategy="inferenceguard", **search), False),
        Method(
            PAIRED_REFERENCE,
            f"InferenceGuard with Critic N={n}",
            SearchOptions(strategy="inferenceguard", **search),
            True,
        ),
    ]
    if large_n:
        large = SearchOptions(strategy="inferenceguard", **(search | {"num_candidates": large_n}))
        table += [
            Method(f"inferenceguard_n{large_n}", f"InferenceGuard N={large_n}", large, False),
            Method(f"inferenceguard_critic_n{large_n}", f"InferenceGuard with Critic N={large_n}", large, True),
        ]
    return {method.name: method for method in table}


def _opts(strategy: str, scoring: str, search: dict[str, Any]) -> SearchOptions:
    return SearchOptions(strategy=strategy, scoring=scoring, **search)


def _args(guidance: str, n: int, d: int) -> SearchOptions:
    return SearchOptions(strategy="args", args_guidance=guidance, args_top_k=n, max_new_tokens=d)
