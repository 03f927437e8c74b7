"""The block search of method.md §2.2. `sample`, `best_of_n`, `beam` and `inferenceguard` are plans of this
one loop: expand -> track safety -> score -> (fallback) -> keep the best -> commit the common prefix.
"""

from __future__ import annotations

import numpy as np
import torch

from inferenceguard.service.engine.blocks import Block, Frontier, sample_block
from inferenceguard.service.engine.calls import Prefill, Search, Steps
from inferenceguard.service.engine.candidates import Candidate, Plan, allocate_children, final_choice, keep_best
from inferenceguard.service.engine.commit import CommitTracker
from inferenceguard.service.engine.context import RequestContext, result_of, started_of, trace_of
from inferenceguard.service.engine.fallback import unsafe_token_share
from inferenceguard.service.engine.lm import kv_bytes
from inferenceguard.service.engine.safety_state import SafetyStates
from inferenceguard.service.engine.sampling import Sampler
from inferenceguard.service.engine.scoring import PREDICTED_UNSAFE, SAFE, VIOLATING, tiers
from inferenceguard.service.engine.types import FinishReason


class BlockSearch:
    def __init__(self, ctx: RequestContext, plan: Plan) -> None:
        self.ctx, self.plan, self.options = ctx, plan, ctx.options
        self.sampler = Sampler(self.options.temperature, self.options.top_p, self.options.top_k)
        self.commit = CommitTracker(ctx.lm.decode)

    def run(self) -> Search:
        ctx = self.ctx
        yield started_of(ctx)
        cache, out = yield Prefill(ctx.prompt_ids)
        ctx.usage.forward_passes += 1
        frontier = Frontier(cache, out.logits, out.hidden)
        kept = [Candidate([], SafetyStates.start(ctx.scorers.costs), row=0)]
        while live := [c for c in kept if c.finish is None]:
            if (reason := ctx.stop_reason()) is not None:
                yield from self._finish(kept, reason)
                return
            expanded = yield from self._expand(live, frontier)
            if expanded is None:  # stopped mid-block: nothing of that block was checked, so none of it is used
                yield from self._finish(kept, ctx.stop_reason() or FinishReason.ABORTED)
                return
            children, block, retries = expanded
            if self.plan.tiered and not self._acceptable(children) and self.options.on_exhausted == "stop":
                yield from self._finish(kept, FinishReason.BUDGET_EXHAUSTED)
                return
            kept = keep_best(children + [c for c in kept if c.finish is not None], self.options, self.plan)
            frontier = block.frontier
            ctx.usage.blocks += 1
            kept = self._agreeing_with_leader(kept, ctx.usage.blocks)
            yield trace_of(kept[0], ctx.usage.blocks - 1, len(children) * (retries + 1), retries)
            if chunk := self.commit.advance([c.tokens for c in kept]):
                yield chunk
        yield from self._finish(kept, None)

    def _agreeing_with_leader(self, kept: list[Candidate], blocks: int) -> list[Candidate]:
        """commit_lag_blocks = L: the leading beam's text up to L blocks behind the frontier becomes final, and the
        beams that disagree with it are dropped (so the commit below releases it). Ranked plans only."""
        lag = self.options.commit_lag_blocks
        if lag is None or not self.plan.rank_each_block or blocks <= lag:
            return kept
        leader = kept[0].tokens[: (blocks - lag) * self.options.block_tokens]
        return [c for c in kept if c.tokens[: len(leader)] == leader]

    # -- step 1 and 4: expand, resampling with a logit penalty while every child is unsafe -------------------
    def _expand(self, live: list[Candidate], frontier: Frontier) -> Steps[tuple[list[Candidate], Block, int] | None]:
        parents = allocate_children(len(live), self.plan.children)
        rows = torch.tensor([live[p].row for p in parents])
        width = min(self.options.block_tokens, self.options.max_new_tokens - len(live[0].tokens))
        penalty: torch.Tensor | None = None
        for attempt in range(self.plan.retries + 1):
            start = frontier.select(rows)  # a fresh copy per attempt: sampling grows the cache it is given
            block = yield from sample_block(
                self.ctx.lm,
                start,
                width,
                self.sampler,
                self.ctx.generator,
                self.ctx.usage,
                logit_penalty=penalty,
                should_stop=lambda: self.ctx.stop_reason() is not None,
            )
            if self.ctx.stop_reason() is not None:
                return None
            held = kv_bytes([frontier.cache, block.frontier.cache])
            self.ctx.usage.kv_bytes_peak = max(self.ctx.usage.kv_bytes_peak, held)
            children = yield from self._evaluate(live, parents, block)
            if not self.plan.tiered or attempt == self.plan.retries or self._acceptable(children):
                return children, block, attempt
            self.ctx.usage.retries += 1
            unsafe = torch.tensor([c.tier != SAFE for c in children])
            share = unsafe_token_share(
                block.tokens, block.lengths, unsafe, self.ctx.lm.vocab_size, self.ctx.lm.special_token_ids
            )
            step = self.options.logit_penalty_beta * share
            penalty = step if penalty is None else penalty + step
        raise AssertionError("unreachable")  # pragma: no cover

    def _acceptable(self, children: list[Candidate]) -> bool:
        """Whether a block needs no resample: some child is safe (or, by default, at least within budget).

        By default the critic ranks and prunes but does not trigger resampling: a child it predicts unsafe is still
        within budget, and resampling on a prediction alone cost 46% more time on harmful prompts for no safety gain.
        """
        floor = SAFE if self.options.critic_triggers_fallback else PREDICTED_UNSAFE
        return any(c.tier >= floor for c in children)

    # -- steps 2 and 3: track safety and score --------------------------------------------------------------
    def _evaluate(self, live: list[Candidate], parents: list[int], block: Block) -> Steps[list[Candidate]]:
        lm, scorers, options = self.ctx.lm, self.ctx.scorers, self.options
        drawn = [block.row_tokens(row) for row in range(len(parents))]
        ended = block.ended.tolist()
        new = [tokens[:-1] if end else tokens for tokens, end in zip(drawn, ended, strict=False)]
        tokens = [live[p].tokens + n for p, n in zip(parents, new, strict=False)]
        responses = [lm.decode(t) for t in tokens]
        parent_states = SafetyStates.concat([live[p].states for p in parents])
        costs = yield from scorers.cost_scores(responses, [lm.decode(n) for n in new])
        states = parent_states.advance(costs, scorers.additive)
        critic = None
        if self.plan.use_critic:
            critic = yield from scorers.critic(block.frontier.hidden.cpu().numpy(), states)
        tier = tiers(states.violating, critic[0] if critic else None, options.p_safe_threshold)
        if not self.plan.tiered:
            tier = np.where(states.violating, VIOLATING, SAFE)
        reward, score = yield from self._block_scores(responses, tier, critic)
        return [
            Candidate(
                tokens=tokens[i],
                states=states.take([i]),
                tier=int(tier[i]),
                score=float(score[i]),
                reward=None if np.isnan(reward[i]) else float(reward[i]),
                p_safe=float(critic[0][i]) if critic else None,
                value=float(critic[1][i]) if critic else None,
                finish=FinishReason.EOS
                if ended[i]
                else (FinishReason.LENGTH if len(tokens[i]) >= options.max_new_tokens else None),
                row=i,
            )
            for i in range(len(tokens))
        ]

    def _block_scores(
        self, responses: list[str], tier: np.ndarray, critic: tuple[np.ndarray, np.ndarray] | None
    ) -> Steps[tuple[np.ndarray, np.ndarray]]:
        """Rewards (NaN where not computed) and the ranking score of each child."""
        reward = np.full(len(responses), np.nan)
        if not self.plan.rank_each_block:
            return reward, np.zeros(len(responses))
        if critic is not None and self.options.score_source == "value":  # no reward call during the search
            return reward, critic[1]
        needed = np.ones(len(responses), dtype=bool)
        if self.options.scoring == "augmented" or self.plan.tiered:
            needed = tier == SAFE  # over budget, or pruned by the critic: it scores -n whatever its reward
        if needed.any():
            reward[needed] = yield from self.ctx.scorers.rewards(
                [r for r, n in zip(responses, needed, strict=False) if n]
            )
        return reward, np.where(np.isnan(reward), -np.inf, reward)

    # -- steps 6 and 7: stop and choose ---------------------------------------------------------------------
    def _finish(self, kept: list[Candidate], reason: FinishReason | None) -> Search:
        ctx, options = self.ctx, self.options
        if reason == FinishReason.BUDGET_EXHAUSTED and (finished := [c for c in kept if c.finish is not None]):
            kept, reason = finished, None  # a complete answer within budget was already kept: return it
        pending = [c for c in kept if c.reward is None]
        if pending:
            rewards = yield from ctx.scorers.rewards([ctx.lm.decode(c.tokens) for c in pending])
            for candidate, value in zip(pending, rewards, strict=False):
                candidate.reward = float(value)
        best = final_choice(kept, options, self.plan)
        finish = reason or best.finish or FinishReason.LENGTH
        suffix = ctx.exhausted_message if finish == FinishReason.BUDGET_EXHAUSTED else ""
        chunk, text = self.commit.finish(best.tokens, suffix)
        if chunk:
            yield chunk
        yield result_of(best, text, finish, ctx)
