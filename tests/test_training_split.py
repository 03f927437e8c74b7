"""The evaluation's held-out prompts never reach the training data of a cost model or a critic."""

from __future__ import annotations

import numpy as np

from inferenceguard.critics.training.harm_model import build_examples
from inferenceguard.critics.training.rollouts import Rollout
from inferenceguard.prompts.catalog import PromptRecord, QAPair
from inferenceguard.prompts.splits import normalise


def test_harm_model_examples_leave_out_dev_and_test_prompts() -> None:
    records = [
        PromptRecord("train-h", "s", "train harmful request", "harmful", split="train"),
        PromptRecord("train-b", "s", "train benign request", "benign", split="train"),
        PromptRecord("dev-h", "s", "dev harmful request", "harmful", split="dev"),
        PromptRecord("test-h", "s", "test harmful request", "harmful", split="test"),
        PromptRecord("test-b", "s", "test benign request", "benign", split="test"),
    ]
    answers = [
        QAPair("qa-1", "Test harmful request!", "an answer", True),  # the same text as a test prompt
        QAPair("qa-2", "dev harmful request", "an answer", False),
        QAPair("qa-3", "a pair of its own", "an answer", True),
    ]
    rollouts = [Rollout(r.id, 0, [1, 2, 3], [2], np.zeros((1, 4), dtype=np.float16)) for r in records]
    examples = build_examples(records, answers, rollouts, lambda text: list(range(len(text.split()))), str)
    held_out = {normalise(r.text) for r in records if r.split != "train"}
    prompts = {normalise(e.prompt) for e in examples}
    assert prompts == {"train harmful request", "train benign request", "a pair of its own"}
    assert not prompts & held_out
