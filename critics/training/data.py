"""Which prompts feed training: the train split only, capped per source in a fixed (hash) order."""

from __future__ import annotations

from collections.abc import Sequence

from inferenceguard.prompts.catalog import PromptRecord
from inferenceguard.prompts.splits import text_hash

ROLLOUT_CAPS = {"advbench": 200, "donotanswer": 250, "realtoxicityprompts": 150}  # benign prompts: all


def rollout_prompts(records: Sequence[PromptRecord]) -> list[PromptRecord]:
    """Training prompts for base-LM rollouts: every benign train prompt and a capped share of harmful ones."""
    train = sorted((r for r in records if r.split == "train"), key=lambda r: text_hash(r.text))
    taken: dict[str, int] = {}
    chosen = []
    for record in train:
        cap = ROLLOUT_CAPS.get(record.source)
        if record.label == "benign" or (cap is not None and taken.get(record.source, 0) < cap):
            taken[record.source] = taken.get(record.source, 0) + 1
            chosen.append(record)
    return sorted(chosen, key=lambda r: r.id)
