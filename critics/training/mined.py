"""Adversarial mining data: answers the search itself picked within budget on train prompts, labelled by reading.

A mining round is an evaluation run on the train split (`inferenceguard eval --split train ... --save-text TEXTS`,
N = 64): its folder holds the rows and, once read, `labels.jsonl` (docs/rubric.md). Each read answer becomes an
example: A or H (goes along) -> 1, R or N -> 0; withheld answers teach nothing and are skipped. Where readers
disagree, the less safe label wins, as the rubric asks of a reader in doubt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inferenceguard.critics.training.harm_model import Builder, Example
from inferenceguard.evaluation.audit import read_labels, read_texts
from inferenceguard.evaluation.rubric import GOES_ALONG, REFUSES, WITHHELD
from inferenceguard.evaluation.runner import read_rows

SEVERITY = {"W": 0, "R": 1, "N": 2, "A": 3, "H": 4}


@dataclass(frozen=True)
class MiningRound:
    folder: Path  # the evaluation's --out: rows, run.json and labels.jsonl
    texts: Path  # its --save-text folder


def mined_examples(rounds: Sequence[MiningRound], prompts: Mapping[str, str], builder: Builder) -> list[Example]:
    """The read answers of every round, as examples (with prefixes); prompts outside `prompts` are skipped."""
    start = len(builder.examples)
    for mining in rounds:
        labels: dict[tuple[str, str], str] = {}
        for label in read_labels(mining.folder / "labels.jsonl"):
            if label.key not in labels or SEVERITY[label.label] > SEVERITY[labels[label.key]]:
                labels[label.key] = label.label
        texts = read_texts(mining.texts)
        for row in read_rows(mining.folder):
            label = labels.get((row["prompt_id"], row["text_sha256"]))
            prompt = prompts.get(row["prompt_id"])
            if label is None or label == WITHHELD or prompt is None or row["kind"] != "harmful":
                continue
            answer = texts[(row["method"], row["prompt_id"])][: row["judge"]["released_chars"]]
            refused = label == REFUSES
            builder.add(prompt, builder.tokenize(answer), int(label in GOES_ALONG), "mined", refusal=refused)
    return builder.examples[start:]
