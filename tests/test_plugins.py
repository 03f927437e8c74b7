"""The plugin API: throwaway plugins registered into a fresh manager per test."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pluggy import PluginValidationError

from inferenceguard.policies import hookimpl
from inferenceguard.policies.manager import build_plugin_manager
from inferenceguard.policies.registry import Registry
from inferenceguard.policies.types import LoadContext, PolicyLoadError, UnknownPolicyError
from inferenceguard.service.engine import Engine, LanguageModel, SearchOptions
from inferenceguard.service.runtime import build_guard
from tests.scripted import LengthReward, WordCost


class WordsPlugin:
    """Registers a cost function that bans two words, a reward, and a policy using both."""

    @hookimpl
    def register_cost_functions(self, register: Any) -> None:
        register("banned-words", lambda context: WordCost({"w5", "w6"}), version="2.0")

    @hookimpl
    def register_reward_functions(self, register: Any) -> None:
        register("length", lambda context: LengthReward(), version="1.0")

    @hookimpl
    def register_policies(self, register: Any) -> None:
        register(
            "no-five-six",
            cost_functions={"banned-words": 0.5},
            reward="length",
            version="3.1",
            exhausted_message=" [stopped]",
        )


def registry_with(*plugins: Any, blocked: tuple[str, ...] = ()) -> Registry:
    plugin_set = build_plugin_manager(blocked=blocked)
    for index, plugin in enumerate(plugins):
        plugin_set.manager.register(plugin, name=f"test-plugin-{index}")
    return Registry(plugin_set, LoadContext(home=Path("/nonexistent"), lm_id="tiny-llama", hidden_size=32))


def test_builtin_policies_are_registered_through_the_hooks() -> None:
    registry = registry_with()
    assert {"harm", "harm@1.0.0", "toxicity", "lexicon"} <= set(registry.policy_ids())
    assert registry.spec("harm@1.0.0").cost_functions == {"harm@1.0.0": 0.5}
    assert registry.spec("toxicity").plugin == "builtin"
    assert ("cost_function", "toxicity") in registry.scorers and ("reward_function", "relevance") in registry.scorers


def test_a_plugin_policy_is_enforced_by_the_engine(lm: LanguageModel) -> None:
    registry = registry_with(WordsPlugin())
    guard = build_guard(registry, ["no-five-six"])
    assert guard.policies == (("no-five-six", "3.1"),) and guard.costs[0].name == "banned-words"
    for seed in range(5):
        result = Engine(lm).run(
            "w1 w2", SearchOptions(num_candidates=8, block_tokens=4, max_new_tokens=12, seed=seed), guard=guard
        )
        assert result.safe and not {"w5", "w6"} & set(result.text.split())
        assert result.policies == (("no-five-six", "3.1"),)


def test_a_plugin_that_raises_while_registering_loses_its_registrations_only() -> None:
    class Broken:
        @hookimpl
        def register_cost_functions(self, register: Any) -> None:
            register("half-done", lambda context: WordCost(set()), version="1")
            raise RuntimeError("cannot read my config")

    registry = registry_with(Broken(), WordsPlugin())
    assert "cannot read my config" in registry.errors["test-plugin-0"]
    assert ("cost_function", "half-done") not in registry.scorers
    assert {"no-five-six", "harm", "toxicity"} <= set(registry.policy_ids())


def test_a_name_registered_twice_is_refused_and_names_the_owner() -> None:
    class Impostor:
        @hookimpl
        def register_cost_functions(self, register: Any) -> None:
            register("toxicity", lambda context: WordCost(set()), version="9")

    registry = registry_with(Impostor())
    assert "cost_function 'toxicity' is already registered by plugin 'builtin'" in registry.errors["test-plugin-0"]


@pytest.mark.parametrize("name", ["Harm", "harm@", "harm@v1", "harm@1.0@2", "a" * 65])
def test_names_are_lowercase_with_at_most_a_version_pin(name: str) -> None:
    class Odd:
        @hookimpl
        def register_policies(self, register: Any) -> None:
            register(name, cost_functions={"harm": 0.5}, version="1")

    registry = registry_with(Odd())
    assert "must match" in registry.errors["test-plugin-0"] and name not in registry.policy_ids()


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"cost_functions": {}}, "must name at least one cost function"),
        ({"cost_functions": {"harm": -1.0}}, "budget of 'harm' must be a finite number >= 0"),
        ({"cost_functions": {"harm": float("nan")}}, "budget of 'harm' must be a finite number >= 0"),
    ],
)
def test_invalid_policy_registrations_are_refused(policy: dict[str, Any], message: str) -> None:
    class Bad:
        @hookimpl
        def register_policies(self, register: Any) -> None:
            register("bad", version="1", **policy)

    registry = registry_with(Bad())
    assert message in registry.errors["test-plugin-0"] and "bad" not in registry.policy_ids()


def test_a_misspelled_hook_fails_at_start() -> None:
    class Typo:
        @hookimpl
        def register_polices(self, register: Any) -> None:  # missing an "i"
            pass

    plugin_set = build_plugin_manager()
    plugin_set.manager.register(Typo(), name="typo")
    with pytest.raises(PluginValidationError, match="register_polices"):
        plugin_set.manager.check_pending()


def test_a_blocked_plugin_is_not_loaded() -> None:
    assert registry_with(blocked=("builtin",)).policy_ids() == []


def test_unknown_policy_lists_the_known_ones() -> None:
    with pytest.raises(
        UnknownPolicyError,
        match=re.escape("policy 'nope' is not registered; known policies: harm, harm@1.0.0, lexicon"),
    ):
        registry_with().spec("nope")


def test_a_policy_whose_parts_fail_is_refused_and_the_others_still_load(lm: LanguageModel) -> None:
    def needs_a_file(context: LoadContext) -> Any:
        raise FileNotFoundError("/etc/acme/terms.json does not exist")

    class Fragile:
        @hookimpl
        def register_cost_functions(self, register: Any) -> None:
            register("needs-a-file", needs_a_file, version="1")

        @hookimpl
        def register_policies(self, register: Any) -> None:
            register("fragile", cost_functions={"needs-a-file": 1.0}, reward="length", version="1")
            register("dangling", cost_functions={"not-registered": 1.0}, reward="length", version="1")

    registry = registry_with(Fragile(), WordsPlugin())
    with pytest.raises(PolicyLoadError, match=r"policy 'fragile': /etc/acme/terms.json does not exist"):
        registry.load("fragile")
    with pytest.raises(PolicyLoadError, match="policy 'dangling': cost function 'not-registered' is not registered"):
        registry.load("dangling")
    assert registry.load("no-five-six").cost_functions["banned-words"] is not None


class _FakeEntryPoint:
    def __init__(self, name: str, plugin: Any, fail: bool = False) -> None:
        self.name, self.value, self._plugin, self._fail = name, f"{name}_pkg.plugin", plugin, fail
        self.dist = type("Dist", (), {"version": "4.5.6"})()

    def load(self) -> Any:
        if self._fail:
            raise ImportError("No module named 'missing_dependency'")
        return self._plugin


def test_entry_points_load_only_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = [_FakeEntryPoint("words", WordsPlugin()), _FakeEntryPoint("broken", None, fail=True)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: entries)
    assert "words" not in build_plugin_manager().versions
    allowed = build_plugin_manager(allow=["words"])
    assert allowed.versions["words"] == "4.5.6" and "broken" not in allowed.errors
    everything = build_plugin_manager(allow=["*"])
    assert "missing_dependency" in everything.errors["broken"] and "words" in everything.versions
    assert "no installed package" in build_plugin_manager(allow=["absent"]).errors["absent"]


def test_plugin_scorers_are_called_batched_and_directly(lm: LanguageModel) -> None:
    registry = registry_with(WordsPlugin())
    guard = build_guard(registry, ["no-five-six"])
    cost = guard.costs[0].function
    Engine(lm).run("w1", SearchOptions(num_candidates=6, block_tokens=2, max_new_tokens=4, seed=0), guard=guard)
    assert all(len(call) == 6 for call in cost.calls)
    assert np.asarray(cost(["p"], ["w5 w5"]))[0] == 2.0
