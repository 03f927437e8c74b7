from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINISH_REASON_UNSPECIFIED: _ClassVar[FinishReason]
    FINISH_REASON_LENGTH: _ClassVar[FinishReason]
    FINISH_REASON_EOS: _ClassVar[FinishReason]
    FINISH_REASON_STOP: _ClassVar[FinishReason]
    FINISH_REASON_ABORTED: _ClassVar[FinishReason]
    FINISH_REASON_TIME_LIMIT: _ClassVar[FinishReason]
    FINISH_REASON_SAFETY_BLOCKED: _ClassVar[FinishReason]
    FINISH_REASON_BUDGET_EXHAUSTED: _ClassVar[FinishReason]
    FINISH_REASON_SHUTDOWN: _ClassVar[FinishReason]
FINISH_REASON_UNSPECIFIED: FinishReason
FINISH_REASON_LENGTH: FinishReason
FINISH_REASON_EOS: FinishReason
FINISH_REASON_STOP: FinishReason
FINISH_REASON_ABORTED: FinishReason
FINISH_REASON_TIME_LIMIT: FinishReason
FINISH_REASON_SAFETY_BLOCKED: FinishReason
FINISH_REASON_BUDGET_EXHAUSTED: FinishReason
FINISH_REASON_SHUTDOWN: FinishReason

class PolicyRef(_message.Message):
    __slots__ = ("id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: str
    def __init__(self, id: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class SafetyUpdate(_message.Message):
    __slots__ = ("block_index", "candidates", "retries", "cumulative_cost", "remaining_budget", "p_safe", "value")
    BLOCK_INDEX_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    CUMULATIVE_COST_FIELD_NUMBER: _ClassVar[int]
    REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    P_SAFE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    block_index: int
    candidates: int
    retries: int
    cumulative_cost: float
    remaining_budget: float
    p_safe: float
    value: float
    def __init__(self, block_index: _Optional[int] = ..., candidates: _Optional[int] = ..., retries: _Optional[int] = ..., cumulative_cost: _Optional[float] = ..., remaining_budget: _Optional[float] = ..., p_safe: _Optional[float] = ..., value: _Optional[float] = ...) -> None: ...

class SafetySummary(_message.Message):
    __slots__ = ("within_budget", "min_remaining_budget", "cost", "costs", "reward", "policies")
    class CostsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    WITHIN_BUDGET_FIELD_NUMBER: _ClassVar[int]
    MIN_REMAINING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    REWARD_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    within_budget: bool
    min_remaining_budget: float
    cost: float
    costs: _containers.ScalarMap[str, float]
    reward: float
    policies: _containers.RepeatedCompositeFieldContainer[PolicyRef]
    def __init__(self, within_budget: _Optional[bool] = ..., min_remaining_budget: _Optional[float] = ..., cost: _Optional[float] = ..., costs: _Optional[_Mapping[str, float]] = ..., reward: _Optional[float] = ..., policies: _Optional[_Iterable[_Union[PolicyRef, _Mapping]]] = ...) -> None: ...
