"""THE boundary between protobuf messages and the engine's types. Nothing else converts."""

from __future__ import annotations

import importlib.metadata
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inferenceguard.policies.types import PolicySpec
from inferenceguard.service.engine import BlockTrace, Chunk, GenerationResult, InvalidOptionError, SearchOptions
from inferenceguard.service.engine.types import FinishReason
from inferenceguard.v1 import control_pb2, inference_pb2, safety_pb2

if TYPE_CHECKING:  # both import this module's tables; the types are for annotations only
    from inferenceguard.service.engine import LanguageModel
    from inferenceguard.service.tenants import Tenant

API_VERSION = "inferenceguard.v1"
CAPABILITIES = ("streaming", "abort", "safety_trace", "multiple_policies", "critics", "token_ids", "reload")

STRATEGIES = {
    inference_pb2.STRATEGY_UNSPECIFIED: "inferenceguard",
    inference_pb2.STRATEGY_SAMPLE: "sample",
    inference_pb2.STRATEGY_BEST_OF_N: "best_of_n",
    inference_pb2.STRATEGY_BEAM: "beam",
    inference_pb2.STRATEGY_ARGS: "args",
    inference_pb2.STRATEGY_INFERENCEGUARD: "inferenceguard",
}
STRATEGY_ENUM = {name: value for value, name in STRATEGIES.items() if value != inference_pb2.STRATEGY_UNSPECIFIED}
# SearchOptions fields that GenerateRequest.search carries under the same names
SEARCH_FIELDS = (
    "num_candidates",
    "num_beams",
    "block_tokens",
    "max_retries",
    "logit_penalty_beta",
    "p_safe_threshold",
    "unsafe_penalty",
    "lagrange_lambda",
    "args_weight",
    "commit_lag_blocks",
)
FINISH = {reason: getattr(safety_pb2, f"FINISH_REASON_{reason.name}") for reason in FinishReason}


@dataclass(frozen=True)
class Limits:
    max_prompt_chars: int = 32_000
    max_new_tokens: int = 1024
    max_num_candidates: int = 256


@dataclass(frozen=True)
class ParsedRequest:
    request_id: str
    prompt: str
    options: SearchOptions
    policy_ids: tuple[str, ...]
    output_token_ids: bool
    include_safety_trace: bool


MAX_REQUEST_ID_CHARS = 128
# The id is echoed in the x-request-id trailer, and HTTP/2 header values are visible ASCII: anything else (a
# control character, non-ASCII text, a leading space) makes the trailer invalid and fails the call with INTERNAL,
# and a very long id overflows the client's metadata limit after the work was done.
_REQUEST_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_REQUEST_ID_CHARS}}}")


def request_id_of(request: inference_pb2.GenerateRequest) -> str:
    """The request's id, or a new one when it is empty; InvalidOptionError when it cannot travel as a header value.

    Call it before the id is put in any metadata.
    """
    if not request.request_id:
        return uuid.uuid4().hex
    if not _REQUEST_ID.fullmatch(request.request_id):
        raise InvalidOptionError(
            "request_id",
            f"must be 1..{MAX_REQUEST_ID_CHARS} visible ASCII characters (no spaces or control characters); "
            f"got {len(request.request_id)} characters",
        )
    return request.request_id


def request_from_pb(
    request: inference_pb2.GenerateRequest, defaults: SearchOptions, limits: Limits, request_id: str
) -> ParsedRequest:
    if len(request.prompt) > limits.max_prompt_chars:
        raise InvalidOptionError(
            "prompt", f"is {len(request.prompt)} characters; the limit is {limits.max_prompt_chars}"
        )
    _check_policy_ids(request.safety.policy_ids)
    if request.search.strategy not in STRATEGIES:
        raise InvalidOptionError("search.strategy", f"unknown value {request.search.strategy}")
    changes: dict[str, Any] = {"strategy": STRATEGIES[request.search.strategy]}
    changes |= _present(
        request.sampling, {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "seed": "seed"}
    )
    changes |= _present(request.stopping, {"max_new_tokens": "max_new_tokens"})
    if request.stopping.HasField("time_limit_ms"):
        changes["time_limit_s"] = max(request.stopping.time_limit_ms, 1) / 1000
    changes |= _present(request.search, {name: name for name in SEARCH_FIELDS})
    changes |= _present(request.safety, {"budget": "budget"})
    _within(changes, "max_new_tokens", "stopping.max_new_tokens", limits.max_new_tokens)
    _within(changes, "num_candidates", "search.num_candidates", limits.max_num_candidates)
    try:
        options = defaults.with_updates(**changes)
    except InvalidOptionError as exc:
        raise in_request_terms(exc) from exc
    return ParsedRequest(
        request_id,
        request.prompt,
        options,
        tuple(request.safety.policy_ids),
        request.response.output_token_ids,
        request.response.include_safety_trace,
    )


