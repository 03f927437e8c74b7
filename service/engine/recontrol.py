"""RE-Control (Kong et al., NeurIPS 2024), the representation-editing baseline of method.md §4.

Token by token, the LM's final hidden state h (the input of lm_head) is moved by gradient ascent on the critic's
value (or on value - lambda*(1 - p_safe)), and the next token is sampled from lm_head(h edited). Gradients flow
through the small critic only; the LM itself runs under inference mode and is never differentiated.

Safety is tracked as in every strategy: the cost functions score the response at every block end (every w tokens)
and at its end, which also moves the critic's z/d input. Text is committed only once its block was scored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from inferenceguard.critics.interface import DifferentiableCritic
from inferenceguard.service.engine.calls import Search, run_now
from inferenceguard.service.engine.candidates import Candidate
from inferenceguard.service.engine.commit import CommitTracker
from inferenceguard.service.engine.context import RequestContext, result_of, started_of, trace_of
from inferenceguard.service.engine.errors import InvalidOptionError, ScorerError
from inferenceguard.service.engine.guard import BoundCritic
from inferenceguard.service.engine.safety_state import SafetyStates
from inferenceguard.service.engine.sampling import Sampler
from inferenceguard.service.engine.types import STOPPED_EARLY, Event, FinishReason


@dataclass(frozen=True)
class HiddenEditor:
    """Gradient ascent on a critic's objective with respect to the hidden state it reads."""

    critic: torch.nn.Module  # (hidden [B, H], budget_state [B, 1]) -> (p_safe [B], value [B]), frozen
    name: str
    columns: tuple[int, ...]  # the cost functions whose z/d the critic reads
    steps: int
    step_size: float
    lagrange_lambda: float | None = None  # None: ascend the value alone

    def edit(self, hidden: torch.Tensor, budget_state: torch.Tensor) -> tuple[torch.Tensor, float, float]:
        """The hidden state after the ascent, with the critic's p_safe and value there (first row)."""
        # The LM's outputs are inference tensors, which autograd refuses: clone outside inference mode, and leave
        # it explicitly in case the caller iterates the engine under torch.inference_mode().
        with torch.inference_mode(False), torch.enable_grad():
            edited = hidden.detach().clone()
            for _ in range(self.steps):
                edited.requires_grad_(True)
                (gradient,) = torch.autograd.grad(self._objective(edited, budget_state).sum(), edited)
                edited = (edited + self.step_size * gradient).detach()
        if not bool(torch.isfinite(edited).all()):
            raise ValueError("the edited hidden state is not finite; lower recontrol_step_size")
        with torch.no_grad():
            p_safe, value = self.critic(edited, budget_state)
        return edited, float(p_safe[0]), float(value[0])

    def _objective(self, hidden: torch.Tensor, budget_state: torch.Tensor) -> torch.Tensor:
        p_safe, value = self.critic(hidden, budget_state)
        if self.lagrange_lambda is None:
            return value
        return value - self.lagrange_lambda * (1 - p_safe)


def run_recontrol(ctx: RequestContext) -> Search:
    """Events of one RE-Control answer. An unusable critic or layer is refused here, before any event."""
    return _ReControl(ctx, editor_for(ctx)).run()


def editor_for(ctx: RequestContext) -> HiddenEditor:
    bound, critic = _steering_critic(ctx)
    try:
        module = critic.differentiable(ctx.lm.device)
    except ValueError as exc:
        raise InvalidOptionError(
            "strategy", f"recontrol cannot differentiate the critic {critic.name!r}: {exc}"
        ) from exc
    options = ctx.options
    lagrange = options.lagrange_lambda if options.recontrol_objective == "lagrangian" else None
    return HiddenEditor(
        module, critic.name, bound.columns, options.recontrol_steps, options.recontrol_step_size, lagrange
    )


def _steering_critic(ctx: RequestContext) -> tuple[BoundCritic, DifferentiableCritic]:
    """The critic RE-Control ascends: the first one when several policies bring one (the others are unused)."""
    if not ctx.scorers.critics:
        raise InvalidOptionError(
            "strategy",
            "recontrol needs a critic to steer by and the request's policies have none: apply a policy that ships "
            "one (e.g. harm) or configure a critic",
        )
    if not ctx.lm.reads_final_layer:
        raise InvalidOptionError(
            "hidden_layer",
            "recontrol edits the input of lm_head, so its critic must read the final layer (-1); "
            f"this model is served with hidden_layer {ctx.lm.hidden_layer}",
        )
    bound = ctx.scorers.critics[0]
    if not isinstance(bound.critic, DifferentiableCritic):
        raise InvalidOptionError(
            "strategy", f"recontrol needs a critic with a PyTorch copy (an ONNX critic); {bound.critic.name!r} has none"
        )
    return bound, bound.critic


