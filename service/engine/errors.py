"""Domain errors of the engine. Callers (CLI, gRPC) map them to exit codes and statuses in one place each."""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidOptionError(EngineError, ValueError):
    """A request or configuration value is out of range; `field` names it and the message states the limit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ScorerError(EngineError):
    """A cost function, reward function or critic failed; the search stops and releases nothing unchecked."""


class ScorerTimeoutError(ScorerError):
    """A scorer did not answer within its time bound; the search stops as for any scorer failure."""
