"""Settings of a process: the only place that reads the environment and the config file. Everything else gets
them passed in. Precedence, lowest first: defaults, the TOML config file, INFERENCEGUARD_* environment
variables, explicit overrides (CLI flags)."""

from __future__ import annotations

import json
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from inferenceguard.service.engine.errors import InvalidOptionError

ENV_PREFIX = "INFERENCEGUARD_"
CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
SECRETS = ("api_key",)  # never printed by `config show`
# what a reload (SIGHUP or ControlService.Reload) applies; the others need a restart
LIVE = (
    "default_policy", "allowed_policies", "allowed_strategies", "tenants_file", "max_new_tokens_limit",
    "max_num_candidates", "critic", "lexicon", "harm_model", "tls_cert", "tls_key", "tls_client_ca", "log_text",
    "max_scorer_calls", "max_retries_limit", "min_block_tokens", "max_request_seconds",
)  # fmt: skip
_AT_LEAST = {"max_concurrent_requests": 1, "max_queued_requests": 0, "max_new_tokens_limit": 1,
             "max_num_candidates": 1, "max_message_bytes": 1024, "threads": 0, "graceful_shutdown_s": 0,
             "drain_delay_s": 0, "max_connection_age_s": 0, "max_kv_cache_mib": 1, "max_scorer_calls": 1,
             "max_retries_limit": 0, "min_block_tokens": 1, "max_request_seconds": 0.001,
             "scorer_timeout_s": 0.001}  # fmt: skip


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
    harm_model: str | None = None  # folder with harm.manifest.json and its ONNX file; unset = the shipped model
    log_level: str | None = None  # unset = the command's default: INFO for serve, WARNING otherwise
    log_format: str = "json"  # json (one object a line) | text
    log_text: bool = False  # request logs include prompt and response text: debugging only, they may be harmful
    # the gRPC server
    host: str = "127.0.0.1"  # loopback: other machines reach the server only when the operator says so (0.0.0.0)
    grpc_port: int = 50051
    metrics_host: str = "127.0.0.1"  # the metrics endpoint has no authentication: loopback unless configured
    metrics_port: int = 9464  # Prometheus /metrics; 0 = off
    health_port: int = 0  # grpc.health.v1 alone, in plaintext, for probes that cannot speak TLS (kubelet); 0 = off
    max_concurrent_requests: int = 8  # searches running at once (batched: they share each forward pass)
    batching: bool = True  # concurrent searches share one forward pass a step and one call per scorer (engine.md)
    max_queued_requests: int = 32  # beyond running + queued: RESOURCE_EXHAUSTED with a retry hint
    max_new_tokens_limit: int = 1024
    max_num_candidates: int = 256
    max_message_bytes: int = 4 * 1024 * 1024
    max_connection_age_s: float = 0.0  # close client connections this old, so clients find new replicas; 0 = never
    # work: what one request may cost, estimated before it runs (docs/configuration.md, "Admission by work")
    max_kv_cache_mib: int = 8192  # KV cache the running searches may reserve together; size it to the device
    max_scorer_calls: int = 100_000  # scorer calls one request may need (candidates x blocks x attempts x scorers)
    max_retries_limit: int = 4  # the most all-unsafe resamples per block a request may ask for
    min_block_tokens: int = 4  # the smallest block a request may ask for (each block is a round of scorer calls)
    max_request_seconds: float = 300.0  # a search stops with its checked text after this long, deadline or not
    scorer_timeout_s: float = 30.0  # a cost function, reward or critic call that takes longer fails the request
    # stopping: SIGTERM -> readiness NOT_SERVING -> drain_delay_s -> queue refused -> graceful_shutdown_s -> stop
    drain_delay_s: float = 5.0  # time for load balancers to see readiness drop while new requests are still served
    graceful_shutdown_s: float = 30.0  # in-flight streams finish; then each ends with its checked text (shutdown)
    reflection: bool = True
    api_key: str | None = None  # required in `authorization: Bearer <key>` on every RPC but health
    tls_cert: str | None = None  # PEM certificate chain; with tls_key, the server speaks TLS
    tls_key: str | None = None
    tls_client_ca: str | None = None  # PEM CA bundle; when set, clients must present a certificate it signed
    api_key_file: str | None = None  # a file holding the API key instead of api_key (kept out of `ps` and shells)
    allow_insecure: bool = False  # serve an API key without TLS (logged at every start); for local testing only
    # the safety floor: what a request may ask for (a tenants file sets it per tenant)
    allowed_strategies: str = "inferenceguard"  # comma list; the unguarded baselines only where the operator allows
    allowed_policies: str = ""  # comma list of policy ids a request may name; empty = the default policies
    tenants_file: str | None = None  # TOML: API key hashes and certificate subjects -> tenants (docs/configuration.md)
    # a client of a server (health, generate --server): TLS when any of these or tls_cert is set
    tls_ca: str | None = None  # PEM roots that verify the server's certificate; unset = the system roots
    tls_server_name: str | None = None  # the name to check the server's certificate against, when not the host
    tls_client_cert: str | None = None  # the client's certificate and key, for a server that requires mutual TLS
    tls_client_key: str | None = None

    def __post_init__(self) -> None:
        if self.log_level is not None and self.log_level.upper() not in LOG_LEVELS:
            raise InvalidOptionError("log_level", f"must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            raise InvalidOptionError("log_format", f"must be one of {', '.join(LOG_FORMATS)}, got {self.log_format!r}")
        for name, least in _AT_LEAST.items():
            if getattr(self, name) < least:
                raise InvalidOptionError(name, f"must be at least {least}, got {getattr(self, name)}")
        for name in ("grpc_port", "metrics_port", "health_port"):
            if not 0 <= getattr(self, name) <= 65535:
                raise InvalidOptionError(name, f"must be a port number in 0..65535, got {getattr(self, name)}")

    @staticmethod
    def names(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        config: str | Path | None = None,
    ) -> Settings:
        """Defaults, then the config file (`config`, else $INFERENCEGUARD_CONFIG), then INFERENCEGUARD_*
        environment variables, then explicit overrides (CLI flags; None = not given)."""
        environ = os.environ if environ is None else environ
        hints = typing.get_type_hints(cls)
        config = config or environ.get(CONFIG_VARIABLE)
        values: dict[str, Any] = _from_file(Path(config), hints) if config else {}
        for item in fields(cls):
            raw = environ.get(ENV_PREFIX + item.name.upper())
            if raw is not None:
                values[item.name] = _parse(ENV_PREFIX + item.name.upper(), raw, hints[item.name])
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        if values.get("api_key_file"):
            values["api_key"] = _key_from_file(values)
        if "home" in values:
            values["home"] = Path(values["home"]).expanduser()
        return cls(**values)

    def to_toml(self) -> str:
        """These settings as a config file that loads back to them; unset values and secrets are comments."""
        lines = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in SECRETS and value is not None:
                lines.append(f"# {item.name} is set (not shown)")
            elif value is None:
                lines.append(f"# {item.name} is unset")
            else:
                lines.append(f"{item.name} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _key_from_file(values: Mapping[str, Any]) -> str:
    if values.get("api_key"):
        raise InvalidOptionError("api_key_file", "give the API key either in api_key or in api_key_file, not both")
    path = Path(values["api_key_file"]).expanduser()
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise InvalidOptionError("api_key_file", f"cannot read {path}: {exc.strerror}") from exc
    if not key:
        raise InvalidOptionError("api_key_file", f"{path} is empty")
    return key


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


def _from_file(path: Path, hints: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a TOML file sets: top-level keys named like the Settings fields (dashes allowed)."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise InvalidOptionError(str(path), "config file not found") from exc
    except OSError as exc:
        raise InvalidOptionError(str(path), f"cannot read the config file: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:  # its message carries the line and column
        raise InvalidOptionError(str(path), f"not valid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in hints:
            raise InvalidOptionError(f"{path}: {key}", "unknown setting (docs/configuration.md lists them)")
        if name in values:
            raise InvalidOptionError(f"{path}: {key}", "is given twice (with dashes and with underscores)")
        values[name] = _checked(f"{path}: {key}", value, hints[name])
    return values


_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a string (a path)"}
_ACCEPTED: dict[type, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (float, int), str: (str,), Path: (str,)}


def _checked(name: str, value: Any, hint: Any) -> Any:
    """`value` if TOML gave the field's type; an int is accepted for a float, a bool is never a number."""
    kind = next((t for t in typing.get_args(hint) if t is not type(None)), hint)  # X | None -> X
    accepted = isinstance(value, _ACCEPTED[kind]) and isinstance(value, bool) == (kind is bool)
    if not accepted:
        raise InvalidOptionError(name, f"must be {_KINDS[kind]}, got {value!r}")
    return float(value) if kind is float else value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)  # inf and nan are TOML floats too
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string
