"""The harm cost model's designs and its mined examples, on synthetic data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inferenceguard.critics.training.export import export_onnx
from inferenceguard.critics.training.harm_heads import (
    DESIGNS,
    DIMENSION,
    GATED_DESIGNS,
    HEADS,
    FactoredHarmHead,
    GatedHarmHead,
    HarmData,
    StrictHarmHead,
    train,
)
from inferenceguard.critics.training.harm_model import Builder
from inferenceguard.critics.training.mined import MiningRound, mined_examples


def synthetic(n: int = 600, seed: int = 0) -> HarmData:
    """Harmful prompts point one way, benign another; answers that go along point a third way, refusals a fourth,
    and answers to harmful prompts that neither go along nor refuse a fifth."""
    rng = np.random.default_rng(seed)
    harmful = rng.random(n) < 0.5
    draw = rng.random(n)
    along, refusal = harmful & (draw < 0.5), harmful & (draw >= 0.75)
    answer_axis = np.where(along, 2, np.where(refusal, 3, np.where(harmful, 4, 3)))
    axis = np.eye(DIMENSION, dtype=np.float32)
    prompts = rng.normal(0, 0.3, (n, DIMENSION)).astype(np.float32) + np.where(harmful[:, None], axis[0], axis[1])
    responses = rng.normal(0, 0.3, (n, DIMENSION)).astype(np.float32) + axis[answer_axis]
    return HarmData(prompts, responses, along.astype(np.float32), np.ones(n, np.float32), harmful, refusal)


def inputs(design: str, data: HarmData) -> dict[str, torch.Tensor]:
    """The head's inputs; the gated designs are given the true request label as their gate, and the strict one
    a rule that reads every answer as an outright refusal (so it computes what `gated` computes)."""
    embeddings = {
        "prompt_embedding": torch.from_numpy(data.prompts),
        "response_embedding": torch.from_numpy(data.responses),
    }
    if design not in GATED_DESIGNS:
        return embeddings
    gate = {"prompt_harm": torch.from_numpy(data.harmful_prompt.astype(np.float32))}
    rule = {"refuses_outright": torch.ones(len(data.labels))} if design == "strict" else {}
    return {**gate, **rule, **embeddings}


@pytest.mark.parametrize("design", DESIGNS)
def test_each_design_flags_going_along_and_exports_with_parity(design: str, tmp_path: Path) -> None:
    data = synthetic()
    model = train(design, data, epochs=20)
    assert type(model) is HEADS[design]
    feeds = inputs(design, data)
    with torch.no_grad():
        cost = model(*feeds.values()).numpy()
    assert cost.shape == (len(data.labels),)
    assert cost[data.labels > 0].mean() > 0.8 and cost[~data.harmful_prompt].mean() < 0.2
    sample = {key: value[:8] for key, value in feeds.items()}
    manifest = export_onnx(model, sample, ["cost"], tmp_path, "harm", "cost_function", "2.0.0", design=design)
    written = json.loads(manifest.read_text())
    assert written["design"] == design and [i["name"] for i in written["inputs"]] == list(feeds)


def test_the_gated_design_lets_only_refusals_through_a_harmful_request() -> None:
    data = synthetic()
    model = train("gated", data, epochs=20)
    assert isinstance(model, GatedHarmHead)
    with torch.no_grad():
        cost = model(*inputs("gated", data).values()).numpy()
    neither = data.harmful_prompt & ~data.refusal & (data.labels == 0)
    assert cost[data.refusal].mean() < 0.2 and cost[neither].mean() > 0.8


def test_the_strict_design_withholds_a_refusal_the_rule_does_not_read() -> None:
    data = synthetic()
    model = train("strict", data, epochs=20)
    assert isinstance(model, StrictHarmHead)
    feeds = inputs("strict", data)
    harmful_refusals = data.refusal & data.harmful_prompt
    with torch.no_grad():
        ruled = model(*feeds.values()).numpy()
        feeds["refuses_outright"] = torch.zeros(len(data.labels))
        unruled = model(*feeds.values()).numpy()
    assert ruled[harmful_refusals].mean() < 0.2 and unruled[harmful_refusals].min() > 0.99
    assert unruled[~data.harmful_prompt].max() < 0.01  # a benign request costs nothing, refusal or not


def test_the_factored_cost_never_exceeds_the_prompt_factor() -> None:
    data = synthetic()
    model = train("factored", data, epochs=20)
    assert isinstance(model, FactoredHarmHead)
    benign = torch.from_numpy(data.prompts[~data.harmful_prompt])
    every_answer = torch.from_numpy(data.responses[: len(benign)])
    with torch.no_grad():
        cost = model(benign, every_answer)
        assert bool((cost <= model.prompt_harm(benign) + 1e-6).all()) and float(cost.max()) < 0.5


def test_mined_examples_take_the_less_safe_reading_and_skip_withheld(tmp_path: Path) -> None:
    run, texts = tmp_path / "run", tmp_path / "texts"
    run.mkdir()
    texts.mkdir()
    answers = {"p1": "w1 w2 w3", "p2": "w4 w5", "p3": "", "p4": "w6"}
    rows, lines, labels = [], [], []
    for prompt_id, text in answers.items():
        digest = hashlib.sha256(text.encode()).hexdigest()
        judge = {"released_chars": len(text)}
        rows.append({"method": "m", "prompt_id": prompt_id, "kind": "harmful", "text_sha256": digest, "judge": judge})
        lines.append({"method": "m", "prompt_id": prompt_id, "text": text})
        for rater, label in {
            "p1": [("a", "N"), ("b", "A")],
            "p2": [("a", "R")],
            "p3": [("a", "W")],
            "p4": [("a", "H")],
        }[prompt_id]:
            labels.append({"prompt_id": prompt_id, "text_sha256": digest, "label": label, "rater": rater})
    for path, records in (
        (run / "results.jsonl", rows),
        (texts / "texts.jsonl", lines),
        (run / "labels.jsonl", labels),
    ):
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    builder = Builder(lambda text: list(range(len(text.split()))), lambda ids: " ".join(f"t{i}" for i in ids))
    prompts = {"p1": "one", "p2": "two", "p3": "three"}  # p4 is not a train prompt
    examples = mined_examples([MiningRound(run, texts)], prompts, builder)
    assert sorted({(e.prompt, e.harmful) for e in examples}) == [("one", 1), ("two", 0)]
    assert all(e.kind == "mined" for e in examples)
    assert {e.prompt for e in examples if e.refusal} == {"two"}  # R refuses; N does not go along, nor refuses


def test_a_request_at_the_gate_threshold_costs_half() -> None:
    head = GatedHarmHead(gate_threshold=0.7)
    harm = head.request_harm(torch.tensor([0.6, 0.7, 0.8])).tolist()
    assert harm[0] < 0.5 < harm[2] and abs(harm[1] - 0.5) < 1e-6
    with pytest.raises(ValueError, match="gate_threshold"):
        GatedHarmHead(gate_threshold=1.0)
