"""The one table from domain errors to gRPC status codes. Messages name the field and the limit."""

from __future__ import annotations

import grpc

from inferenceguard.critics.manifest import ManifestError
from inferenceguard.policies.types import PolicyLoadError, UnknownPolicyError
from inferenceguard.service.engine.errors import InvalidOptionError, ScorerError, ScorerTimeoutError


class OverloadedError(Exception):
    """Every worker is busy and the queue is full."""

    REASON = "the server is at capacity"

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"{self.REASON}; retry after {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class RateLimitedError(OverloadedError):
    """The caller's tenant is over its requests per second."""

    REASON = "over this caller's request rate"


class PermissionDeniedError(Exception):
    """The request asks for more than the operator allows this caller: names the field and what is allowed."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class AlreadyExistsError(Exception):
    pass


class NotServingError(Exception):
    """The server is still loading or is draining."""


class UnauthenticatedError(Exception):
    pass


STATUS = (
    (InvalidOptionError, grpc.StatusCode.INVALID_ARGUMENT),
    (UnknownPolicyError, grpc.StatusCode.NOT_FOUND),
    (PolicyLoadError, grpc.StatusCode.FAILED_PRECONDITION),
    (ManifestError, grpc.StatusCode.FAILED_PRECONDITION),
    (OverloadedError, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (NotServingError, grpc.StatusCode.UNAVAILABLE),
    (UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (ScorerTimeoutError, grpc.StatusCode.UNAVAILABLE),  # a safety check hung: nothing unchecked was sent; retry
    (ScorerError, grpc.StatusCode.INTERNAL),  # a safety check failed: fail closed
)


def status_of(error: BaseException) -> tuple[grpc.StatusCode, str]:
    for kind, code in STATUS:
        if isinstance(error, kind):
            return code, str(error)
    return grpc.StatusCode.INTERNAL, "internal error"
