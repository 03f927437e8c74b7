"""The one table from a strategy's name to how it runs and what it holds: the engine starts a request through it
and the service prices one by it, so no other module dispatches on the strategy string.

`sample`, `best_of_n`, `beam` and `inferenceguard` are plans of the one block search; `args` and `recontrol` run
token by token with runners of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from inferenceguard.service.engine.args_decoding import run_args
from inferenceguard.service.engine.calls import Search
from inferenceguard.service.engine.candidates import Plan
from inferenceguard.service.engine.context import RequestContext
from inferenceguard.service.engine.options import SearchOptions
from inferenceguard.service.engine.recontrol import run_recontrol
from inferenceguard.service.engine.search import BlockSearch


@dataclass(frozen=True)
class Footprint:
    """What one request of a strategy holds and scores, for admission by work."""

    sequences: int  # in the KV cache at once
    scored_per_step: int  # candidates scored per block (or per token)
    steps: int
    attempts: int  # per step: 1 + the fallback's resamples


@dataclass(frozen=True)
class Strategy:
    start: Callable[[RequestContext, bool], Search]  # (the request, whether a critic is loaded)
    footprint: Callable[[SearchOptions], Footprint]
    in_blocks: bool = True  # works block by block (block_tokens matters); False: token by token
    batched: bool = True  # its model passes go through its calls, so the scheduler can batch them


def _blocks(options: SearchOptions) -> int:
    return math.ceil(options.max_new_tokens / options.block_tokens)


def _block_search(plan: Callable[[SearchOptions, bool], Plan]) -> Callable[[RequestContext, bool], Search]:
    return lambda ctx, has_critic: BlockSearch(ctx, plan(ctx.options, has_critic)).run()


def _lagrangian(options: SearchOptions) -> bool:
    return options.scoring == "lagrangian"


STRATEGIES: dict[str, Strategy] = {
    "sample": Strategy(
        _block_search(lambda o, _: Plan(1, 1, False, False, 0, False)),
        lambda o: Footprint(1, 1, _blocks(o), 1),
    ),
    "best_of_n": Strategy(  # N independent lineages, ranked once they are complete
        _block_search(lambda o, _: Plan(o.num_candidates, o.num_candidates, False, False, 0, False, _lagrangian(o))),
        lambda o: Footprint(o.num_candidates + 1, o.num_candidates, _blocks(o), 1),
    ),
    "beam": Strategy(
        _block_search(lambda o, _: Plan(o.beams, o.num_candidates, True, False, 0, False, _lagrangian(o))),
        lambda o: Footprint(o.num_candidates + 1, o.num_candidates, _blocks(o), 1),
    ),
    "inferenceguard": Strategy(  # resampled children live beside the kept ones while a block is retried
        _block_search(lambda o, critic: Plan(o.beams, o.num_candidates, True, True, o.max_retries, critic)),
        lambda o: Footprint(2 * o.num_candidates + 1, o.num_candidates, _blocks(o), 1 + o.max_retries),
    ),
    "args": Strategy(  # one sequence, one token a step, its top-k continuations scored
        lambda ctx, _: run_args(ctx),
        lambda o: Footprint(1, o.args_top_k, o.max_new_tokens, 1),
        in_blocks=False,
    ),
    "recontrol": Strategy(  # one sequence; the critic runs recontrol_steps times a token
        lambda ctx, _: run_recontrol(ctx),
        lambda o: Footprint(1, 1, o.max_new_tokens, 1 + o.recontrol_steps),
        in_blocks=False,
        batched=False,  # edits the final state before lm_head: runs its own passes beside the scheduler
    ),
}
