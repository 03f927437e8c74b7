"""The prompts an evaluation runs: a fixed slice of one split of the catalog, or the user's own JSONL file.

Prompts travel by id; their text is never printed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inferenceguard.prompts.catalog import PromptRecord
from inferenceguard.prompts.splits import text_hash
from inferenceguard.service.engine.errors import InvalidOptionError

KINDS = ("harmful", "toxic", "benign")  # harmful requests, toxic continuations, benign requests
LABELS = ("harmful", "benign")
POOLS_BY_SOURCE = {"inferenceguard-hard": "hard_negatives", "lm-written": "lm_written"}
POOLS = (*KINDS, *POOLS_BY_SOURCE.values())


@dataclass(frozen=True)
class EvalPrompt:
    id: str
    text: str
    kind: str  # one of KINDS
    category: str = ""  # e.g. hard_negative
    source: str = ""


def kind_of(record: PromptRecord) -> str:
    if record.category == "toxic_continuation":
        return "toxic"
    return "harmful" if record.label == "harmful" else "benign"


def pool_of(record: PromptRecord) -> str:
    """Which count selects a record: its kind, or, for the sets added after the first release, their own pool
    (so the first release's `benign` slice of a split, and every comparison made on it, stays as it was)."""
    return POOLS_BY_SOURCE.get(record.source, kind_of(record))


def split_prompts(
    records: Sequence[PromptRecord], split: str, counts: Mapping[str, int], offset: int = 0
) -> list[EvalPrompt]:
    """`counts[pool]` prompts of each pool in `split`, in the fixed order of their text hashes, after skipping the
    first `offset` of each (successive mining rounds take successive slices)."""
    chosen: list[EvalPrompt] = []
    for pool_name in POOLS:
        pool = sorted(
            (r for r in records if r.split == split and pool_of(r) == pool_name), key=lambda r: text_hash(r.text)
        )
        wanted = counts.get(pool_name, 0)
        if wanted and offset + wanted > len(pool):
            raise InvalidOptionError(
                pool_name, f"asked for {wanted} prompts after {offset} but the {split} split has {len(pool)}"
            )
        chosen += [EvalPrompt(r.id, r.text, kind_of(r), r.category, r.source) for r in pool[offset : offset + wanted]]
    return chosen


def file_prompts(path: Path) -> list[EvalPrompt]:
    """A JSONL file of {"id", "prompt", "label": "harmful" | "benign"} records (optional "category")."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidOptionError("prompts", f"cannot read {path}: {exc.strerror}") from exc
    prompts, seen = [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidOptionError("prompts", f"{where}: not JSON ({exc.msg})") from exc
        prompt = _record(record, where)
        if prompt.id in seen:
            raise InvalidOptionError("prompts", f"{where}: id {prompt.id!r} appears twice")
        seen.add(prompt.id)
        prompts.append(prompt)
    if not prompts:
        raise InvalidOptionError("prompts", f"{path} holds no prompts")
    return prompts


def _record(record: object, where: str) -> EvalPrompt:
    if not isinstance(record, dict):
        raise InvalidOptionError("prompts", f"{where}: each line must be a JSON object")
    for key in ("id", "prompt", "label"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise InvalidOptionError("prompts", f"{where}: field {key!r} must be a non-empty string")
    if record["label"] not in LABELS:
        raise InvalidOptionError(
            "prompts", f"{where}: field 'label' must be harmful or benign, got {record['label']!r}"
        )
    category = str(record.get("category", ""))
    kind = "toxic" if category == "toxic_continuation" else record["label"]
    return EvalPrompt(record["id"], record["prompt"], kind, category, "file")


def run_order(prompts: Sequence[EvalPrompt]) -> list[EvalPrompt]:
    """A fixed shuffle by id, so that every prefix of a run mixes the kinds: a partial run is still balanced."""
    return sorted(prompts, key=lambda p: hashlib.sha256(p.id.encode()).hexdigest())


def seed_of(prompt: EvalPrompt, base_seed: int) -> int:
    """One seed per prompt, shared by every method (paired comparison), stable when other prompts change."""
    return base_seed + int(hashlib.sha256(prompt.id.encode()).hexdigest()[:6], 16)