MAX_POLICY_IDS = 8
MAX_POLICY_ID_CHARS = 100  # a registered id is at most 97 characters (name@version)


def _check_policy_ids(ids: Any) -> None:
    """Bounded before any id is looked up or echoed in a message."""
    if len(ids) > MAX_POLICY_IDS:
        raise InvalidOptionError("safety.policy_ids", f"at most {MAX_POLICY_IDS} ids, got {len(ids)}")
    if any(len(policy_id) > MAX_POLICY_ID_CHARS for policy_id in ids):
        raise InvalidOptionError("safety.policy_ids", f"each id is at most {MAX_POLICY_ID_CHARS} characters")


_FIELD_PATHS = {
    "temperature": "sampling.temperature",
    "top_p": "sampling.top_p",
    "top_k": "sampling.top_k",
    "seed": "sampling.seed",
    "max_new_tokens": "stopping.max_new_tokens",
    "time_limit_s": "stopping.time_limit_ms",
    "budget": "safety.budget",
    "strategy": "search.strategy",
    **{name: f"search.{name}" for name in SEARCH_FIELDS},
}


def in_request_terms(error: InvalidOptionError) -> InvalidOptionError:
    """The same error, naming the GenerateRequest field instead of the engine option."""
    return InvalidOptionError(_FIELD_PATHS.get(error.field, error.field), error.reason)


def _present(message: Any, names: dict[str, str]) -> dict[str, Any]:
    return {option: getattr(message, field) for field, option in names.items() if message.HasField(field)}


def _within(changes: dict[str, Any], key: str, field: str, limit: int) -> None:
    if key in changes and changes[key] > limit:
        raise InvalidOptionError(field, f"must be at most {limit} on this server, got {changes[key]}")


def start_to_pb(
    request_id: str, prompt_tokens: int, policies: tuple[tuple[str, str], ...], seed: int, strategy: str
) -> inference_pb2.GenerateResponse:
    start = inference_pb2.StartInfo(
        num_prompt_tokens=prompt_tokens,
        seed=seed,
        strategy=STRATEGY_ENUM[strategy],
        policies=[safety_pb2.PolicyRef(id=i, version=v) for i, v in policies],
    )
    return inference_pb2.GenerateResponse(request_id=request_id, start=start)


def chunk_to_pb(
    request_id: str, chunk: Chunk, trace: BlockTrace | None, parsed: ParsedRequest
) -> inference_pb2.GenerateResponse:
    message = inference_pb2.Chunk(text=chunk.text)
    if parsed.output_token_ids:
        message.token_ids.extend(chunk.token_ids)
    if trace is not None and parsed.include_safety_trace:
        message.safety.CopyFrom(trace_to_pb(trace))
    return inference_pb2.GenerateResponse(request_id=request_id, chunk=message)


def trace_to_pb(trace: BlockTrace) -> safety_pb2.SafetyUpdate:
    update = safety_pb2.SafetyUpdate(
        block_index=trace.block,
        candidates=trace.candidates,
        retries=trace.retries,
        cumulative_cost=trace.cumulative_cost,
        remaining_budget=trace.safety_state,
    )
    if trace.p_safe is not None:
        update.p_safe = trace.p_safe
    if trace.value is not None:
        update.value = trace.value
    return update