class _ReControl:
    def __init__(self, ctx: RequestContext, editor: HiddenEditor) -> None:
        options = ctx.options
        self.ctx, self.editor, self.options = ctx, editor, options
        self.sampler = Sampler(options.temperature, options.top_p, options.top_k)
        self.commit = CommitTracker(ctx.lm.decode)
        self.best = Candidate([], SafetyStates.start(ctx.scorers.costs))
        self.checked = 0  # leading tokens of the answer already scored at a block end

    def run(self) -> Search:
        ctx, lm, tokens = self.ctx, self.ctx.lm, self.best.tokens
        yield started_of(ctx)
        cache, out = lm.prefill(ctx.prompt_ids)
        ctx.usage.forward_passes += 1
        hidden = out.hidden  # the final layer's state: _steering_critic checked the layer
        finish = FinishReason.LENGTH
        while len(tokens) < self.options.max_new_tokens:
            if (reason := ctx.stop_reason()) is not None:
                finish = reason
                break
            token = self._draw(hidden)
            if token in lm.eos_token_ids:
                finish = FinishReason.EOS
                break
            tokens.append(token)
            if len(tokens) < self.options.max_new_tokens:  # no pass for a successor that will never be drawn
                hidden = self._lm_time(lm.step_final, cache, torch.tensor([token]))
                ctx.usage.forward_passes += 1
            if len(tokens) - self.checked == self.options.block_tokens:
                yield from self._block_end()
        yield from self._finish(finish)

    def _draw(self, hidden: torch.Tensor) -> int:
        """One token sampled from lm_head(edited h) with the request's sampler and generator."""
        usage = self.ctx.usage
        z = torch.from_numpy(self.best.states.normalised_z(self.editor.columns)).view(-1, 1).to(hidden.device)
        started = time.perf_counter()
        try:
            edited, self.best.p_safe, self.best.value = self.editor.edit(hidden, z)
        except Exception as exc:  # fail closed like every scorer: nothing unchecked is released
            raise ScorerError(f"critic {self.editor.name!r} failed: {exc}") from exc
        finally:
            elapsed = time.perf_counter() - started
            usage.scoring_seconds += elapsed
            usage.critic_seconds += elapsed
        usage.critic_evaluations += self.editor.steps + 1
        usage.tokens_sampled += 1
        logits = self._lm_time(self.ctx.lm.logits_of, edited)
        return int(self.sampler(logits, self.ctx.generator)[0])

    def _lm_time(self, call: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        started = time.perf_counter()
        result = call(*args)
        self.ctx.usage.lm_seconds += time.perf_counter() - started
        return result

    def _block_end(self) -> Iterator[Event]:
        """Score the tokens since the last block end, trace the block and commit it."""
        lm, scorers, best, usage = self.ctx.lm, self.ctx.scorers, self.best, self.ctx.usage
        scores = run_now(scorers.cost_scores([lm.decode(best.tokens)], [lm.decode(best.tokens[self.checked :])]), lm)
        best.states = best.states.advance(scores, scorers.additive)
        self.checked = len(best.tokens)
        usage.blocks += 1
        yield trace_of(best, usage.blocks - 1, 1, 0)
        if chunk := self.commit.advance([best.tokens]):
            yield chunk

    def _finish(self, finish: FinishReason) -> Iterator[Event]:
        ctx, best = self.ctx, self.best
        if finish in STOPPED_EARLY:
            del best.tokens[self.checked :]  # stopped mid-block: those tokens were never scored, so none is used
        elif len(best.tokens) > self.checked:
            yield from self._block_end()
        best.reward = float(run_now(ctx.scorers.rewards([ctx.lm.decode(best.tokens)]), ctx.lm)[0])
        chunk, text = self.commit.finish(best.tokens)
        if chunk:
            yield chunk
        yield result_of(best, text, finish, ctx)
