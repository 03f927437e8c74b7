"""ARGS (Khanov et al., ICLR 2024), the token-level baseline: among the top-k tokens by logit, pick by
logit(v) + omega * guidance(x, y + v), where guidance is the reward, r - lambda*C, or -C (method.md §4).
"""

from __future__ import annotations

import numpy as np
import torch

from inferenceguard.service.engine.calls import Forward, Prefill, Search, Steps
from inferenceguard.service.engine.candidates import Candidate
from inferenceguard.service.engine.commit import CommitTracker
from inferenceguard.service.engine.context import RequestContext, result_of, started_of, trace_of
from inferenceguard.service.engine.safety_state import SafetyStates
from inferenceguard.service.engine.types import FinishReason


def run_args(ctx: RequestContext) -> Search:
    lm, options, scorers, usage = ctx.lm, ctx.options, ctx.scorers, ctx.usage
    yield started_of(ctx)
    cache, out = yield Prefill(ctx.prompt_ids)
    usage.forward_passes += 1
    commit = CommitTracker(lm.decode)
    best = Candidate([], SafetyStates.start(scorers.costs))
    finish = FinishReason.LENGTH
    while len(best.tokens) < options.max_new_tokens:
        if (reason := ctx.stop_reason()) is not None:
            finish = reason
            break
        top = torch.topk(out.logits[0], min(options.args_top_k, lm.vocab_size))
        ids = [int(i) for i in top.indices]
        texts = [lm.decode([*best.tokens, i]) for i in ids]
        guidance, rewards, states = yield from _guidance(ctx, best, ids, texts)
        scores = top.values.double().cpu().numpy() + options.args_weight * guidance
        pick = _choose(scores, options.temperature, ctx.generator)
        usage.tokens_sampled += 1
        if ids[pick] in lm.eos_token_ids:
            finish = FinishReason.EOS
            break
        if states is not None:
            chosen_states = states.take([pick])
        else:
            chosen_states = yield from _states_of(ctx, best, texts[pick], ids[pick])
        best = Candidate(
            [*best.tokens, ids[pick]], chosen_states, reward=None if rewards is None else float(rewards[pick])
        )
        out = yield Forward(cache, torch.tensor([ids[pick]]))
        usage.forward_passes += 1
        if len(best.tokens) % options.block_tokens == 0:
            usage.blocks += 1
            yield trace_of(best, usage.blocks - 1, len(ids), 0)
        if chunk := commit.advance([best.tokens]):
            yield chunk
    if best.reward is None:
        best.reward = float((yield from scorers.rewards([lm.decode(best.tokens)]))[0])
    chunk, text = commit.finish(best.tokens)
    if chunk:
        yield chunk
    yield result_of(best, text, finish, ctx)


def _guidance(
    ctx: RequestContext, best: Candidate, ids: list[int], texts: list[str]
) -> Steps[tuple[np.ndarray, np.ndarray | None, SafetyStates | None]]:
    """The guidance term per candidate token, with the rewards and safety states it needed."""
    mode, scorers = ctx.options.args_guidance, ctx.scorers
    rewards = (yield from scorers.rewards(texts)) if mode in ("reward", "lagrangian") else None
    if mode == "reward":
        return rewards, rewards, None
    parent = best.states.take([0] * len(ids))
    costs = yield from scorers.cost_scores(texts, [ctx.lm.decode([i]) for i in ids])
    states = parent.advance(costs, scorers.additive)
    total = states.cumulative.sum(axis=1)
    if mode == "cost":
        return -total, None, states
    assert rewards is not None
    return rewards - ctx.options.lagrange_lambda * total, rewards, states


def _states_of(ctx: RequestContext, best: Candidate, text: str, token: int) -> Steps[SafetyStates]:
    scores = yield from ctx.scorers.cost_scores([text], [ctx.lm.decode([token])])
    return best.states.advance(scores, ctx.scorers.additive)


def _choose(scores: np.ndarray, temperature: float, generator: torch.Generator) -> int:
    if temperature == 0:
        return int(np.argmax(scores))
    weights = torch.softmax(torch.from_numpy(scores / temperature), dim=0).float()
    return int(torch.multinomial(weights.to(generator.device), 1, generator=generator).item())