def finish_to_pb(
    request_id: str, result: GenerationResult, parsed: ParsedRequest, *, with_text: bool, queue_ms: int, ttft_ms: int
) -> inference_pb2.GenerateResponse:
    u = result.usage
    usage = inference_pb2.Usage(
        prompt_tokens=u.prompt_tokens,
        completion_tokens=u.new_tokens,
        tokens_sampled=u.tokens_sampled,
        blocks=u.blocks,
        retries=u.retries,
        cost_evaluations=u.cost_evaluations,
        reward_evaluations=u.reward_evaluations,
        critic_evaluations=u.critic_evaluations,
        queue_time_ms=queue_ms,
        ttft_ms=ttft_ms,
        total_time_ms=int(result.seconds * 1000),
    )
    safety = safety_pb2.SafetySummary(
        within_budget=result.safe,
        min_remaining_budget=result.min_safety_state,
        cost=result.cost,
        costs=result.costs,
        policies=[safety_pb2.PolicyRef(id=i, version=v) for i, v in result.policies],
    )
    if result.reward is not None:
        safety.reward = result.reward
    finish = inference_pb2.FinishInfo(
        reason=FINISH[result.finish_reason],
        usage=usage,
        safety=safety,
        seed=result.seed,
        text=result.text if with_text else "",
    )
    if parsed.output_token_ids and with_text:
        finish.token_ids.extend(result.token_ids)
    return inference_pb2.GenerateResponse(request_id=request_id, finish=finish)


def server_info_to_pb(lm: LanguageModel, tenant: Tenant, max_running: int, max_queued: int, version: int) -> Any:
    """What the server runs, as the caller's tenant sees it: its policies, strategies and limits."""
    limits = control_pb2.Limits(
        max_new_tokens=tenant.max_new_tokens,
        max_num_candidates=tenant.max_num_candidates,
        max_concurrent_requests=max_running,
        max_queued_requests=max_queued,
    )
    return control_pb2.ServerInfo(
        server_version=importlib.metadata.version("inferenceguard"),
        api_version=API_VERSION,
        model_id=lm.model_id,
        device=str(lm.device),
        hidden_size=lm.hidden_size,
        context_length=lm.context_length,
        default_policy_ids=tenant.default_policies,
        capabilities=CAPABILITIES,
        limits=limits,
        tenant=tenant.name,
        allowed_strategies=sorted(tenant.allowed_strategies),
        allowed_policy_ids=sorted(tenant.allowed_policies),
        config_version=version,
    )


def policy_to_pb(spec: PolicySpec, is_default: bool) -> Any:
    return control_pb2.Policy(
        ref=safety_pb2.PolicyRef(id=spec.id, version=spec.version),
        plugin=spec.plugin,
        description=spec.description,
        budgets=dict(spec.cost_functions),
        critic=spec.critic or "",
        reward=spec.reward or "",
        is_default=is_default,
    )


def request_for(prompt: str, options: SearchOptions, policies: list[str]) -> inference_pb2.GenerateRequest:
    """A GenerateRequest carrying the options that differ from the defaults (the server fills in the rest)."""
    defaults = SearchOptions().to_dict()
    return request_to_pb(prompt, {k: v for k, v in options.to_dict().items() if v != defaults[k]}, policies)


def request_to_pb(prompt: str, options: dict[str, Any], policies: list[str]) -> inference_pb2.GenerateRequest:
    """A GenerateRequest carrying the given (non-default) engine options, for clients."""
    message = inference_pb2.GenerateRequest(prompt=prompt)
    message.safety.policy_ids.extend(policies)
    for name, value in options.items():
        target, _, field = _FIELD_PATHS.get(name, name).rpartition(".")
        if name == "strategy":
            if value not in STRATEGY_ENUM:  # recontrol: an offline evaluation baseline the protocol does not carry
                raise InvalidOptionError("strategy", f"{value!r} runs locally only and cannot be sent to a server")
            message.search.strategy = STRATEGY_ENUM[value]
        elif name == "time_limit_s":
            message.stopping.time_limit_ms = int(value * 1000)
        elif target:
            setattr(getattr(message, target), field, value)
        else:
            raise InvalidOptionError(name, "cannot be sent to a server")
    return message
