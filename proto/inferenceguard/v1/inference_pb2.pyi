from inferenceguard.v1 import safety_pb2 as _safety_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Strategy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STRATEGY_UNSPECIFIED: _ClassVar[Strategy]
    STRATEGY_SAMPLE: _ClassVar[Strategy]
    STRATEGY_BEST_OF_N: _ClassVar[Strategy]
    STRATEGY_BEAM: _ClassVar[Strategy]
    STRATEGY_ARGS: _ClassVar[Strategy]
    STRATEGY_INFERENCEGUARD: _ClassVar[Strategy]
STRATEGY_UNSPECIFIED: Strategy
STRATEGY_SAMPLE: Strategy
STRATEGY_BEST_OF_N: Strategy
STRATEGY_BEAM: Strategy
STRATEGY_ARGS: Strategy
STRATEGY_INFERENCEGUARD: Strategy

class GenerateRequest(_message.Message):
    __slots__ = ("request_id", "prompt", "sampling", "stopping", "search", "safety", "response")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_FIELD_NUMBER: _ClassVar[int]
    STOPPING_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    SAFETY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    prompt: str
    sampling: SamplingParams
    stopping: StoppingCriteria
    search: SearchOptions
    safety: SafetyOptions
    response: ResponseOptions
    def __init__(self, request_id: _Optional[str] = ..., prompt: _Optional[str] = ..., sampling: _Optional[_Union[SamplingParams, _Mapping]] = ..., stopping: _Optional[_Union[StoppingCriteria, _Mapping]] = ..., search: _Optional[_Union[SearchOptions, _Mapping]] = ..., safety: _Optional[_Union[SafetyOptions, _Mapping]] = ..., response: _Optional[_Union[ResponseOptions, _Mapping]] = ...) -> None: ...

class SamplingParams(_message.Message):
    __slots__ = ("temperature", "top_p", "top_k", "seed")
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    temperature: float
    top_p: float
    top_k: int
    seed: int
    def __init__(self, temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., top_k: _Optional[int] = ..., seed: _Optional[int] = ...) -> None: ...

class StoppingCriteria(_message.Message):
    __slots__ = ("max_new_tokens", "time_limit_ms")
    MAX_NEW_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TIME_LIMIT_MS_FIELD_NUMBER: _ClassVar[int]
    max_new_tokens: int
    time_limit_ms: int
    def __init__(self, max_new_tokens: _Optional[int] = ..., time_limit_ms: _Optional[int] = ...) -> None: ...

class SearchOptions(_message.Message):
    __slots__ = ("strategy", "num_candidates", "num_beams", "block_tokens", "max_retries", "logit_penalty_beta", "p_safe_threshold", "unsafe_penalty", "lagrange_lambda", "args_weight", "commit_lag_blocks")
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    NUM_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    NUM_BEAMS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    LOGIT_PENALTY_BETA_FIELD_NUMBER: _ClassVar[int]
    P_SAFE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UNSAFE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    LAGRANGE_LAMBDA_FIELD_NUMBER: _ClassVar[int]
    ARGS_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_LAG_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    strategy: Strategy
    num_candidates: int
    num_beams: int
    block_tokens: int
    max_retries: int
    logit_penalty_beta: float
    p_safe_threshold: float
    unsafe_penalty: float
    lagrange_lambda: float
    args_weight: float
    commit_lag_blocks: int
    def __init__(self, strategy: _Optional[_Union[Strategy, str]] = ..., num_candidates: _Optional[int] = ..., num_beams: _Optional[int] = ..., block_tokens: _Optional[int] = ..., max_retries: _Optional[int] = ..., logit_penalty_beta: _Optional[float] = ..., p_safe_threshold: _Optional[float] = ..., unsafe_penalty: _Optional[float] = ..., lagrange_lambda: _Optional[float] = ..., args_weight: _Optional[float] = ..., commit_lag_blocks: _Optional[int] = ...) -> None: ...

