"""Fixed, de-duplicated train / dev / test splits.

- HarmBench test prompts and every hard negative are test; HarmBench validation prompts are dev.
- Other prompts are split by a hash of their normalised text, so a prompt keeps its split whatever else changes.
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

SPLITS = ("train", "dev", "test")
_SHARES = {  # cumulative train, dev shares; the rest is test
    "harmful": (0.8, 1.0),  # AdvBench and Do-Not-Answer: training and development only
    "toxic_continuation": (0.4, 0.6),
    "benign": (0.4, 0.6),
}


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", text.lower())).strip()


def text_hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode()).hexdigest()


def split_of(record: PromptRecord) -> str:
    if record.source == "harmbench-test" or record.category == "hard_negative":
        return "test"
    if record.source == "harmbench-val":
        return "dev"
    kind = (
        "benign"
        if record.label == "benign"
        else ("toxic_continuation" if record.category == "toxic_continuation" else "harmful")
    )
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
