"""Process logging: one JSON object per line on stderr (or plain text), with the structured fields that callers
pass through `extra=` (request_id, status, duration_ms, ...) kept as fields of their own.

Request logs never carry prompt or response text unless Settings.log_text is on; see docs/configuration.md.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from inferenceguard.service.config import Settings

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The classic one-line format, with the structured fields appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={json.dumps(value, default=str)}" for key, value in extras(record).items())
        line = super().format(record)
        return f"{line} {fields}" if fields else line


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time of each record, so a replaced stderr (tests, redirection)
    never receives records into a stream that was closed."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr


def configure_logging(settings: Settings, default_level: str = "WARNING") -> None:
    """Route the root logger to stderr in settings.log_format, at settings.log_level or the command's default.

    Calling it again replaces the handler it installed before, and leaves other handlers alone."""
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel((settings.log_level or default_level).upper())
