"""Settings of a process: the only place that reads the environment. Everything else gets them passed in."""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from inferenceguard.service.engine.errors import InvalidOptionError

ENV_PREFIX = "INFERENCEGUARD_"


@dataclass(frozen=True)
class Settings:
    # converted models and built scorers
    home: Path = field(default_factory=lambda: Path("~/.cache/inferenceguard").expanduser())
    model: str = "default"  # "default" = the embedded SmolLM2-135M-Instruct, else a local HF folder
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "float32"
    hidden_layer: int = -1  # layer whose state critics read; -1 = final layer after the final norm
    threads: int = 0  # torch CPU threads; 0 = torch's default
    critic: str | None = None  # path of an ad-hoc ONNX critic for this model, applied to every request
    default_policy: str = "harm"  # comma list of policy ids applied when a request names none
    load_plugins: str = ""  # comma list of entry-point plugins to load; "*" = all installed; empty = none
    disable_plugins: str = ""  # comma list of plugins never to load, built-in ones included
    lexicon: str | None = None  # word list of the lexicon policy (JSON); unset = the shipped example list
    log_level: str = "WARNING"
    # the gRPC server
    host: str = "0.0.0.0"
    grpc_port: int = 50051
    metrics_port: int = 9464  # Prometheus /metrics; 0 = off
    max_concurrent_requests: int = 2  # searches running at once (each uses every core it is given)
    max_queued_requests: int = 32  # beyond running + queued: RESOURCE_EXHAUSTED with a retry hint
    max_new_tokens_limit: int = 1024
    max_num_candidates: int = 256
    max_message_bytes: int = 4 * 1024 * 1024
    graceful_shutdown_s: float = 30.0
    reflection: bool = True
    api_key: str | None = None  # required in `authorization: Bearer <key>` on every RPC but health
    tls_cert: str | None = None  # PEM certificate chain; with tls_key, the server speaks TLS
    tls_key: str | None = None
    tls_client_ca: str | None = None  # PEM CA bundle; when set, clients must present a certificate it signed

    @staticmethod
    def names(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then INFERENCEGUARD_* environment variables, then explicit overrides (CLI flags)."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = environ.get(ENV_PREFIX + item.name.upper())
            if raw is not None:
                values[item.name] = _parse(ENV_PREFIX + item.name.upper(), raw, hints[item.name])
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        if "home" in values:
            values["home"] = Path(values["home"]).expanduser()
        return cls(**values)


def _parse(variable: str, raw: str, hint: Any) -> Any:
    if hint is bool:
        if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise InvalidOptionError(variable, f"must be true or false, got {raw!r}")
        return raw.lower() in ("1", "true", "yes", "on")
    if hint in (int, float):
        try:
            return hint(raw)
        except ValueError as exc:
            kind = "an integer" if hint is int else "a number"
            raise InvalidOptionError(variable, f"must be {kind}, got {raw!r}") from exc
    return raw