class SafetyOptions(_message.Message):
    __slots__ = ("policy_ids", "budget")
    POLICY_IDS_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    policy_ids: _containers.RepeatedScalarFieldContainer[str]
    budget: float
    def __init__(self, policy_ids: _Optional[_Iterable[str]] = ..., budget: _Optional[float] = ...) -> None: ...

class ResponseOptions(_message.Message):
    __slots__ = ("output_token_ids", "include_safety_trace")
    OUTPUT_TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SAFETY_TRACE_FIELD_NUMBER: _ClassVar[int]
    output_token_ids: bool
    include_safety_trace: bool
    def __init__(self, output_token_ids: _Optional[bool] = ..., include_safety_trace: _Optional[bool] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("request_id", "start", "chunk", "finish")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    FINISH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    start: StartInfo
    chunk: Chunk
    finish: FinishInfo
    def __init__(self, request_id: _Optional[str] = ..., start: _Optional[_Union[StartInfo, _Mapping]] = ..., chunk: _Optional[_Union[Chunk, _Mapping]] = ..., finish: _Optional[_Union[FinishInfo, _Mapping]] = ...) -> None: ...

class StartInfo(_message.Message):
    __slots__ = ("num_prompt_tokens", "policies", "seed", "strategy")
    NUM_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    num_prompt_tokens: int
    policies: _containers.RepeatedCompositeFieldContainer[_safety_pb2.PolicyRef]
    seed: int
    strategy: Strategy
    def __init__(self, num_prompt_tokens: _Optional[int] = ..., policies: _Optional[_Iterable[_Union[_safety_pb2.PolicyRef, _Mapping]]] = ..., seed: _Optional[int] = ..., strategy: _Optional[_Union[Strategy, str]] = ...) -> None: ...

class Chunk(_message.Message):
    __slots__ = ("text", "token_ids", "safety")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    SAFETY_FIELD_NUMBER: _ClassVar[int]
    text: str
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    safety: _safety_pb2.SafetyUpdate
    def __init__(self, text: _Optional[str] = ..., token_ids: _Optional[_Iterable[int]] = ..., safety: _Optional[_Union[_safety_pb2.SafetyUpdate, _Mapping]] = ...) -> None: ...

class FinishInfo(_message.Message):
    __slots__ = ("reason", "text", "token_ids", "usage", "safety", "seed")
    REASON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_IDS_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    SAFETY_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    reason: _safety_pb2.FinishReason
    text: str
    token_ids: _containers.RepeatedScalarFieldContainer[int]
    usage: Usage
    safety: _safety_pb2.SafetySummary
    seed: int
    def __init__(self, reason: _Optional[_Union[_safety_pb2.FinishReason, str]] = ..., text: _Optional[str] = ..., token_ids: _Optional[_Iterable[int]] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., safety: _Optional[_Union[_safety_pb2.SafetySummary, _Mapping]] = ..., seed: _Optional[int] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("prompt_tokens", "completion_tokens", "tokens_sampled", "blocks", "retries", "cost_evaluations", "reward_evaluations", "critic_evaluations", "queue_time_ms", "ttft_ms", "total_time_ms")
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOKENS_SAMPLED_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    COST_EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    REWARD_EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    CRITIC_EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    QUEUE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    TTFT_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    prompt_tokens: int
    completion_tokens: int
    tokens_sampled: int
    blocks: int
    retries: int
    cost_evaluations: int
    reward_evaluations: int
    critic_evaluations: int
    queue_time_ms: int
    ttft_ms: int
    total_time_ms: int
    def __init__(self, prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., tokens_sampled: _Optional[int] = ..., blocks: _Optional[int] = ..., retries: _Optional[int] = ..., cost_evaluations: _Optional[int] = ..., reward_evaluations: _Optional[int] = ..., critic_evaluations: _Optional[int] = ..., queue_time_ms: _Optional[int] = ..., ttft_ms: _Optional[int] = ..., total_time_ms: _Optional[int] = ...) -> None: ...
