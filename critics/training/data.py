"""Which prompts feed training: the train split only, capped per source in a fixed (hash) order."""

from __future__ import annotations

from collections.abc import Sequence

from inferenceguard.prompts.catalog import PromptRecord
from inferenceguard.prompts.splits import text_hash

# harmful sources capped; benign prompts all, but for the LM-written requests, which are many and alike
ROLLOUT_CAPS = {"advbench": 200, "donotanswer": 250, "realtoxicityprompts": 150, "lm-written": 800}


def rollout_prompts(records: Sequence[PromptRecord]) -> list[PromptRecord]:
    """Training prompts for base-LM rollouts: the benign train prompts and a capped share of the larger sources."""
    train = sorted((r for r in records if r.split == "train"), key=lambda r: text_hash(r.text))
    taken: dict[str, int] = {}
    chosen = []
    for record in train:
        cap = ROLLOUT_CAPS.get(record.source)
        if (cap is None and record.label == "benign") or (cap is not None and taken.get(record.source, 0) < cap):
            taken[record.source] = taken.get(record.source, 0) + 1
            chosen.append(record)
    return sorted(chosen, key=lambda r: r.id)
