"""Who is calling, and what they may ask for: tenants, each with its keys (stored as SHA-256 hashes) or client
certificate subjects, its policies, strategies and limits.

Without a tenants file the server has one tenant, `default`, that holds the server-wide settings: its API key
(when set) and its safety floor. Tenant names are a closed set read at start or reload, so they are safe metric
labels.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferenceguard.service.config import Settings
from inferenceguard.service.convert import STRATEGY_ENUM
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.errors import UnauthenticatedError

DEFAULT_TENANT = "default"
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_KEYS = {
    "api_key_hashes", "client_subjects", "default_policies", "allowed_policies", "allowed_strategies",
    "max_new_tokens", "max_num_candidates", "requests_per_second", "operator",
}  # fmt: skip


@dataclass(frozen=True)
class Tenant:
    name: str
    default_policies: tuple[str, ...]
    allowed_policies: frozenset[str]  # what a request may name in safety.policy_ids
    allowed_strategies: frozenset[str]
    max_new_tokens: int
    max_num_candidates: int
    requests_per_second: float = 0.0  # 0 = no rate limit
    operator: bool = False  # may reload the server's configuration


def hash_key(api_key: str) -> str:
    """The form a tenants file stores a key in."""
    return "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()


@dataclass(frozen=True)
class Tenants:
    by_name: Mapping[str, Tenant]
    by_key_hash: Mapping[str, str]  # sha256:... -> tenant name
    by_subject: Mapping[str, str]  # client certificate subject -> tenant name
    anonymous: str | None = None  # the tenant of a call without credentials, when the server asks for none

    def identify(self, metadata: Sequence[tuple[str, Any]], subjects: Sequence[str] = ()) -> Tenant:
        """The caller's tenant from its `authorization: Bearer KEY` header or its verified certificate subject."""
        given = dict(metadata).get("authorization")
        if self.by_key_hash and isinstance(given, str) and given.startswith("Bearer "):
            digest = hash_key(given.removeprefix("Bearer "))
            for known, name in self.by_key_hash.items():  # every entry compared: no early exit on a match
                if hmac.compare_digest(known, digest):
                    return self.by_name[name]
            raise UnauthenticatedError("the API key in 'authorization' is not valid")
        for subject in subjects:
            if subject in self.by_subject:
                return self.by_name[self.by_subject[subject]]
        if self.anonymous is not None:
            return self.by_name[self.anonymous]
        raise UnauthenticatedError("a valid API key is required in 'authorization'")

    @property
    def needs_credentials(self) -> bool:
        return self.anonymous is None


def load_tenants(settings: Settings) -> Tenants:
    """The tenants file's tenants, or the one `default` tenant of the server-wide settings."""
    if settings.tenants_file is None:
        return _single(settings)
    if settings.api_key:
        raise InvalidOptionError("api_key", "cannot be combined with tenants_file: give the key to a tenant there")
    path = Path(settings.tenants_file)
    table = _read(path).get("tenants")
    if not isinstance(table, dict) or not table:
        raise InvalidOptionError(f"{path}: tenants", "the file must define at least one [tenants.NAME] table")
    tenants = {name: _tenant(f"{path}: tenants.{name}", name, entry, settings) for name, entry in table.items()}
    keys: dict[str, str] = {}
    subjects: dict[str, str] = {}
    for name, entry in table.items():
        for where, found, values in (("api_key_hashes", keys, entry.get("api_key_hashes", [])),
                                     ("client_subjects", subjects, entry.get("client_subjects", []))):  # fmt: skip
            for value in values:
                if value in found:
                    raise InvalidOptionError(f"{path}: tenants.{name}.{where}", f"is also given to {found[value]!r}")
                found[value] = name
    return Tenants(tenants, keys, subjects)


def _single(settings: Settings) -> Tenants:
    tenant = _tenant("", DEFAULT_TENANT, {"operator": True}, settings)
    keys = {hash_key(settings.api_key): DEFAULT_TENANT} if settings.api_key else {}
    return Tenants({DEFAULT_TENANT: tenant}, keys, {}, anonymous=None if settings.api_key else DEFAULT_TENANT)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise InvalidOptionError("tenants_file", f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidOptionError("tenants_file", f"{path} is not valid TOML: {exc}") from exc


def _tenant(where: str, name: str, entry: Any, settings: Settings) -> Tenant:
    if not isinstance(entry, dict):
        raise InvalidOptionError(where, "must be a table")
    if not _NAME.match(name):
        raise InvalidOptionError(where, f"the tenant name must match {_NAME.pattern}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise InvalidOptionError(_field(where, unknown[0]), f"unknown key; known keys: {', '.join(sorted(_KEYS))}")
    hashes = _strings(where, entry, "api_key_hashes", [])
    bad = [h for h in hashes if not _HASH.match(h)]
    if bad:
        raise InvalidOptionError(_field(where, "api_key_hashes"), "each must be 'sha256:' and 64 hex digits (hash-key)")
    _strings(where, entry, "client_subjects", [])
    defaults = _strings(where, entry, "default_policies", Settings.names(settings.default_policy))
    allowed = _strings(where, entry, "allowed_policies", Settings.names(settings.allowed_policies) or defaults)
    strategies = _strings(where, entry, "allowed_strategies", Settings.names(settings.allowed_strategies))
    _subset(_field(where, "default_policies"), defaults, allowed, "allowed_policies")
    _subset(_field(where, "allowed_strategies"), strategies, list(STRATEGY_ENUM), "the strategies a request can name")
    return Tenant(
        name,
        tuple(defaults),
        frozenset(allowed),
        frozenset(strategies),
        _number(where, entry, "max_new_tokens", settings.max_new_tokens_limit, int),
        _number(where, entry, "max_num_candidates", settings.max_num_candidates, int),
        _number(where, entry, "requests_per_second", 0.0, float),
        _flag(where, entry, "operator"),
    )


def _strings(where: str, entry: dict[str, Any], key: str, default: list[str]) -> list[str]:
    value = entry.get(key, default)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise InvalidOptionError(_field(where, key), "must be a list of non-empty strings")
    return value


def _subset(field: str, values: Sequence[str], allowed: Sequence[str], what: str) -> None:
    outside = [value for value in values if value not in allowed]
    if outside:
        raise InvalidOptionError(field, f"{outside[0]!r} is not among {what} ({', '.join(sorted(allowed))})")


def _number(where: str, entry: dict[str, Any], key: str, limit: Any, kind: type) -> Any:
    """A tenant's limit: at most the server's (`limit`), and never negative."""
    value = entry.get(key, limit)
    if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int) or value < 0:
        raise InvalidOptionError(_field(where, key), f"must be a non-negative {kind.__name__}, got {value!r}")
    if kind is int and value > limit:
        raise InvalidOptionError(_field(where, key), f"must be at most the server's limit {limit}, got {value}")
    return kind(value)


def _flag(where: str, entry: dict[str, Any], key: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise InvalidOptionError(_field(where, key), f"must be true or false, got {value!r}")
    return value


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
