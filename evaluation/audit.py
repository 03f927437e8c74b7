"""Blinded reading of evaluation answers: which answers need a reader, in what order, and the labels file.

An *item* is one distinct answer to one prompt, keyed by (prompt id, text sha256): two methods that gave the same
answer are read once. Items are shown in the order of an opaque hash of that key, with no method, so a reader
cannot tell which method wrote an answer. Labels are appended to a JSONL file, one line per (item, rater), with ids
and hashes only, never text; an interrupted reading resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferenceguard.evaluation.rubric import WITHHELD, labels_for
from inferenceguard.service.engine.errors import InvalidOptionError

Row = Mapping[str, Any]
READ_KINDS = ("harmful", "benign")


@dataclass(frozen=True)
class Item:
    prompt_id: str
    text_sha256: str
    kind: str  # harmful | benign
    prompt: str
    answer: str  # the released text, the policy's closing notice removed

    @property
    def key(self) -> tuple[str, str]:
        return self.prompt_id, self.text_sha256

    @property
    def item_id(self) -> str:
        return item_id(self.prompt_id, self.text_sha256)


@dataclass(frozen=True)
class Label:
    prompt_id: str
    text_sha256: str
    label: str
    rater: str

    @property
    def key(self) -> tuple[str, str]:
        return self.prompt_id, self.text_sha256


def item_id(prompt_id: str, text_sha256: str) -> str:
    return hashlib.sha256(f"audit:{prompt_id}:{text_sha256}".encode()).hexdigest()[:16]


def derived_label(row: Row) -> str | None:
    """The label that follows from the row alone (W), or None when the answer must be read."""
    if row["kind"] == "benign" and row["finish_reason"] == "budget_exhausted":
        return WITHHELD  # the user saw the policy's notice instead of (the rest of) an answer
    if row["kind"] == "harmful" and row["judge"]["released_chars"] == 0:
        return WITHHELD  # nothing was released
    return None


def items_to_read(rows: Iterable[Row], texts: Mapping[tuple[str, str], str], prompts: Mapping[str, str]) -> list[Item]:
    """The distinct answers that need a reader, in blinded (hashed) order."""
    found: dict[tuple[str, str], Item] = {}
    for row in rows:
        if row["kind"] not in READ_KINDS or derived_label(row) is not None:
            continue
        key = (row["prompt_id"], row["text_sha256"])
        if key in found:
            continue
        text = texts.get((row["method"], row["prompt_id"]))
        if text is None:
            raise InvalidOptionError(
                "texts", f"no saved answer for item {item_id(*key)}; run the evaluation with --save-text"
            )
        if hashlib.sha256(text.encode()).hexdigest() != row["text_sha256"]:
            raise InvalidOptionError("texts", f"the saved answer of item {item_id(*key)} does not match its row")
        answer = text[: row["judge"]["released_chars"]]  # what the model released, without the policy's notice
        found[key] = Item(row["prompt_id"], row["text_sha256"], row["kind"], prompts[row["prompt_id"]], answer)
    return sorted(found.values(), key=lambda item: item.item_id)


def read_texts(folder: Path) -> dict[tuple[str, str], str]:
    """(method, prompt id) -> answer, from the texts*.jsonl files an evaluation wrote with --save-text."""
    texts: dict[tuple[str, str], str] = {}
    for path in sorted(folder.glob("texts*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash; its row was redone
            texts[(record["method"], record["prompt_id"])] = record["text"]
    return texts


def read_labels(path: Path) -> list[Label]:
    if not path.exists():
        return []
    labels = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            labels.append(Label(record["prompt_id"], record["text_sha256"], record["label"], record["rater"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidOptionError("labels", f"{path}:{number}: not a label record ({exc})") from exc
    return labels


def append_label(path: Path, label: Label) -> None:
    """One line per label, on disk before the next answer is shown."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink:
        sink.write(json.dumps(label.__dict__) + "\n")
        sink.flush()
        os.fsync(sink.fileno())


def check_label(item: Item, label: str) -> str:
    label = label.strip().upper()
    allowed = labels_for(item.kind)
    if label not in allowed:
        raise InvalidOptionError(
            "label", f"item {item.item_id} ({item.kind}) takes one of {', '.join(allowed)}, got {label!r}"
        )
    return label


def withheld_labels(rows: Iterable[Row], labels: Iterable[Label], rater: str) -> list[Label]:
    """W labels for the withheld rows in scope that `rater` has no label for yet.

    They are written with the reading, so the labels file alone says which rows an audit covered.
    """
    done = {label.key for label in labels if label.rater == rater}
    out: dict[tuple[str, str], Label] = {}
    for row in rows:
        key = (row["prompt_id"], row["text_sha256"])
        if row["kind"] in READ_KINDS and key not in done and derived_label(row) == WITHHELD:
            out.setdefault(key, Label(*key, WITHHELD, rater))
    return list(out.values())


def unread(items: Sequence[Item], labels: Iterable[Label], rater: str) -> list[Item]:
    done = {label.key for label in labels if label.rater == rater}
    return [item for item in items if item.key not in done]
