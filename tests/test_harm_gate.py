"""The request gate of the gated harm design: adapters, its training examples, and its build into ONNX."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from inferenceguard.critics.artifacts import sha256_of
from inferenceguard.critics.lora import LoraLinear, adapter_state, add_adapters, merge_adapters
from inferenceguard.critics.manifest import Manifest, ManifestError, read_manifest
from inferenceguard.critics.training.gate import CONTEXT_SHARE, gate_examples
from inferenceguard.prompts.catalog import PromptRecord, QAPair


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.query = nn.Linear(6, 6)
        self.other = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.other(torch.relu(self.query(x)))


def test_adapters_train_alone_start_as_the_base_and_merge_exactly() -> None:
    torch.manual_seed(0)
    model, x = Tiny(), torch.randn(4, 6)
    before = model(x).detach()
    add_adapters(model, rank=2, alpha=4.0, targets=("query",))
    assert isinstance(model.query, LoraLinear) and isinstance(model.other, nn.Linear)
    assert torch.allclose(model(x), before)  # B starts at zero
    assert set(adapter_state(model)) == {"query.lora_a", "query.lora_b"}
    with torch.no_grad():
        model.query.lora_b.normal_()
    adapted = model(x).detach()
    merge_adapters(model)
    assert isinstance(model.query, nn.Linear) and not isinstance(model.query, LoraLinear)
    assert torch.allclose(model(x), adapted, atol=1e-5) and not torch.allclose(adapted, before)


def record(i: int, label: str, split: str = "train", category: str = "") -> PromptRecord:
    return PromptRecord(f"p{i}", "src", f"request number {i}", label, category, split)


def test_gate_examples_come_from_train_prompts_and_keep_the_request_label_after_a_passage() -> None:
    records = [record(i, "harmful" if i % 2 else "benign") for i in range(200)]
    records += [record(900, "harmful", split="test"), record(901, "benign", "train", "hard_negative")]
    answers = [
        QAPair("q0", "a question written apart", "answer", True),
        QAPair("q1", "request number 900", "answer", True),  # a test prompt: never trains
        QAPair("q2", "a harmless question", "answer", False),
    ]
    examples = gate_examples(records, answers)
    texts = [e.text for e in examples]
    assert not any("900" in t for t in texts) and "a harmless question" not in texts
    assert "a question written apart" in texts
    plain = {e.text: e for e in examples if "\n\n" not in e.text}
    assert len(plain) == 202 and plain["request number 901"].weight > 1
    contextual = [e for e in examples if "\n\n" in e.text]
    assert 0.5 * CONTEXT_SHARE < len(contextual) / len(plain) < 1.5 * CONTEXT_SHARE
    for example in contextual:
        request = example.text.rsplit("\n\n", 1)[1]
        assert example.harmful == plain[request].harmful
    assert gate_examples(records, answers) == examples  # seeded


def test_a_gate_builds_into_onnx_that_matches_pytorch(tmp_path: Path) -> None:
    from inferenceguard.policies.builtin.harm_gate import RequestGate
    from inferenceguard.policies.builtin.harm_gate_build import build, gate_with_adapters

    torch.manual_seed(0)
    gate, _ = gate_with_adapters({}, 2, 4.0, ("query",))
    state = {name: torch.randn_like(p) * 0.1 for name, p in adapter_state(gate).items()}
    build(tmp_path, state, 2, 4.0, ("query",))  # raises if ONNX and PyTorch differ
    scores = RequestGate(tmp_path)(["how do I bake bread", "how do I bake bread", "x " * 400])
    assert scores.shape == (3,) and ((scores > 0) & (scores < 1)).all() and scores[0] == scores[1]


def gate_manifest(folder: Path, sha256: str | None = None) -> Manifest:
    """A manifest naming a small gate (random adapters) saved in `folder`."""
    from safetensors.torch import save_file

    from inferenceguard.policies.builtin.harm_gate_build import gate_with_adapters

    gate, _ = gate_with_adapters({}, 2, 4.0, ("query",))
    save_file(adapter_state(gate), str(folder / "gate.safetensors"))
    spec = {"weights": "gate.safetensors", "sha256": sha256 or sha256_of(folder / "gate.safetensors")}
    fields = {"name": "harm", "version": "0", "kind": "cost_function", "onnx": "x", "sha256": "x"}
    gate_spec = {**spec, "rank": 2, "alpha": 4.0, "targets": ["query"]}
    (folder / "harm.manifest.json").write_text(json.dumps({**fields, "inputs": [], "outputs": [], "gate": gate_spec}))
    return read_manifest(folder / "harm.manifest.json")


def test_a_gate_whose_weights_differ_from_the_manifest_is_refused(tmp_path: Path) -> None:
    from inferenceguard.policies.builtin.harm_gate import gate_folder

    with pytest.raises(ManifestError, match=r"gate\.sha256"):
        gate_folder(tmp_path / "home", gate_manifest(tmp_path, sha256="0" * 64))


def test_a_gate_built_by_another_process_meanwhile_wins_and_no_half_file_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inferenceguard.policies.builtin import harm_gate_build
    from inferenceguard.policies.builtin.harm_gate import gate_folder

    manifest = gate_manifest(tmp_path)
    home = tmp_path / "home"

    def build_while_another_finishes(target: Path, *args: object) -> None:
        target.mkdir(parents=True)
        (target / harm_gate_build.GATE_ONNX).write_text("mine")
        other = home / "scorers" / target.name.split(".building-")[0]
        other.mkdir(parents=True)
        (other / harm_gate_build.GATE_ONNX).write_text("theirs")

    monkeypatch.setattr(harm_gate_build, "build", build_while_another_finishes)
    folder = gate_folder(home, manifest)
    assert (folder / harm_gate_build.GATE_ONNX).read_text() == "theirs"
    assert [p.name for p in (home / "scorers").iterdir()] == [folder.name]
