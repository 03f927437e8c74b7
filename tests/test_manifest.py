"""ONNX files against their manifests: each mismatch is a clear error naming the file and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inferenceguard.critics.manifest import ManifestError, read_manifest, verify
from inferenceguard.critics.onnx_critic import OnnxCritic
from inferenceguard.policies import hookimpl
from inferenceguard.policies.types import PolicyLoadError
from inferenceguard.service.engine import Engine, LanguageModel, SearchOptions
from inferenceguard.service.runtime import build_guard
from tests.onnx_helpers import critic_manifest
from tests.test_plugins import WordsPlugin, registry_with


def load(path: Path, hidden_size: int = 32) -> OnnxCritic:
    return OnnxCritic.from_manifest(path, "tiny-llama", hidden_size, -1)


def test_a_valid_critic_loads(tmp_path: Path) -> None:
    critic = load(critic_manifest(tmp_path, 32))
    assert critic.hidden_size == 32 and critic.name == "tiny-critic"


def test_wrong_sha256(tmp_path: Path) -> None:
    path = critic_manifest(tmp_path, 32, sha256="0" * 64)
    with pytest.raises(ManifestError, match=r"critic\.manifest\.json: sha256: critic\.onnx has sha256 [0-9a-f]{64}"):
        load(path)


def test_corrupt_onnx_file(tmp_path: Path) -> None:
    path = critic_manifest(tmp_path, 32)
    (tmp_path / "critic.onnx").write_bytes(b"\x00 not a model")
    data = json.loads(path.read_text())
    data["sha256"] = __import__("hashlib").sha256(b"\x00 not a model").hexdigest()
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"onnx: critic\.onnx cannot be loaded by onnxruntime"):
        load(path)


def test_critic_for_another_hidden_size(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"lm\.hidden_size: the critic was trained for 64; the served model has 32"):
        load(critic_manifest(tmp_path, 64))


def test_critic_for_another_model(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"lm\.id: the critic was trained for 'other-lm'"):
        load(critic_manifest(tmp_path, 32, lm_id="other-lm"))


def test_declared_shapes_must_match_the_graph(tmp_path: Path) -> None:
    path = critic_manifest(tmp_path, 32)
    data = json.loads(path.read_text())
    data["inputs"][0]["shape"] = ["batch", 48]
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"inputs\.hidden\.shape: declares \['batch', 48\]"):
        verify(read_manifest(path))


@pytest.mark.parametrize("field", ["sha256", "onnx", "kind"])
def test_missing_fields_are_named(tmp_path: Path, field: str) -> None:
    path = critic_manifest(tmp_path, 32)
    data = json.loads(path.read_text())
    del data[field]
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=f"{field}: is missing"):
        read_manifest(path)


def test_a_policy_with_a_bad_critic_is_refused_and_the_others_work(tmp_path: Path, lm: LanguageModel) -> None:
    good = critic_manifest(tmp_path, 32)
    (tmp_path / "wrong").mkdir()
    wrong = critic_manifest(tmp_path / "wrong", 64)

    class Critics:
        @hookimpl
        def register_critics(self, register: Any) -> None:
            register("good-critic", good)
            register("wrong-critic", wrong)

        @hookimpl
        def register_policies(self, register: Any) -> None:
            register(
                "guarded", cost_functions={"banned-words": 0.5}, critic="good-critic", reward="length", version="1"
            )
            register(
                "misfit", cost_functions={"banned-words": 0.5}, critic="wrong-critic", reward="length", version="1"
            )

    registry = registry_with(WordsPlugin(), Critics())
    with pytest.raises(PolicyLoadError, match=r"policy 'misfit': .*lm\.hidden_size"):
        registry.load("misfit")
    guard = build_guard(registry, ["guarded", "no-five-six"])
    assert len(guard.critics) == 1 and guard.critics[0].columns == (0,)
    options = SearchOptions(num_candidates=4, block_tokens=4, max_new_tokens=8, seed=0, p_safe_threshold=0.0)
    result = Engine(lm).run("w1", options, guard=guard)
    assert result.usage.critic_evaluations > 0
