"""Tenants: the file's checks (each error names the key), identification by key hash or certificate subject, the
safety floor's checks and the per-tenant rate limit, without a server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from inferenceguard.service.cli import main
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import BudgetedCost, Guard, SearchOptions
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.errors import PermissionDeniedError, RateLimitedError, UnauthenticatedError
from inferenceguard.service.floor import check_budget, check_choices
from inferenceguard.service.rate_limit import RateLimiter
from inferenceguard.service.tenants import DEFAULT_TENANT, Tenants, hash_key, load_tenants

TWO_TENANTS = f"""
[tenants.billing]
api_key_hashes = ["{hash_key("billing-key")}"]
default_policies = ["harm"]
allowed_policies = ["harm", "toxicity"]
max_num_candidates = 32
requests_per_second = 2

[tenants.support]
api_key_hashes = ["{hash_key("support-key")}"]
client_subjects = ["CN=support-backend"]
default_policies = ["toxicity"]
allowed_strategies = ["inferenceguard", "beam"]
operator = true
"""


def tenants_from(tmp_path: Path, text: str, **settings: object) -> Tenants:
    path = tmp_path / "tenants.toml"
    path.write_text(text)
    return load_tenants(Settings.load({"tenants_file": str(path), **settings}, environ={}))


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def test_each_key_and_subject_names_its_tenant_and_others_are_refused(tmp_path: Path) -> None:
    tenants = tenants_from(tmp_path, TWO_TENANTS)
    billing, support = tenants.identify(bearer("billing-key")), tenants.identify(bearer("support-key"))
    assert (billing.name, support.name) == ("billing", "support")
    assert tenants.identify((), ["CN=support-backend"]).name == "support"
    assert billing.allowed_policies == {"harm", "toxicity"} and billing.allowed_strategies == {"inferenceguard"}
    assert billing.max_num_candidates == 32 and support.max_num_candidates == Settings().max_num_candidates
    assert support.operator and not billing.operator
    for metadata, subjects in ((bearer("guess"), ["CN=support-backend"]), ((), ["CN=someone-else"]), ((), [])):
        with pytest.raises(UnauthenticatedError):
            tenants.identify(metadata, subjects)  # a wrong key is refused even beside a known certificate


def test_without_a_file_one_default_tenant_holds_the_server_settings() -> None:
    settings = Settings.load({"default_policy": "harm", "allowed_policies": "harm,toxicity"}, environ={})
    open_server = load_tenants(settings)
    assert open_server.identify(()).name == DEFAULT_TENANT and not open_server.needs_credentials
    keyed = load_tenants(Settings.load({"api_key": "k"}, environ={}))
    assert keyed.identify(bearer("k")).allowed_strategies == {"inferenceguard"}
    with pytest.raises(UnauthenticatedError):
        keyed.identify(())


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[tenants.a]\napi_key_hashes = ['plain-text-key']\n", "tenants.a.api_key_hashes"),
        ("[tenants.a]\nallowed_strategies = ['recontrol']\n", "tenants.a.allowed_strategies"),
        ("[tenants.a]\ndefault_policies = ['harm']\nallowed_policies = ['toxicity']\n", "tenants.a.default_policies"),
        ("[tenants.a]\nmax_new_tokens = 1000000\n", "tenants.a.max_new_tokens"),
        ("[tenants.a]\nrequests_per_second = -1\n", "tenants.a.requests_per_second"),
        ("[tenants.a]\nbudget = 9\n", "tenants.a.budget"),
        ("[tenants.Bad_Name]\n", "tenants.Bad_Name"),
        ("[tenants.a]\nclient_subjects = ['CN=x']\n[tenants.b]\nclient_subjects = ['CN=x']\n", "client_subjects"),
        ("title = 'no tenants'\n", "tenants"),
    ],
)
def test_a_bad_tenants_file_is_refused_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        tenants_from(tmp_path, text)
    assert named in caught.value.field


def test_an_api_key_setting_and_a_tenants_file_do_not_mix(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match="api_key"):
        tenants_from(tmp_path, TWO_TENANTS, api_key="k")


def test_the_floor_denies_what_a_tenant_may_not_ask_for(tmp_path: Path) -> None:
    support = tenants_from(tmp_path, TWO_TENANTS).identify(bearer("support-key"))
    known = ["harm", "toxicity", "lexicon"]
    check_choices(support, SearchOptions(strategy="beam"), ["toxicity"], known)
    for options, policies, field in (
        (SearchOptions(strategy="sample"), [], "search.strategy"),
        (SearchOptions(), ["lexicon"], "safety.policy_ids"),
    ):
        with pytest.raises(PermissionDeniedError) as caught:
            check_choices(support, options, policies, known)
        assert caught.value.field == field
    guard = Guard((BudgetedCost(lambda *a: 0.0, 1.02, "harm"), BudgetedCost(lambda *a: 0.0, 0.5, "tox")), None)
    check_budget(SearchOptions(budget=0.25), guard)
    with pytest.raises(PermissionDeniedError, match=r"safety.budget: .*at most 0.5, got 1e\+300"):
        check_budget(SearchOptions(budget=1e300), guard)


def test_the_rate_limit_refills_at_the_tenants_rate(tmp_path: Path) -> None:
    billing = tenants_from(tmp_path, TWO_TENANTS).identify(bearer("billing-key"))
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limiter.admit(billing)
    limiter.admit(billing)  # a burst of one second's worth (2)
    with pytest.raises(RateLimitedError) as caught:
        limiter.admit(billing)
    assert caught.value.retry_after_s == pytest.approx(0.5)
    now[0] = 0.5
    limiter.admit(billing)


def test_hash_key_prints_what_a_tenants_file_stores(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("billing-key\n"))
    assert main(["hash-key"]) == 0
    assert capsys.readouterr().out.strip() == hash_key("billing-key")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["hash-key"]) == 2
