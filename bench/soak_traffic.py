"""What one soak client sends and how each answer is checked.

Each call is one of a few kinds (normal streams, cancels, aborts, short deadlines, bad and oversize requests), drawn
from a seeded generator. Every stream is checked: a start first, nothing after the finish, a finish whenever the
status is OK, released text only under a finish that says it stayed within budget, never INTERNAL or UNKNOWN.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from inferenceguard.v1 import control_pb2, inference_pb2, safety_pb2

KINDS = ("normal", "cancel", "abort", "deadline", "bad", "oversize")
WEIGHTS = (5, 1, 1, 1, 1, 1)
# what a kind may end with besides OK; overload and a drain are always acceptable
EXPECTED = {
    "cancel": {"CANCELLED"},
    "deadline": {"DEADLINE_EXCEEDED"},
    "bad": {"INVALID_ARGUMENT", "PERMISSION_DENIED", "UNAUTHENTICATED"},
    "oversize": {"INVALID_ARGUMENT"},
}
ALWAYS = {"OK", "RESOURCE_EXHAUSTED", "UNAVAILABLE"}
MUST_FAIL = {"bad", "oversize"}


@dataclass
class Outcome:
    kind: str
    tenant: str
    code: str
    seconds: float
    first_chunk_s: float | None = None
    finish_reason: str = ""
    problems: list[str] = field(default_factory=list)  # malformed stream, unexpected status
    unchecked_text: bool = False  # text released without a within-budget finish


@dataclass(frozen=True)
class Caller:
    tenant: str
    key: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.key}"),)


def request(rng: random.Random, prompts: Sequence[str], kind: str, index: int) -> inference_pb2.GenerateRequest:
    """A request of `kind`; small searches, so that minutes hold hundreds of them on a CPU."""
    message = inference_pb2.GenerateRequest(prompt=rng.choice(prompts), request_id=f"soak-{index}")
    message.sampling.seed = rng.randrange(2**31)
    message.stopping.max_new_tokens = rng.choice((16, 24, 32, 48))
    message.search.num_candidates = rng.choice((4, 8))
    message.search.block_tokens = 8
    if kind == "abort":
        message.stopping.max_new_tokens = 64
    if kind == "oversize":  # the review's request: refused before it costs anything
        message.search.num_candidates, message.stopping.max_new_tokens = 256, 1024
        message.search.max_retries, message.search.block_tokens = 4, 4
    if kind == "bad":
        _spoil(rng, message)
    return message


def _spoil(rng: random.Random, message: inference_pb2.GenerateRequest) -> None:
    choice = rng.randrange(4)
    if choice == 0:
        message.search.strategy = inference_pb2.STRATEGY_SAMPLE  # not allowed by the floor
    elif choice == 1:
        message.safety.budget = 1e300  # may only tighten
    elif choice == 2:
        message.prompt = "   "  # empty
    else:
        message.request_id = "spaces are not allowed"


def call(
    stubs: tuple[Any, Any], caller: Caller, message: inference_pb2.GenerateRequest, kind: str, rng: random.Random
) -> Outcome:
    """Send `message` as `kind` and check what comes back."""
    inference, control = stubs
    metadata = caller.metadata if not (kind == "bad" and rng.random() < 0.2) else (("authorization", "Bearer x"),)
    timeout = rng.uniform(0.5, 2.0) if kind == "deadline" else 600.0
    started, outcome = time.perf_counter(), Outcome(kind, caller.tenant, "OK", 0.0)
    messages: list[Any] = []
    stream = inference.GenerateStream(message, metadata=metadata, timeout=timeout)
    try:
        for reply in stream:
            messages.append(reply)
            if reply.HasField("chunk") and reply.chunk.text and outcome.first_chunk_s is None:
                outcome.first_chunk_s = time.perf_counter() - started
            if len(messages) == 1 and kind == "cancel":
                stream.cancel()
            if len(messages) == 1 and kind == "abort":
                control.Abort(control_pb2.AbortRequest(request_ids=[message.request_id]), metadata=metadata)
    except grpc.RpcError as error:
        outcome.code = error.code().name
    outcome.seconds = time.perf_counter() - started
    check(outcome, messages)
    return outcome


def check(outcome: Outcome, messages: Sequence[Any]) -> None:
    """Fill in the finish and every problem of one answer."""
    allowed = ALWAYS | EXPECTED.get(outcome.kind, set())
    if outcome.code not in allowed or (outcome.kind in MUST_FAIL and outcome.code == "OK"):
        outcome.problems.append(f"status {outcome.code} for a {outcome.kind} request")
    if messages and not messages[0].HasField("start"):
        outcome.problems.append("the first message is not the start")
    finishes = [i for i, m in enumerate(messages) if m.HasField("finish")]
    if len(finishes) > 1 or (finishes and finishes[0] != len(messages) - 1):
        outcome.problems.append("messages after the finish, or two finishes")
    if outcome.code == "OK" and not finishes:
        outcome.problems.append("the stream ended OK without a finish")
    text = "".join(m.chunk.text for m in messages if m.HasField("chunk"))
    if finishes:
        finish = messages[finishes[0]].finish
        outcome.finish_reason = safety_pb2.FinishReason.Name(finish.reason).removeprefix("FINISH_REASON_")
        within = finish.safety.within_budget and finish.safety.min_remaining_budget >= 0
        outcome.unchecked_text = bool(text) and not within
